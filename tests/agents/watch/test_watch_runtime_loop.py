"""The watcher loop: cadence, one pause notice per outage, crash survival, one leader.

The report source and publisher are small in-test fakes of the contract
(`agents.watch.ports`); the store is the real in-memory `MemoryStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from structlog.testing import capture_logs

from agents.watch.model import Finding, FindingKind, Severity, WatchReport
from agents.watch.watcher import LEADER_KEY, Watcher
from integrations.store.memory import MemoryStore

NOW = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
FINDING = Finding(
    kind=FindingKind.FAILURE,
    object_id="J1",
    object_name="PAYROLL_DAILY.PAYROLL_EXTRACT",
    plan_date=date(2026, 1, 15),
    severity=Severity.CRITICAL,
    headline="PAYROLL_EXTRACT failed",
    explanation="ABEND rc=12",
)


@dataclass
class Script:
    """A report source that plays ``steps`` ("ok", "paused", "crash"), then "ok" forever."""

    steps: list[str] = field(default_factory=list)
    calls: int = 0
    delay: float = 0.0

    async def cycle(self) -> WatchReport:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        step = self.steps.pop(0) if self.steps else "ok"
        if step == "crash":
            raise RuntimeError("scanner bug")
        paused = "engine unreachable" if step == "paused" else None
        findings = () if paused else (FINDING,)
        return WatchReport(
            as_of=NOW, plan_date=NOW.date(), findings=findings, engine_calls=3, paused=paused
        )


@dataclass
class Recorder:
    """A publisher that records what it was told, in order."""

    events: list[str] = field(default_factory=list)

    async def publish(self, report: WatchReport) -> None:
        self.events.append(f"publish:{len(report.findings)}")

    async def paused(self, reason: str) -> None:
        self.events.append(f"paused:{reason}")

    async def resumed(self) -> None:
        self.events.append("resumed")


async def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(watcher: Watcher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(watcher.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make(source: Script, publisher: Recorder, store: MemoryStore, *, owner: str = "a") -> Watcher:
    return Watcher(
        source=source,
        publisher=publisher,
        store=store,
        interval_seconds=0.02,
        lease_seconds=0.6,
        owner=owner,
    )


async def test_every_cycle_publishes_its_report() -> None:
    source, publisher = Script(), Recorder()
    async with running(make(source, publisher, MemoryStore())):
        await wait_for(lambda: len(publisher.events) >= 3, what="three cycles")
    assert set(publisher.events) == {"publish:1"}


async def test_an_outage_is_announced_once_and_never_published_as_all_clear() -> None:
    source = Script(steps=["ok", "paused", "paused", "paused", "paused", "ok"])
    publisher = Recorder()
    async with running(make(source, publisher, MemoryStore())):
        await wait_for(lambda: publisher.events.count("publish:1") >= 2, what="the resume")
    first_resume = publisher.events.index("resumed")
    assert publisher.events[: first_resume + 2] == [
        "publish:1",
        "paused:engine unreachable",
        "resumed",
        "publish:1",
    ]
    assert publisher.events.count("paused:engine unreachable") == 1
    assert "publish:0" not in publisher.events  # no empty report while blind


async def test_a_crashing_cycle_is_logged_and_the_next_one_runs() -> None:
    source, publisher = Script(steps=["crash", "ok"]), Recorder()
    with capture_logs() as logs:
        async with running(make(source, publisher, MemoryStore())):
            await wait_for(lambda: "publish:1" in publisher.events, what="the cycle after a crash")
    failed = [entry for entry in logs if entry["event"] == "watch.cycle_failed"]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "error"
    cycles = [entry for entry in logs if entry["event"] == "watch.cycle"]
    assert cycles[0]["ok"] is False
    done = next(entry for entry in cycles if entry["ok"])
    assert done["engine_calls"] == 3
    assert done["cpu_ms"] >= 0
    assert done["findings"] == 1


async def test_one_replica_watches_and_the_other_takes_over_when_it_stops() -> None:
    store = MemoryStore()
    first_source, second_source = Script(), Script()
    first = make(first_source, Recorder(), store, owner="first")
    second = make(second_source, Recorder(), store, owner="second")
    async with running(first) as first_task:
        await wait_for(lambda: first_source.calls >= 2, what="the first replica to lead")
        async with running(second):
            await wait_for(lambda: first_source.calls >= 6, what="more cycles of the leader")
            assert second_source.calls == 0
            assert not second.leading
            first_task.cancel()  # a clean stop releases the lease at once
            with contextlib.suppress(asyncio.CancelledError):
                await first_task
            assert await store.get(LEADER_KEY) in (None, "second")
            await wait_for(lambda: second_source.calls >= 1, what="the takeover")
            assert second.leading


async def test_the_lease_is_kept_while_a_cycle_outlasts_it() -> None:
    store = MemoryStore()
    slow = Script(delay=1.5)  # 2.5 lease periods in one cycle
    first = make(slow, Recorder(), store, owner="first")
    other_source = Script()
    other = make(other_source, Recorder(), store, owner="second")
    async with running(first):
        await wait_for(lambda: slow.calls >= 1, what="the slow cycle to start")
        async with running(other):
            await wait_for(lambda: slow.calls >= 2, what="a second slow cycle", timeout=10)
            assert other_source.calls == 0


class CountingStore(MemoryStore):
    """The in-memory store, counting lease requests and what they answered."""

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[bool] = []

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        held = await super().acquire_lease(key, owner=owner, ttl_seconds=ttl_seconds)
        self.polls.append(held)
        return held


async def test_a_follower_polls_the_lease_but_does_not_cycle_while_it_is_held() -> None:
    store = CountingStore()
    await store.acquire_lease(LEADER_KEY, owner="elsewhere", ttl_seconds=60)
    source = Script()
    watcher = make(source, Recorder(), store)
    async with running(watcher):
        await wait_for(lambda: len(store.polls) >= 4, what="three polls of the follower")
    assert store.polls[1:] == [False] * (len(store.polls) - 1)
    assert source.calls == 0
    assert not watcher.leading
