"""Three replicas publishing the same reports at once post each alert exactly once.

Three `AlertPublisher` objects, each with its own Redis connection (three replicas) on one
Redis, publish the same report concurrently for 100 rounds. Each round brings three new
findings and drops the previous round's: every new key must be posted once, and every
ended alert closed (its card replaced) once.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from runbook_stack import redis_store

from agents.messages import Actor, ChatEvent, Platform, Reply
from agents.watch.alerts import AlertBook
from agents.watch.model import Finding, FindingKind, Severity, WatchReport
from bot.core.cards import CardVersion
from bot.core.port import Posted
from bot.watch.publisher import AlertPublisher

pytestmark = pytest.mark.redis

ROUNDS = 100
PER_ROUND = 3
PLAN = date(2026, 11, 23)


@dataclass
class RecordingPort:
    """A `ChatPort` that records what was posted and replaced (one Slack workspace)."""

    posts: list[Reply] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
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
        self.replaced.append(message.message_id)
        return True

    async def whisper(
        self, *, actor: Actor, channel: str, thread: str | None, reply: Reply
    ) -> None:
        return None

    async def post_in_thread(
        self, *, channel: str, thread: str | None, reply: Reply
    ) -> Posted | None:
        return None

    async def post_to_channel(self, *, channel: str, reply: Reply) -> Posted | None:
        await asyncio.sleep(0)  # let the other replicas run in between, as real I/O would
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


def finding(round_no: int, n: int) -> Finding:
    return Finding(
        kind=FindingKind.FAILURE,
        object_id=f"J{n}",
        object_name=f"STREAM.JOB_{n}",
        plan_date=PLAN,
        severity=Severity.CRITICAL,
        headline=f"JOB_{n} abended (round {round_no})",
        explanation="return code 12",
        job_id=f"J{n}",
        run_id=f"r{round_no}",
    )


async def test_three_replicas_post_each_alert_once_every_round() -> None:
    prefix = f"test-watch-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix) for _ in range(3)]
    port = RecordingPort()
    publishers = []
    for store in stores:
        publisher = AlertPublisher(
            book=AlertBook(store),
            channels={Platform.SLACK: "CALERTS"},
            per_hour=1000,
            zone=ZoneInfo("UTC"),
            audit=None,
        )
        publisher.attach(port)
        publishers.append(publisher)
    as_of = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    try:
        for round_no in range(ROUNDS):
            findings = tuple(finding(round_no, n) for n in range(PER_ROUND))
            report = WatchReport(
                as_of=as_of + timedelta(minutes=round_no), plan_date=PLAN, findings=findings
            )
            posts_before, replaced_before = len(port.posts), len(port.replaced)
            await asyncio.gather(*(p.publish(report) for p in publishers))
            new = [r.headline for r in port.posts[posts_before:]]
            assert sorted(new) == sorted(f.headline for f in findings), f"round {round_no}"
            closed = port.replaced[replaced_before:]
            assert len(closed) == (0 if round_no == 0 else PER_ROUND), f"round {round_no}"
            assert len(set(closed)) == len(closed)
    finally:
        for store in stores:
            await store.close()
