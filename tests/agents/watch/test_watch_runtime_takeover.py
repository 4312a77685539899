"""Leadership on the real Redis: a watcher in another process is killed (SIGKILL, no clean
release) and the watcher here takes over within two lease periods.

The leader is a real subprocess running `agents.watch.watcher.Watcher` on a `RedisStore`;
its report source prints one line per cycle, so the test sees it lead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from agents.watch.model import WatchReport
from agents.watch.watcher import LEADER_KEY, Watcher
from integrations.store import StoreError
from integrations.store.redis_store import RedisStore

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LEASE = 1.0
INTERVAL = 0.1

CHILD = """
import asyncio, sys
import structlog
from datetime import UTC, datetime
from agents.watch.model import WatchReport
from agents.watch.watcher import Watcher
from integrations.store.redis_store import RedisStore

class Source:
    async def cycle(self):
        print("cycle", flush=True)
        now = datetime.now(UTC)
        return WatchReport(as_of=now, plan_date=now.date())

class Quiet:
    async def publish(self, report): pass
    async def paused(self, reason): pass
    async def resumed(self): pass

async def main():
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    store = RedisStore(url=sys.argv[1], prefix=sys.argv[2])
    watcher = Watcher(source=Source(), publisher=Quiet(), store=store,
                      interval_seconds=float(sys.argv[3]), lease_seconds=float(sys.argv[4]),
                      owner="child")
    await watcher.run()

asyncio.run(main())
"""


@dataclass
class Counting:
    cycles: list[float] = field(default_factory=list)

    async def cycle(self) -> WatchReport:
        self.cycles.append(time.monotonic())
        now = datetime.now(UTC)
        return WatchReport(as_of=now, plan_date=now.date())

    async def publish(self, report: WatchReport) -> None:
        del report

    async def paused(self, reason: str) -> None:
        del reason

    async def resumed(self) -> None:
        pass


async def redis_store(prefix: str) -> RedisStore:
    store = RedisStore(url=REDIS_URL, prefix=prefix)
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return store


async def wait_for(condition: Callable[[], bool], *, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_killed_leader_is_replaced_within_two_lease_periods() -> None:
    prefix = f"test-watch-{uuid.uuid4().hex}:"
    store = await redis_store(prefix)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        REDIS_URL,
        prefix,
        str(INTERVAL),
        str(LEASE),
        stdout=asyncio.subprocess.PIPE,
    )
    here = Counting()
    watcher = Watcher(
        source=here,
        publisher=here,
        store=store,
        interval_seconds=INTERVAL,
        lease_seconds=LEASE,
        owner="here",
    )
    task: asyncio.Task[None] | None = None
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        assert line.strip() == b"cycle"  # the child leads
        assert await store.get(LEADER_KEY) == "child"

        task = asyncio.create_task(watcher.run())
        # Several lease periods with the child alive: it keeps the lease, nothing runs here.
        for _ in range(3 * int(LEASE / INTERVAL)):
            assert await asyncio.wait_for(child.stdout.readline(), timeout=5) == b"cycle\n"
        assert here.cycles == []

        child.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await child.wait()
        await wait_for(lambda: bool(here.cycles), what="the takeover", timeout=2 * LEASE)
        assert here.cycles[0] - killed <= 2 * LEASE
        assert await store.get(LEADER_KEY) == "here"
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.close()
