"""The store contract, run against the in-memory store and the real Redis server.

Redis tests need the server at RESYNC_TEST_REDIS_URL (default redis://127.0.0.1:6379/15):
with CI=true a missing server fails the run; elsewhere those tests skip and say why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from store_support import each_store

from integrations.store import RedisStore, Store, StoreError


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    async for each in each_store(request.param):
        yield each


async def test_claim_is_once_until_it_expires(store: Store) -> None:
    assert await store.claim("event:Ev1", ttl_seconds=0.2)
    assert not await store.claim("event:Ev1", ttl_seconds=0.2)
    await asyncio.sleep(0.3)
    assert await store.claim("event:Ev1", ttl_seconds=0.2)


async def test_concurrent_claims_have_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(store.claim("click:42", ttl_seconds=5) for _ in range(20)))
    assert results.count(True) == 1


async def test_put_get_delete_and_expiry(store: Store) -> None:
    await store.put("ref:C1", '{"service_url": "x"}')
    assert await store.get("ref:C1") == '{"service_url": "x"}'
    await store.delete("ref:C1")
    assert await store.get("ref:C1") is None
    await store.put("short", "v", ttl_seconds=0.1)
    await asyncio.sleep(0.2)
    assert await store.get("short") is None


async def test_leases_are_exclusive_and_released_by_the_owner_only(store: Store) -> None:
    assert await store.acquire_lease("watcher", owner="a", ttl_seconds=5)
    assert not await store.acquire_lease("watcher", owner="b", ttl_seconds=5)
    assert await store.acquire_lease("watcher", owner="a", ttl_seconds=5)  # extend
    assert not await store.release_lease("watcher", owner="b")
    assert await store.release_lease("watcher", owner="a")
    assert await store.acquire_lease("watcher", owner="b", ttl_seconds=5)


async def test_rate_limit_sliding_window(store: Store) -> None:
    decisions = [await store.hit("rate:U1", limit=3, window_seconds=0.5) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0 < decisions[-1].retry_after <= 0.5
    assert (await store.hit("rate:U2", limit=3, window_seconds=0.5)).allowed  # per key
    await asyncio.sleep(0.6)
    assert (await store.hit("rate:U1", limit=3, window_seconds=0.5)).allowed


async def test_unreachable_redis_is_a_store_error() -> None:
    store = RedisStore(url="redis://127.0.0.1:9/0")
    with pytest.raises(StoreError, match="Redis PING failed"):
        await store.ping()
    await store.close()
