"""One forwarding replica at a time: two `run_forwarder` tasks share a store, a log and a
data directory (so the cursor), and a Splunk HEC mock; only the lease holder delivers.

On `MemoryStore`, and the takeover again on the real Redis (`RESYNC_TEST_REDIS_URL`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from siem_support import TOKEN, HecMock, SiemTestSettings, wait_for, write_records

from integrations.audit import AuditLog, open_audit_log
from integrations.audit.forward import LEASE_KEY, Forwarder, run_forwarder
from integrations.store import Store, StoreError
from integrations.store.base import RateDecision
from integrations.store.memory import MemoryStore
from integrations.store.redis_store import RedisStore

LEASE = 0.6
REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Partitionable:
    """A store proxy that can be cut off from its store (every call raises `StoreError`)."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.cut = False

    def _check(self) -> None:
        if self.cut:
            raise StoreError("connection refused (partitioned)")

    async def claim(self, key: str, *, ttl_seconds: float) -> bool:
        self._check()
        return await self.inner.claim(key, ttl_seconds=ttl_seconds)

    async def put(self, key: str, value: str, *, ttl_seconds: float | None = None) -> None:
        self._check()
        await self.inner.put(key, value, ttl_seconds=ttl_seconds)

    async def get(self, key: str) -> str | None:
        self._check()
        return await self.inner.get(key)

    async def delete(self, key: str) -> None:
        self._check()
        await self.inner.delete(key)

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        self._check()
        return await self.inner.acquire_lease(key, owner=owner, ttl_seconds=ttl_seconds)

    async def release_lease(self, key: str, *, owner: str) -> bool:
        self._check()
        return await self.inner.release_lease(key, owner=owner)

    async def hit(self, key: str, *, limit: int, window_seconds: float) -> RateDecision:
        self._check()
        return await self.inner.hit(key, limit=limit, window_seconds=window_seconds)

    async def close(self) -> None:
        await self.inner.close()


class Replica:
    """One replica's forwarding task, its stop event and its forwarders."""

    def __init__(self, owner: str, store: Store, settings: SiemTestSettings, log: AuditLog):
        self.owner = owner
        self.stop = asyncio.Event()
        self.forwarders: list[Forwarder] = []
        self.task = asyncio.create_task(
            run_forwarder(
                settings,
                log,
                stop=self.stop,
                started=self.forwarders.extend,
                store=store,
                lease_seconds=LEASE,
                owner=owner,
            )
        )

    @property
    def sent(self) -> int:
        return sum(f.sent for f in self.forwarders)

    async def halt(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)


async def deliver(log: AuditLog, hec: HecMock, count: int, start: int) -> None:
    await write_records(log, count, start=start)
    await wait_for(lambda: len(set(hec.seqs)) >= start + count, what=f"{start + count} events")


async def run_pair(
    tmp_path: Path,
    store_a: Store,
    store_b: Store,
    scenario: Callable[[Replica, Replica, AuditLog, HecMock], Awaitable[None]],
) -> HecMock:
    hec = HecMock()
    url = await hec.start()
    settings = SiemTestSettings(
        data_dir=tmp_path,
        siem_hec_url=url,
        siem_hec_token=TOKEN,
        siem_batch_size=5,
        siem_poll_seconds=0.02,
        siem_retry_max_seconds=1,
    )
    log = await open_audit_log(settings)
    a = Replica("a", store_a, settings, log)
    await wait_for(lambda: bool(a.forwarders), what="a started")
    await wait_for(lambda: _holder_is(store_a, "a"), what="a leads")
    b = Replica("b", store_b, settings, log)
    try:
        await scenario(a, b, log, hec)
    finally:
        for replica in (a, b):
            if not replica.task.done():
                await replica.halt()
        await log.close()
        await hec.stop()
    return hec


