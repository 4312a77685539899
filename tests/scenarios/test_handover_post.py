"""The handover posted at shift change: Slack (mock Web API), Teams (fake Bot Connector),
and exactly once per shift change across three replicas sharing the real Redis.

The poster runs on the real chat core and the real surfaces' ports; the facts of each post
are checked against the simulator's HTTP API (`handover_support.check_facts`).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from handover_support import NOW, Night, check_facts, flat, handover_night
from runbook_stack import AuditTrail, redis_store
from slack_support import assert_valid_blocks, slack_harness
from teams_support import CHANNEL, assert_valid_card, installed, running_bot

from agents.messages import Platform
from bot.handover import HandoverPoster, start_handover
from config.handover_settings import HandoverSettings
from integrations.store import MemoryStore, Store

CHANNEL_SLACK = "CHANDOVER"
SHIFT = time(23, 30)  # the simulator's clock is 23:30: the shift changes now


@dataclass
class Clock:
    """Server time, moved by the tests."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def poster(
    night: Night, core: Any, store: Store, audit: AuditTrail, clock: Clock, **kw: Any
) -> HandoverPoster:
    return HandoverPoster(
        desk=night.desk,
        core=core,
        store=store,
        channels=kw.pop("channels", {Platform.SLACK: CHANNEL_SLACK}),
        times=(time(6, 0), time(14, 0), SHIFT),
        zone=UTC,
        audit=audit,
        clock=clock,
        **kw,
    )


@pytest.fixture
async def night(tmp_path: Path) -> Night:  # type: ignore[misc]
    async with handover_night(tmp_path) as value:
        yield value


async def test_slack_post_at_shift_change_once(night: Night) -> None:
    trail = AuditTrail()
    clock = Clock(NOW - timedelta(minutes=1))
    async with slack_harness() as h:
        handover = poster(night, h.core, MemoryStore(), trail, clock)
        handover.attach(h.surface.port)
        assert await handover.post_due() == []  # 23:29: nothing due yet (14:00 is long past)
        clock.now = NOW + timedelta(seconds=5)
        (posted,) = await handover.post_due()
        assert await handover.post_due() == []  # the same change: done
        clock.now = NOW + timedelta(minutes=20)  # past the grace: nothing more
        assert await handover.post_due() == []
        posts = [p for p in h.mock.of("chat.postMessage") if p["channel"] == CHANNEL_SLACK]
    (post,) = posts
    assert not post.get("thread_ts")  # a new top-level post
    assert_valid_blocks(post["blocks"])
    check_facts(flat(post["blocks"]), night.truth)
    (record,) = trail.actions("handover.post")
    assert record["outcome"] == "posted"
    assert record["platform"] == "slack"
    assert record["channel"] == CHANNEL_SLACK
    assert record["target"] == "2026-11-23T23:30"
    assert record["thread"] == posted.message_id
    assert record["parameters"]["still_failed"] == len(night.truth.failed)
    assert record["parameters"]["workstations_down"] == len(night.truth.down)
    assert [r["outcome"] for r in h.audit.actions("chat.post")] == ["posted"]


async def test_teams_post_at_shift_change(night: Night) -> None:
    trail = AuditTrail()
    async with running_bot() as bot:
        assert (await bot.post(installed(bot.connector.url))).status == 200
        settings = HandoverSettings(handover_times="23:30", handover_teams_channel=CHANNEL)
        assert settings.handover_posting
        handover = poster(
            night,
            bot.core,
            bot.store,
            trail,
            Clock(NOW + timedelta(seconds=1)),
            channels={Platform.TEAMS: CHANNEL},
        )
        handover.attach(bot.surface.port)
        (posted,) = await handover.post_due()
        creates = [
            c for c in bot.connector.calls if c.method == "POST" and c.path == "/v3/conversations"
        ]
    (create,) = creates
    assert create.body["channelData"]["channel"]["id"] == CHANNEL
    card = create.body["activity"]["attachments"][0]["content"]
    assert_valid_card(card)
    check_facts(flat(card), night.truth)
    (record,) = trail.actions("handover.post")
    assert (record["platform"], record["outcome"]) == ("teams", "posted")
    assert posted.channel == CHANNEL


async def test_a_failed_post_is_retried_and_audited(night: Night) -> None:
    trail = AuditTrail()
    async with slack_harness() as h:
        h.mock.fail("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
        handover = poster(night, h.core, MemoryStore(), trail, Clock(NOW + timedelta(seconds=1)))
        handover.attach(h.surface.port)
        assert await handover.post_due() == []
        assert [r["outcome"] for r in trail.actions("handover.post")] == ["failed"]
        h.mock.failures.clear()
        assert len(await handover.post_due()) == 1  # the next round posts it
    assert [r["outcome"] for r in trail.actions("handover.post")] == ["failed", "posted"]


@pytest.mark.redis
async def test_three_replicas_post_once_per_shift_change(night: Night) -> None:
    prefix = f"test-handover-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix) for _ in range(3)]
    trail = AuditTrail()
    clock = Clock(NOW + timedelta(seconds=1))
    try:
        async with slack_harness() as h:
            replicas = [poster(night, h.core, store, trail, clock) for store in stores]
            for replica in replicas:
                replica.attach(h.surface.port)
            # Every replica's loop runs at once, round after round, at the change.
            loops = [asyncio.create_task(r.run(interval_seconds=0.02)) for r in replicas]
            await _until(lambda: len(_posts(h)) >= 1)
            await asyncio.sleep(0.3)  # more rounds on every replica: still one post
            assert len(_posts(h)) == 1
            # The next day's 06:00 change: one more post, by whichever replica.
            clock.now = datetime(2026, 11, 24, 6, 0, 2, tzinfo=UTC)
            await _until(lambda: len(_posts(h)) >= 2)
            await asyncio.sleep(0.3)
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            assert len(_posts(h)) == 2
    finally:
        for store in stores:
            await store.close()
    posted = [r for r in trail.actions("handover.post") if r["outcome"] == "posted"]
    assert sorted(r["target"] for r in posted) == ["2026-11-23T23:30", "2026-11-24T06:00"]


async def test_start_handover_is_off_without_times_or_channel(night: Night) -> None:
    async with slack_harness() as h:
        for settings in (
            HandoverSettings(handover_slack_channel=CHANNEL_SLACK),
            HandoverSettings(handover_times="06:00,14:00,22:00"),
        ):
            task = start_handover(
                settings,
                desk=night.desk,
                core=h.core,
                store=MemoryStore(),
                audit=None,
                ports=[h.surface.port],
                watched=False,
            )
            assert task is None
        task = start_handover(
            HandoverSettings(handover_times="06:00", handover_slack_channel=CHANNEL_SLACK),
            desk=night.desk,
            core=h.core,
            store=MemoryStore(),
            audit=None,
            ports=[h.surface.port],
            watched=False,
        )
        assert task is not None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _posts(h: Any) -> list[dict[str, Any]]:
    return [p for p in h.mock.of("chat.postMessage") if p["channel"] == CHANNEL_SLACK]


async def _until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)
