"""Shared state: dedupe, leases, rate limits, conversation references.

`open_store` picks Redis when ``RESYNC_REDIS_URL`` is set, else the in-memory store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.store.base import RateDecision, Store, StoreError
from integrations.store.memory import MemoryStore
from integrations.store.redis_store import RedisStore

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["MemoryStore", "RateDecision", "RedisStore", "Store", "StoreError", "open_store"]


async def open_store(settings: Settings) -> Store:
    """Open the configured store.

    Args:
        settings: The application settings.

    Returns:
        A `RedisStore` (connection checked) when ``redis_url`` is set, else a `MemoryStore`.

    Raises:
        StoreError: Redis is configured but not reachable.
    """
    if settings.redis_url is None:
        return MemoryStore()
    store = RedisStore(url=settings.redis_url.get_secret_value())
    try:
        await store.ping()
    except StoreError:
        await store.close()
        raise
    return store
