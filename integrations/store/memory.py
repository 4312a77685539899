"""`MemoryStore`: the embedded default; state lives in this process only."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from integrations.store.base import RateDecision

__all__ = ["MemoryStore"]


class MemoryStore:
    """Expiring key-value state in a dict (one process; single event loop, no locks needed)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty store.

        Args:
            clock: Monotonic clock in seconds (injectable for tests).
        """
        self._clock = clock
        self._values: dict[str, tuple[str, float | None]] = {}
        self._windows: dict[str, deque[float]] = {}
        # queue -> member -> (value, added at, expires at); dicts keep insertion order.
        self._queues: dict[str, dict[str, tuple[str, float, float]]] = {}

    def _live(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _expiry(self, ttl_seconds: float | None) -> float | None:
        return None if ttl_seconds is None else self._clock() + ttl_seconds

    async def claim(self, key: str, *, ttl_seconds: float) -> bool:
        """Claim a key once; see `integrations.store.base.Store.claim`."""
        if self._live(key) is not None:
            return False
        self._values[key] = ("1", self._expiry(ttl_seconds))
        return True

    async def put(self, key: str, value: str, *, ttl_seconds: float | None = None) -> None:
        """Set a value, optionally expiring."""
        self._values[key] = (value, self._expiry(ttl_seconds))

    async def get(self, key: str) -> str | None:
        """Read a value, or None."""
        return self._live(key)

    async def delete(self, key: str) -> None:
        """Remove a key."""
        self._values.pop(key, None)

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        """Take (or extend) a lease for ``owner``."""
        holder = self._live(key)
        if holder not in (None, owner):
            return False
        self._values[key] = (owner, self._expiry(ttl_seconds))
        return True

    async def release_lease(self, key: str, *, owner: str) -> bool:
        """Release a lease held by ``owner``."""
        if self._live(key) != owner:
            return False
        del self._values[key]
        return True

    async def hit(self, key: str, *, limit: int, window_seconds: float) -> RateDecision:
        """Count one event in a sliding window."""
        now = self._clock()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - window_seconds:
            window.popleft()
        if len(window) >= limit:
            return RateDecision(allowed=False, retry_after=window[0] + window_seconds - now)
        window.append(now)
        return RateDecision(allowed=True, retry_after=0.0)

    async def queue_add(self, queue: str, member: str, value: str, *, ttl_seconds: float) -> None:
        """Add or replace a queue member (it keeps its place)."""
        members = self._queues.setdefault(queue, {})
        now = self._clock()
        added = members[member][1] if member in members else now
        members[member] = (value, added, now + ttl_seconds)

    async def queue_oldest(self, queue: str, *, limit: int) -> list[tuple[str, str]]:
        """The oldest live members, oldest first."""
        members = self._queues.get(queue, {})
        now = self._clock()
        for member in [m for m, (_, _, expires) in members.items() if expires <= now]:
            del members[member]
        ordered = sorted(members.items(), key=lambda item: item[1][1])
        return [(member, value) for member, (value, _, _) in ordered[: max(0, limit)]]

    async def queue_remove(self, queue: str, member: str) -> None:
        """Remove a queue member."""
        self._queues.get(queue, {}).pop(member, None)

    async def close(self) -> None:
        """Nothing to release."""
