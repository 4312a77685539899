"""`Admission.first`: a delivery's claim is in progress while its task runs, done after it.

A re-delivery of a done claim is dropped; of a claim held by another live process it waits
and is dropped once that one is done; of a claim whose process was killed (SIGKILL, real
Redis) it is worked on once the lease lapses; a cancelled task releases its claim.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from bot.core.admission import Admission
from integrations.store import MemoryStore, RedisStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _claimed_in_task(admission: Admission, key: str, release: asyncio.Event) -> bool:
    """Claim ``key`` in a task of its own that runs until ``release`` (a walk in progress)."""
    claimed = asyncio.get_running_loop().create_future()

    async def walk() -> None:
        claimed.set_result(await admission.first(key))
        await release.wait()

    asyncio.get_running_loop().create_task(walk())
    return bool(await claimed)


async def test_a_finished_delivery_is_done_and_its_redelivery_dropped() -> None:
    store = MemoryStore()
    admission = Admission(store=store, audit=None)

    async def walk() -> bool:
        return await admission.first("slack:message:Ev1")

    assert await asyncio.create_task(walk()) is True
    await admission.settled()
    assert await store.get("dedupe:slack:message:Ev1") == "done"
    # Another replica (another Admission on the same store) drops it without waiting.
    other = Admission(store=store, audit=None, claim_wait_seconds=30)
    started = time.monotonic()
    assert await other.first("slack:message:Ev1") is False
    assert time.monotonic() - started < 1.0


async def test_a_redelivery_waits_for_a_live_holder_then_is_dropped() -> None:
    store = MemoryStore()
    holder = Admission(store=store, audit=None, claim_lease_seconds=0.3)
    release = asyncio.Event()
    assert await _claimed_in_task(holder, "slack:message:Ev2", release)
    # In progress: the holder renews its lease, so it never lapses while the answer is slow.
    other = Admission(store=store, audit=None, claim_lease_seconds=0.3, claim_wait_seconds=30)
    redelivery = asyncio.create_task(other.first("slack:message:Ev2"))
    await asyncio.sleep(1.0)  # more than three lease periods
    assert not redelivery.done()
    release.set()
    assert await asyncio.wait_for(redelivery, 5) is False


async def test_a_redelivery_to_the_holding_process_is_dropped_at_once() -> None:
    admission = Admission(store=MemoryStore(), audit=None, claim_wait_seconds=30)
    release = asyncio.Event()
    assert await _claimed_in_task(admission, "teams:message:a1", release)
    started = time.monotonic()
    assert await admission.first("teams:message:a1") is False
    assert time.monotonic() - started < 1.0
    release.set()


async def test_a_redelivery_gives_up_after_the_wait_limit() -> None:
    store = MemoryStore()
    holder = Admission(store=store, audit=None, claim_lease_seconds=0.3)
    release = asyncio.Event()
    assert await _claimed_in_task(holder, "slack:click:c1", release)
    other = Admission(store=store, audit=None, claim_wait_seconds=0.5)
    assert await other.first("slack:click:c1") is False
    release.set()


async def test_a_cancelled_walk_releases_its_claim() -> None:
    store = MemoryStore()
    admission = Admission(store=store, audit=None)
    release = asyncio.Event()
    claimed = asyncio.Event()

    async def walk() -> None:
        assert await admission.first("slack:message:Ev3")
        claimed.set()
        await release.wait()

    task = asyncio.create_task(walk())
    await claimed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await admission.settled()
    assert await store.get("dedupe:slack:message:Ev3") is None
    assert await Admission(store=store, audit=None).first("slack:message:Ev3") is True


class _DownStore(MemoryStore):
    """A store that cannot be reached."""

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        raise StoreError("Redis lease failed: ConnectionError")


async def test_store_down_fails_open() -> None:
    admission = Admission(store=_DownStore(), audit=None)
    assert await admission.first("slack:message:Ev4") is True
    assert await admission.first("slack:message:Ev4") is True


_HOLDER = """
import asyncio, sys
from bot.core.admission import Admission
from integrations.store import RedisStore

async def main() -> None:
    store = RedisStore(url=sys.argv[1], prefix=sys.argv[2])
    admission = Admission(store=store, audit=None, claim_lease_seconds=1.0)
    assert await admission.first("slack:message:EvKilled")
    print("claimed", flush=True)
    await asyncio.Event().wait()  # answering forever, until killed

asyncio.run(main())
"""


@pytest.mark.redis
async def test_a_redelivery_after_the_holder_was_killed_is_worked_on() -> None:
    prefix = f"test-adm-{uuid.uuid4().hex}:"
    store = RedisStore(url=REDIS_URL, prefix=prefix)
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        REDIS_URL,
        prefix,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"claimed\n"
        other = Admission(store=store, audit=None, claim_lease_seconds=1.0, claim_wait_seconds=1.5)
        # Alive and renewing: the retry waits, and gives up rather than answer twice.
        assert await other.first("slack:message:EvKilled") is False
        child.kill()
        await child.wait()
        # Killed before it answered: the retry is worked on once the lease lapses.
        retry = Admission(store=store, audit=None, claim_wait_seconds=30)
        started = time.monotonic()
        assert await retry.first("slack:message:EvKilled") is True
        assert time.monotonic() - started < 5.0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await store.delete("dedupe:slack:message:EvKilled")
        await store.close()
