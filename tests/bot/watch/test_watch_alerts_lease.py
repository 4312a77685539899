"""The publish lease is renewed while held: a long publish keeps it past its time to live.

The store's clock is moved by hand past the lease's time to live, a little at a time, each
step waiting until the holder renewed it; a second replica then still finds it taken. Once
the holder lets go, the second one gets it at once (the renewal stopped with it).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from agents.watch.alerts import AlertBook, AlertBusyError
from integrations.store import MemoryStore

LEASE = 0.06  # seconds: renewed every 20 ms of real time


class Clock:
    """The store's clock (seconds), moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryStore):
    """A `MemoryStore` counting lease acquisitions and renewals."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.lease_calls = 0

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        self.lease_calls += 1
        return await super().acquire_lease(key, owner=owner, ttl_seconds=ttl_seconds)


async def until_renewed(store: CountingStore, seen: int) -> None:
    """Wait (at most 5 s) until the store saw another lease call than ``seen``."""
    deadline = time.monotonic() + 5
    while store.lease_calls == seen:
        assert time.monotonic() < deadline, "the lease was not renewed"
        await asyncio.sleep(0.005)


async def test_a_held_publish_lease_outlives_its_time_to_live() -> None:
    clock = Clock()
    store = CountingStore(clock)
    holder = AlertBook(store, lease_seconds=LEASE)
    other = AlertBook(store, lease_seconds=LEASE, wait_seconds=0)
    async with holder.locked("publish:slack"):
        for _ in range(5):  # 5 x 50 ms of store time: four times the lease's life
            seen = store.lease_calls
            clock.now += LEASE * 5 / 6
            await until_renewed(store, seen)
        with pytest.raises(AlertBusyError):
            async with other.locked("publish:slack"):
                pass
    clock.now += LEASE / 2  # not expired: it was released
    async with other.locked("publish:slack"):
        pass
