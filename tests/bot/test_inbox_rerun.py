"""The durable inbox: a message is kept in the store while its walk runs, removed after, and
one whose replica died (its claim lapsed) is answered once by a sweeping replica.

Through the real Slack surface (signed HTTP) and the mock Slack Web API; a dead replica is
played by what it leaves in the shared store: its inbox entry and its claim's lease.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_support import EchoAsker, Harness, mention_envelope, slack_harness

from agents.messages import Actor, ChatEvent, Platform, Reply
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.core.inbox import INBOX_QUEUE, Inbox, InboxEntry, redeliver

DEAD_OWNER = "dead-host:4242:deadbeef:1"


def _answers(h: Harness, text: str) -> list[dict[str, Any]]:
    """Answers (placeholder replacements) on the mock Slack that carry ``text``."""
    return [args for args in h.mock.of("chat.update") if text in json.dumps(args)]


async def _orphan(h: Harness, delivery: str, text: str, *, admitted: bool) -> InboxEntry:
    """What a replica killed mid-walk leaves: its entry and a claim that lapses in 0.3 s."""
    actor = Actor(platform=Platform.SLACK, user_id="U7", display_name="Ana")
    event = ChatEvent(event_id=delivery, actor=actor, channel_id="C1", thread_id="1.2", text=text)
    entry = InboxEntry(
        platform="slack",
        delivery_id=delivery,
        event=event,
        details={"kind": "mention", "retry": 0},
        admitted=admitted,
    )
    await Inbox(h.store).keep(entry)
    lease = f"dedupe:{entry.key}"
    assert await h.store.acquire_lease(lease, owner=DEAD_OWNER, ttl_seconds=0.3)
    return entry


async def test_an_answered_message_leaves_the_inbox() -> None:
    async with slack_harness() as h:
        status, _ = await h.event(mention_envelope("<@UBOT> status of PAYROLL", event_id="EvA"))
        assert status == 200
        await h.settle()
        assert len(_answers(h, "You asked: status of PAYROLL")) == 1
        assert await h.store.queue_oldest(INBOX_QUEUE, limit=10) == []
        assert len(h.audit.actions("chat.message")) == 1


async def test_the_entry_is_kept_while_the_answer_is_worked_on() -> None:
    asked = asyncio.Event()
    release = asyncio.Event()

    class SlowAsker(EchoAsker):
        async def ask(self, event: ChatEvent) -> Reply:
            asked.set()
            await release.wait()
            return await super().ask(event)

    async with slack_harness(asker=SlowAsker()) as h:
        await h.event(mention_envelope("<@UBOT> why is PAYROLL late", event_id="EvB"))
        await asyncio.wait_for(asked.wait(), 5)
        kept = await Inbox(h.store).oldest()
        assert [(e.key, e.event.text, e.admitted) for e in kept] == [
            ("slack:message:EvB", "why is PAYROLL late", True)
        ]
        # Held by this live process: a sweep leaves it alone.
        assert await redeliver(h.core, [h.surface.port], min_age_seconds=0) == 0
        release.set()
        await h.settle()
        assert await Inbox(h.store).oldest() == []


async def test_an_orphan_is_answered_once_after_its_claim_lapses() -> None:
    async with slack_harness() as h:
        await _orphan(h, "EvC", "status of BILLING", admitted=True)
        assert (
            await redeliver(h.core, [h.surface.port], min_age_seconds=0) == 0
        )  # its lease is still alive
        await asyncio.sleep(0.4)
        # Two replicas (two cores on the same store) sweep at the same moment.
        other = ChatCore(
            dispatcher=Dispatcher(assistant=EchoAsker(), audit=h.audit), store=h.store, audit=None
        )
        started = await asyncio.gather(
            redeliver(h.core, [h.surface.port], min_age_seconds=0),
            redeliver(other, [h.surface.port], min_age_seconds=0),
        )
        assert sum(started) >= 1
        await h.settle()
        await other.tasks.drain()
        assert len(_answers(h, "You asked: status of BILLING")) == 1
        # The dead replica audited it already: the re-run adds no second chat.message record.
        assert h.audit.actions("chat.message") == []
        assert await Inbox(h.store).oldest() == []
        assert await h.store.get("dedupe:slack:message:EvC") == "done"
        assert await redeliver(h.core, [h.surface.port], min_age_seconds=0) == 0


async def test_an_orphan_that_was_never_admitted_is_audited_once() -> None:
    async with slack_harness() as h:
        await _orphan(h, "EvD", "status of HR", admitted=False)
        await asyncio.sleep(0.4)
        assert await redeliver(h.core, [h.surface.port], min_age_seconds=0) == 1
        await h.settle()
        assert len(_answers(h, "You asked: status of HR")) == 1
        records = h.audit.actions("chat.message")
        assert len(records) == 1
        assert records[0]["correlation"] == {"delivery_id": "EvD"}


async def test_an_orphan_already_answered_is_only_removed() -> None:
    async with slack_harness() as h:
        entry = await _orphan(h, "EvE", "status of GL", admitted=True)
        await h.store.put(f"dedupe:{entry.key}", "done", ttl_seconds=60)
        assert await redeliver(h.core, [h.surface.port], min_age_seconds=0) == 0
        assert await Inbox(h.store).oldest() == []
        assert _answers(h, "status of GL") == []


async def test_a_young_entry_is_left_to_the_replica_about_to_claim_it() -> None:
    async with slack_harness() as h:
        entry = await _orphan(h, "EvG", "status of FA", admitted=True)
        await asyncio.sleep(0.4)  # its claim lapsed, but it was kept 0.4 s ago
        assert await redeliver(h.core, [h.surface.port], min_age_seconds=5) == 0
        assert [e.key for e in await Inbox(h.store).oldest()] == [entry.key]


async def test_an_orphan_of_a_platform_not_served_here_waits() -> None:
    async with slack_harness() as h:
        entry = await _orphan(h, "EvF", "status of AP", admitted=True)
        await asyncio.sleep(0.4)
        assert await redeliver(h.core, [], min_age_seconds=0) == 0
        assert [e.key for e in await Inbox(h.store).oldest()] == [entry.key]


async def test_receive_keeps_the_message_before_it_returns() -> None:
    """`ChatCore.receive` (what an adapter awaits before acknowledging) keeps the message."""
    release = asyncio.Event()

    class HeldAsker(EchoAsker):
        async def ask(self, event: ChatEvent) -> Reply:
            await release.wait()
            return await super().ask(event)

    actor = Actor(platform=Platform.SLACK, user_id="U9", display_name="Bo")

    async def event() -> ChatEvent:
        return ChatEvent(event_id="EvR", actor=actor, channel_id="C1", thread_id="3.4", text="hi")

    async with slack_harness(asker=HeldAsker()) as h:
        await h.core.receive(h.surface.port, "EvR", event, {"kind": "mention"})
        kept = await Inbox(h.store).oldest()
        assert [(e.key, e.event.text, e.details) for e in kept] == [
            ("slack:message:EvR", "hi", {"kind": "mention"})
        ]
        release.set()
        await h.settle()
        assert len(_answers(h, "You asked: hi")) == 1
        assert await Inbox(h.store).oldest() == []
