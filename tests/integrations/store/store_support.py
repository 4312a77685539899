"""The store under test: in memory, and on the real Redis (RESYNC_TEST_REDIS_URL).

With CI=true a missing Redis fails the run; elsewhere those tests skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from integrations.store import MemoryStore, RedisStore, Store, StoreError

REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def redis_store() -> RedisStore:
    """A Redis store with a prefix of its own; fails (CI) or skips when Redis is down."""
    store = RedisStore(url=REDIS_URL, prefix=f"test-{uuid.uuid4().hex}:")
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return store


async def each_store(kind: str) -> AsyncIterator[Store]:
    """Yield the store of ``kind`` (``memory`` or ``redis``), closed afterwards."""
    if kind == "memory":
        yield MemoryStore()
        return
    store = await redis_store()
    yield store
    await store.close()