async def test_only_the_lease_holder_delivers_and_a_stopped_leader_is_replaced(
    tmp_path: Path,
) -> None:
    store = MemoryStore()

    async def scenario(a: Replica, b: Replica, log: AuditLog, hec: HecMock) -> None:
        await wait_for(lambda: bool(b.forwarders), what="b started")
        # Over more than two lease periods (so several renewals), only "a" sends.
        loop = asyncio.get_running_loop()
        until, written = loop.time() + 2.5 * LEASE, 0
        while loop.time() < until:
            await deliver(log, hec, 3, written)
            written += 3
        assert await store.get(LEASE_KEY) == "a"
        await wait_for(lambda: a.sent == written, what="a's count of acknowledged records")
        assert b.sent == 0
        # "a" stops cleanly (releases): "b" takes over from the shared cursor.
        await a.halt()
        await deliver(log, hec, 7, written)
        await wait_for(lambda: b.sent == 7, what="b's count of acknowledged records")
        assert await store.get(LEASE_KEY) == "b"

    hec = await run_pair(tmp_path, store, store, scenario)
    assert hec.seqs == list(range(1, len(hec.seqs) + 1))  # each record once, in order


async def test_a_leader_cut_off_from_the_store_stops_and_is_replaced(tmp_path: Path) -> None:
    shared = MemoryStore()
    cut = Partitionable(shared)

    async def scenario(a: Replica, b: Replica, log: AuditLog, hec: HecMock) -> None:
        await deliver(log, hec, 10, 0)
        await wait_for(lambda: a.sent == 10, what="a's count of acknowledged records")
        assert b.sent == 0
        cut.cut = True  # "a" can no longer renew: its lease lapses, it stops forwarding
        # Within two lease periods (its last renewal lapses, "b" asks every third of one);
        # one second more for a loaded test machine.
        await wait_for(
            lambda: _holder_is(shared, "b"), what="b holds the lease", timeout=2 * LEASE + 1
        )
        sent_by_a = a.sent
        await deliver(log, hec, 8, 10)
        await wait_for(lambda: b.sent == 8, what="b's count of acknowledged records")
        assert a.sent == sent_by_a  # "a" is still running, but does not forward
        assert not a.task.done()

    hec = await run_pair(tmp_path, cut, shared, scenario)
    assert sorted(set(hec.seqs)) == list(range(1, 19))  # nothing lost
    assert len(hec.seqs) == 18  # and, with the cursor shared, nothing sent twice


async def _holder_is(store: Store, owner: str) -> bool:
    return await store.get(LEASE_KEY) == owner


async def test_without_a_store_it_forwards_without_a_lease(tmp_path: Path) -> None:
    hec = HecMock()
    url = await hec.start()
    settings = SiemTestSettings(
        data_dir=tmp_path, siem_hec_url=url, siem_hec_token=TOKEN, siem_poll_seconds=0.02
    )
    log = await open_audit_log(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forwarder(settings, log, stop=stop))
    try:
        await deliver(log, hec, 4, 0)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await log.close()
        await hec.stop()
    assert hec.seqs == [1, 2, 3, 4]


@pytest.mark.redis
async def test_takeover_on_redis_when_the_leader_stops(tmp_path: Path) -> None:
    prefix = f"test-siem-{uuid.uuid4().hex}:"
    stores = [RedisStore(url=REDIS_URL, prefix=prefix) for _ in range(2)]
    try:
        await stores[0].ping()
    except StoreError as exc:
        for store in stores:
            await store.close()
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)

    async def scenario(a: Replica, b: Replica, log: AuditLog, hec: HecMock) -> None:
        await wait_for(lambda: bool(b.forwarders), what="b started")
        await deliver(log, hec, 12, 0)
        await wait_for(lambda: a.sent == 12, what="a's count of acknowledged records")
        assert b.sent == 0
        await a.halt()
        await deliver(log, hec, 6, 12)
        await wait_for(lambda: b.sent == 6, what="b's count of acknowledged records")
        assert await stores[1].get(LEASE_KEY) == "b"

    try:
        hec = await run_pair(tmp_path, stores[0], stores[1], scenario)
    finally:
        for store in stores:
            await store.close()
    assert hec.seqs == list(range(1, 19))
