"""Shared state: dedupe, leases, rate limits, conversation references.

`open_store` picks Redis when ``RESYNC_REDIS_URL`` is set, else the in-memory store.
`RedisStore` (and the Redis client library) is imported only when asked for: a process
without Redis (``resync ask``, the embedded default) does not pay for it at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.store.base import RateDecision, Store, StoreError
from integrations.store.memory import MemoryStore

if TYPE_CHECKING:
    from config.settings import Settings
    from integrations.store.redis_store import RedisStore

__all__ = ["MemoryStore", "RateDecision", "RedisStore", "Store", "StoreError", "open_store"]


def __getattr__(name: str) -> Any:
    """``RedisStore`` on first use (PEP 562), so importing the package skips Redis."""
    if name == "RedisStore":
        from integrations.store.redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from integrations.store.redis_store import RedisStore

    store = RedisStore(url=settings.redis_url.get_secret_value())
    try:
        await store.ping()
    except StoreError:
        await store.close()
        raise
    return store
