"""The store's queue operations (the durable inbox rests on them), in memory and on real Redis.

Redis tests need the server at RESYNC_TEST_REDIS_URL (default redis://127.0.0.1:6379/15):
with CI=true a missing server fails the run; elsewhere those tests skip and say why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from store_support import REDIS_URL, each_store, redis_store

from integrations.store import RedisStore, Store


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    async for each in each_store(request.param):
        yield each


async def test_queue_lists_oldest_first_and_bounded(store: Store) -> None:
    for n in range(5):
        await store.queue_add("inbox", f"m{n}", f"v{n}", ttl_seconds=30)
        await asyncio.sleep(0.005)  # distinct times (Redis scores are milliseconds)
    assert await store.queue_oldest("inbox", limit=3) == [("m0", "v0"), ("m1", "v1"), ("m2", "v2")]
    assert await store.queue_oldest("other", limit=3) == []


async def test_replacing_a_member_keeps_its_place(store: Store) -> None:
    await store.queue_add("inbox", "a", "first", ttl_seconds=30)
    await asyncio.sleep(0.005)
    await store.queue_add("inbox", "b", "x", ttl_seconds=30)
    await asyncio.sleep(0.005)
    await store.queue_add("inbox", "a", "second", ttl_seconds=30)
    assert await store.queue_oldest("inbox", limit=10) == [("a", "second"), ("b", "x")]


async def test_removed_and_expired_members_are_gone(store: Store) -> None:
    await store.queue_add("inbox", "gone", "1", ttl_seconds=30)
    await store.queue_add("inbox", "short", "2", ttl_seconds=0.1)
    await store.queue_add("inbox", "kept", "3", ttl_seconds=30)
    await store.queue_remove("inbox", "gone")
    await store.queue_remove("inbox", "never-there")
    await asyncio.sleep(0.2)
    # The expired member does not take a place in the limit either.
    assert await store.queue_oldest("inbox", limit=1) == [("kept", "3")]


@pytest.mark.redis
async def test_a_second_client_sees_the_same_queue() -> None:
    """Replicas share the queue: what one adds, another lists and removes."""
    first = await redis_store()
    second = RedisStore(url=REDIS_URL, prefix=first._prefix)
    try:
        await first.queue_add("inbox", "slack:message:Ev1", '{"x": 1}', ttl_seconds=30)
        assert await second.queue_oldest("inbox", limit=5) == [("slack:message:Ev1", '{"x": 1}')]
        await second.queue_remove("inbox", "slack:message:Ev1")
        assert await first.queue_oldest("inbox", limit=5) == []
    finally:
        await first.close()
        await second.close()
