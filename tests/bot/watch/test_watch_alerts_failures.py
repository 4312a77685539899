"""Alerts stay managed when the store or the chat fails half-way through a cycle.

- the store refuses the alert's state right after its card was posted: the next cycle does
  not post it again (not even once the post claim has expired), and closes it when the
  condition ends;
- a store error later in the cycle that opened a card: the card is still closed later;
- the card edit keeps failing while a warning turns critical: "Now critical" is said once;
- a store error in the watcher's pause bookkeeping: "Watch resumed" is still said, once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from agents.messages import Actor, ChatEvent, Platform, Reply
from agents.watch.alerts import AlertBook
from agents.watch.model import Finding, FindingKind, Severity, WatchReport
from agents.watch.watcher import PAUSED_KEY, Watcher
from bot.core.cards import CardVersion
from bot.core.port import Posted
from bot.render_text import render_text
from bot.watch.publisher import AlertPublisher
from integrations.store import MemoryStore, StoreError

PLAN = date(2026, 11, 23)
AS_OF = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
CHANNEL = "CALERTS"


class Clock:
    """The store's clock (seconds), moved by hand to let claims expire."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class FlakyStore(MemoryStore):
    """A `MemoryStore` whose next write (or read) of a key with a given prefix fails."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.fail_put: list[str] = []
        self.fail_get: list[str] = []

    async def put(self, key: str, value: str, *, ttl_seconds: float | None = None) -> None:
        for prefix in self.fail_put:
            if key.startswith(prefix):
                self.fail_put.remove(prefix)
                raise StoreError(f"write of {key} refused")
        await super().put(key, value, ttl_seconds=ttl_seconds)

    async def get(self, key: str) -> str | None:
        for prefix in self.fail_get:
            if key.startswith(prefix):
                self.fail_get.remove(prefix)
                raise StoreError(f"read of {key} refused")
        return await super().get(key)


@dataclass
class RecordingPort:
    """A Slack `ChatPort` that records posts, card edits and thread notes."""

    posts: list[Reply] = field(default_factory=list)
    replaced: list[tuple[str, Reply]] = field(default_factory=list)
    notes: list[Reply] = field(default_factory=list)
    edits_fail: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def platform(self) -> Platform:
        return Platform.SLACK

    @property
    def verified(self) -> bool:
        return True

    async def acknowledge(self, event: ChatEvent) -> Posted | None:
        return None

    async def reply(
        self, event: ChatEvent, reply: Reply, *, placeholder: Posted | None
    ) -> Posted | None:
        return None

    async def replace(
        self, message: Posted, reply: Reply, *, version: CardVersion | None = None
    ) -> bool:
        if self.edits_fail:
            return False
        self.replaced.append((message.message_id, reply))
        return True

    async def whisper(
        self, *, actor: Actor, channel: str, thread: str | None, reply: Reply
    ) -> None:
        return None

    async def post_in_thread(
        self, *, channel: str, thread: str | None, reply: Reply
    ) -> Posted | None:
        self.notes.append(reply)
        return Posted(channel=channel, message_id=f"n{len(self.notes)}", thread=thread)

    async def post_to_channel(self, *, channel: str, reply: Reply) -> Posted | None:
        self.posts.append(reply)
        ts = f"17000000.{next(self._ids):06d}"
        return Posted(channel=channel, message_id=ts, thread=ts)

    async def create_channel(
        self, *, name: str, topic: str, members: Sequence[str], parent: str | None
    ) -> Posted:
        raise NotImplementedError

    async def upload_image(
        self, *, channel: str, thread: str | None, png: bytes, title: str
    ) -> Posted | None:
        return None


def failure(severity: Severity = Severity.CRITICAL, explanation: str = "rc 12") -> Finding:
    return Finding(
        kind=FindingKind.FAILURE,
        object_id="J1",
        object_name="STREAM.JOB_1",
        plan_date=PLAN,
        severity=severity,
        headline="JOB_1 abended",
        explanation=explanation,
        job_id="J1",
        run_id="r1",
    )


def report(*findings: Finding, minutes: int = 0) -> WatchReport:
    return WatchReport(as_of=AS_OF + timedelta(minutes=minutes), plan_date=PLAN, findings=findings)


def setup() -> tuple[Clock, FlakyStore, RecordingPort, AlertPublisher]:
    clock = Clock()
    store = FlakyStore(clock)
    port = RecordingPort()
    publisher = AlertPublisher(
        book=AlertBook(store),
        channels={Platform.SLACK: CHANNEL},
        per_hour=20,
        zone=ZoneInfo("UTC"),
        audit=None,
    )
    publisher.attach(port)
    return clock, store, port, publisher


async def test_state_refused_after_the_post_neither_reposts_nor_loses_the_card() -> None:
    clock, store, port, publisher = setup()
    store.fail_put.append("watch:alert:slack:")  # the save right after the post
    await publisher.publish(report(failure()))
    assert [p.headline for p in port.posts] == ["JOB_1 abended"]
    clock.now += 3600  # the post claim (5 min) has long expired
    await publisher.publish(report(failure(), minutes=1))
    await publisher.publish(report(failure(), minutes=2))
    assert len(port.posts) == 1
    await publisher.publish(report(minutes=3))  # the condition ended
    ((edited, closed),) = port.replaced
    assert edited == "17000000.000001"
    assert closed.headline == "Closed: JOB_1 abended"
    assert "recovered as of" in render_text(closed)
    assert len(port.posts) == 1


async def test_store_error_later_in_the_opening_cycle_still_closes_the_card() -> None:
    _clock, store, port, publisher = setup()
    store.fail_put.append("watch:missing:slack")  # after the card was posted and saved
    await publisher.publish(report(failure()))
    assert len(port.posts) == 1
    await publisher.publish(report(minutes=1))
    ((edited, closed),) = port.replaced
    assert edited == "17000000.000001"
    assert closed.headline == "Closed: JOB_1 abended"


async def test_now_critical_is_said_once_while_the_card_edit_keeps_failing() -> None:
    _clock, _store, port, publisher = setup()
    await publisher.publish(report(failure(Severity.WARNING)))
    port.edits_fail = True
    for minute in (1, 2, 3):
        await publisher.publish(report(failure(Severity.CRITICAL), minutes=minute))
    assert [n.headline for n in port.notes] == ["Now critical: JOB_1 abended"]
    assert port.replaced == []
    port.edits_fail = False  # the chat answers again: the card catches up, silently
    await publisher.publish(report(failure(Severity.CRITICAL), minutes=4))
    assert [message for message, _reply in port.replaced] == ["17000000.000001"]
    assert len(port.notes) == 1
    assert len(port.posts) == 1


class Source:
    """A `ReportSource` playing a list of reports."""

    def __init__(self, reports: list[WatchReport]) -> None:
        self._reports = iter(reports)

    async def cycle(self) -> WatchReport:
        return next(self._reports)


async def test_resume_is_announced_once_after_a_store_error_in_pause_bookkeeping() -> None:
    _clock, store, port, publisher = setup()
    blind = WatchReport(as_of=AS_OF, plan_date=PLAN, paused="engine unreachable")
    source = Source([blind, blind, report(minutes=1), report(minutes=2), report(minutes=3)])
    watcher = Watcher(
        source=source, publisher=publisher, store=store, interval_seconds=60, lease_seconds=30
    )
    # The watcher cannot remember, either time, that the pause was announced.
    store.fail_put.extend([PAUSED_KEY, PAUSED_KEY])
    for _ in range(5):
        assert await watcher.run_cycle() is not None
    assert [p.headline for p in port.posts] == [
        "Watch paused: engine unreachable",
        "Watch resumed: the engine answers again.",
    ]


async def test_pause_refused_by_the_store_is_announced_on_the_next_cycle_once() -> None:
    _clock, store, port, publisher = setup()
    blind = WatchReport(as_of=AS_OF, plan_date=PLAN, paused="engine unreachable")
    source = Source([blind, blind, blind, report(minutes=1)])
    watcher = Watcher(
        source=source, publisher=publisher, store=store, interval_seconds=60, lease_seconds=30
    )
    store.fail_get.append("watch:paused")  # the alert book's pause flag, first cycle
    for _ in range(4):
        await watcher.run_cycle()
    assert [p.headline for p in port.posts] == [
        "Watch paused: engine unreachable",
        "Watch resumed: the engine answers again.",
    ]
