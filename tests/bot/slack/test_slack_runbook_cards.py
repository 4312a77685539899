"""The approval card in Slack always ends showing the truth, and the policy matches people.

Real stack (simulator over HTTP, TWSClient, RunbookService with the shipped catalog), the
real chat core and Slack surface, Slack played by the mock Web API:

- Slack answers 429 + Retry-After to the click's ``chat.update``: the retry must not put
  "approved, starting" back over the final card the finished run showed meanwhile.
- Another replica takes a stalled run over (shared Redis): the replica that finishes posts
  the final card.
- The clicked replica crashes before running; after a restart ``recover()`` runs it and
  posts the final card: no live buttons are left on a finished request.
- A policy naming ``slack:U2`` matches U2 even though users.info gives U2's e-mail.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from runbook_stack import (
    JOB,
    RUNBOOK,
    Stack,
    Tasks,
    redis_store,
    runbook_stack,
)
from slack_support import Harness, slack_harness

from agents.messages import Actor, Platform
from agents.runbooks.policy import ApprovalGroups
from bot.progress import ProgressRouter
from bot.runbook_clicks import RunbookDecisions
from integrations.tws.models import JobAction

REQUESTER = Actor(
    platform=Platform.SLACK, user_id="UREQ", display_name="Person UREQ", email="ureq@example.com"
)
ROOT_TS = "1690000000.000100"


async def _card(stack: Stack, h: Harness) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Request a run and post its card through the core: (request id, message, Approve)."""
    result = await stack.service.request(
        runbook_id=RUNBOOK, values={"job": JOB}, actor=REQUESTER, channel="C1", thread=ROOT_TS
    )
    assert result.accepted
    assert result.request_id is not None
    posted = await h.core.post(
        h.surface.port, channel="C1", thread=ROOT_TS, reply=result.reply, correlation={}
    )
    assert posted is not None
    post = h.mock.of("chat.postMessage")[-1]
    message = {"ts": posted.message_id, "thread_ts": ROOT_TS, "blocks": post["blocks"]}
    approve = next(
        e
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "runbook.approve"
    )
    return result.request_id, message, approve


async def _approve(h: Harness, message: dict[str, Any], approve: dict[str, Any], user: str) -> None:
    await h.click(
        action_id="runbook.approve",
        value=approve["value"],
        message=message,
        user=user,
        trigger=f"t-{user}",
    )


def _updates(h: Harness, message: dict[str, Any]) -> list[dict[str, Any]]:
    return [u for u in h.mock.of("chat.update") if u["ts"] == message["ts"]]


