"""`Store`: small shared state for several replicas: dedupe, leases, rate limits, queues.

Errors::

    StoreError          the store could not be reached or answered an error

Implementations: `integrations.store.memory.MemoryStore` (one process, the embedded
default) and `integrations.store.redis_store.RedisStore` (``RESYNC_REDIS_URL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["RateDecision", "Store", "StoreError"]


class StoreError(Exception):
    """The store could not be reached or answered an error."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether one more event is allowed in a rate-limit window.

    Attributes:
        allowed: True when under the limit (the event was counted).
        retry_after: Seconds until the next event would be allowed (0 when allowed).
    """

    allowed: bool
    retry_after: float


class Store(Protocol):
    """Shared, expiring key-value state."""

    async def claim(self, key: str, *, ttl_seconds: float) -> bool:
        """Claim a key once: True for the first caller, False while the claim lives.

        Dedupe of platform retries and double clicks rests on this.
        """
        ...

    async def put(self, key: str, value: str, *, ttl_seconds: float | None = None) -> None:
        """Set a value, optionally expiring."""
        ...

    async def get(self, key: str) -> str | None:
        """Read a value, or None when absent or expired."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a key (absent is fine)."""
        ...

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        """Take a lease for ``owner`` unless someone else holds it (re-entrant for the owner)."""
        ...

    async def release_lease(self, key: str, *, owner: str) -> bool:
        """Release a lease if ``owner`` holds it; True when released."""
        ...

    async def hit(self, key: str, *, limit: int, window_seconds: float) -> RateDecision:
        """Count one event against a sliding window of ``limit`` events."""
        ...

    async def queue_add(self, queue: str, member: str, value: str, *, ttl_seconds: float) -> None:
        """Add (or replace) ``member`` of ``queue`` holding ``value``, dropped after the TTL.

        A replaced member keeps its place (the time it was first added).
        """
        ...

    async def queue_oldest(self, queue: str, *, limit: int) -> list[tuple[str, str]]:
        """The at most ``limit`` oldest live members of ``queue`` as ``(member, value)``."""
        ...

    async def queue_remove(self, queue: str, member: str) -> None:
        """Remove ``member`` from ``queue`` (absent is fine)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