def _live_buttons(update: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in update["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("runbook.")
    ]


def _assert_final(h: Harness, message: dict[str, Any], status: str = "done") -> None:
    updates = _updates(h, message)
    assert updates, "the card was never replaced"
    final = updates[-1]
    assert f": {status}" in final["text"], [u["text"] for u in updates]
    assert _live_buttons(final) == []


async def test_a_rate_limited_card_update_never_overwrites_the_final_card() -> None:
    tasks = Tasks()
    async with (
        runbook_stack(spawn=tasks) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        stack.progress.use(h.core)
        stack.progress.register(h.surface.port)
        request_id, message, approve = await _card(stack, h)
        h.mock.fail(
            "chat.update",
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "1"},
        )
        await _approve(h, message, approve, "APPROVER1")
        await tasks.drain()  # the run ends in the background and shows the final card
        await h.settle()  # the click's update waited out Retry-After meanwhile
        assert await stack.status(request_id) == "succeeded"
        assert await stack.rerun_count() == 1
        texts = [u["text"] for u in _updates(h, message)]
        assert "approved, starting" in texts[0]  # the update Slack answered 429 to
        _assert_final(h, message)
        done = next(i for i, text in enumerate(texts) if ": done" in text)
        assert all(": done" in text for text in texts[done:]), texts


async def test_the_replica_that_takes_a_run_over_posts_the_final_card() -> None:
    prefix = f"test-bot-rb-{uuid.uuid4().hex}:"
    store, other = await redis_store(prefix), await redis_store(prefix)  # two connections
    parked, go = asyncio.Event(), asyncio.Event()

    async def stall(request_id: str, phase: str) -> None:
        if phase == "step_done:1":  # rerun done, then this replica stalls
            parked.set()
            await go.wait()

    tasks = Tasks()
    async with (
        runbook_stack(store=store, spawn=tasks, lease_seconds=0.5, on_phase=stall) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        stack.progress.use(h.core)
        stack.progress.register(h.surface.port)
        request_id, message, approve = await _card(stack, h)
        await _approve(h, message, approve, "APPROVER1")
        await h.settle()
        await asyncio.wait_for(parked.wait(), 10)
        assert "approved, starting" in _updates(h, message)[-1]["text"]
        while await stack.service.journal.drive_holder(request_id) is not None:
            await asyncio.sleep(0.05)  # the stalled replica's drive lease runs out

        router = ProgressRouter()  # the second replica's own sink, on the same Slack
        router.use(h.core)
        router.register(h.surface.port)
        second = stack.replica(progress=router, store=other, lease_seconds=0.5)
        assert await second.recover() == [request_id]
        _assert_final(h, message)  # posted by the second replica: the first is still stalled

        go.set()
        await tasks.drain()  # the stalled replica wakes up, sees it was taken over, stops
        await h.settle()
        _assert_final(h, message)
        assert await stack.status(request_id) == "succeeded"
        assert await stack.rerun_count() == 1
    await other.close()
    await store.close()


class CrashError(Exception):
    """The process dies (in-process stand-in for SIGKILL)."""


async def test_after_a_crash_recover_posts_the_final_card() -> None:
    store = await redis_store()

    async def crash(request_id: str, phase: str) -> None:
        if phase == "before_execute":
            raise CrashError("killed")

    async with (
        runbook_stack(store=store, on_phase=crash) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        stack.progress.use(h.core)
        stack.progress.register(h.surface.port)
        request_id, message, approve = await _card(stack, h)
        await _approve(h, message, approve, "APPROVER1")
        await h.settle()
        assert await stack.status(request_id) == "approved"
        assert _updates(h, message) == []  # the card still says "waiting for approval"

        restarted = stack.replica(progress=stack.progress)
        assert await restarted.recover() == [request_id]
        assert await stack.status(request_id) == "succeeded"
        assert await stack.rerun_count() == 1
        _assert_final(h, message)
    await store.close()


async def test_a_policy_entry_slack_user_id_matches_a_person_whose_email_is_known() -> None:
    groups = ApprovalGroups({"tws-operators": ["slack:U2", "Ops Lead"], "tws-admins": ["x@y.z"]})
    async with (
        runbook_stack(groups=groups) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        stack.progress.use(h.core)
        stack.progress.register(h.surface.port)
        request_id, message, approve = await _card(stack, h)
        # Only who can really approve is shown: "Ops Lead" matches nobody.
        assert "group tws-operators (1 people)" in str(message["blocks"])
        await _approve(h, message, approve, "U2")  # users.info: u2@example.com
        await h.settle()
        notes = [c["text"] for c in h.mock.of("chat.postEphemeral") if c["user"] == "U2"]
        assert not any("not an approver" in n for n in notes), notes
        assert await stack.status(request_id) == "succeeded"
        assert await stack.rerun_count() == 1
        approvals = [
            r["actor_identity"]
            for r in stack.audit.actions("runbook.decision")
            if r["outcome"] == "approved"
        ]
        assert approvals == ["u2@example.com"]


async def test_a_card_sent_back_for_approval_loses_its_buttons_and_the_new_one_ends_done() -> None:
    changed: list[str] = []
    stacks: list[Stack] = []

    async def fix_by_hand(request_id: str, phase: str) -> None:
        if phase == "before_recheck" and not changed:  # someone confirms the job meanwhile
            changed.append(request_id)
            client = stacks[0].client
            found = (await client.query_jobs(name=JOB.split(".")[1])).value
            await client.job_action(found[0].id, JobAction.CONFIRM_SUCC)

    async with (
        runbook_stack(on_phase=fix_by_hand) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        stacks.append(stack)
        stack.progress.use(h.core)
        stack.progress.register(h.surface.port)
        request_id, message, approve = await _card(stack, h)
        await _approve(h, message, approve, "APPROVER1")
        await h.settle()
        assert await stack.status(request_id) == "pending"  # round 2
        old = _updates(h, message)
        assert old
        assert "sent back for approval" in old[-1]["text"]
        assert _live_buttons(old[-1]) == []
        new = h.mock.of("chat.postMessage")[-1]  # the new round's card, in the thread
        assert "runbook.approve" in str(new["blocks"])
        record = await stack.service.journal.load(request_id)
        assert record is not None
        assert record.card is not None
        ts = record.card.message_id  # the record follows the new card
        assert ts != message["ts"]
        new_message = {"ts": ts, "thread_ts": ROOT_TS, "blocks": new["blocks"]}
        value = next(
            e["value"]
            for b in new["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "runbook.approve"
        )
        await _approve(h, new_message, {"value": value}, "APPROVER2")
        await h.settle()
        # The job is SUCC now, so the run stops at its first check; the new card says so.
        assert await stack.status(request_id) == "failed"
        _assert_final(h, new_message, status="failed")
        assert "sent back for approval" in _updates(h, message)[-1]["text"]
