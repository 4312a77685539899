"""Runbook approvals in Slack, end to end with the real stack.

Simulator over HTTP + TWSClient + RunbookService (shipped catalog) + the Slack surface
against a mock Slack. Every click goes to the service; only its answer changes the card;
private notes are ephemeral; the approved run happens exactly once at the simulator and its
progress is posted in the card's thread.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from runbook_stack import JOB, RUNBOOK, AuditTrail, Stack, card_buttons, forge, runbook_stack
from slack_support import EchoAsker, Harness, assert_valid_blocks, slack_harness

from agents.assistant import Assistant
from agents.messages import Actor, Platform
from agents.runbooks.policy import SLACK_USERGROUP_PREFIX, ApprovalGroups
from bot.core.dispatcher import Dispatcher
from bot.directory import GroupDirectoryRouter
from bot.runbook_clicks import FORGED_NOTE, RunbookDecisions
from bot.slack.commands import command_question

REQUESTER = Actor(
    platform=Platform.SLACK, user_id="UREQ", display_name="Person UREQ", email="ureq@example.com"
)
ROOT_TS = "1690000000.000100"


async def _card(stack: Stack, h: Harness) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Request a run as the requester and post its card in the thread; (request id, message, buttons)."""
    result = await stack.service.request(
        runbook_id=RUNBOOK,
        values={"job": JOB},
        actor=REQUESTER,
        channel="C1",
        thread=ROOT_TS,
    )
    assert result.accepted
    assert result.request_id is not None
    posted = await h.surface.port.post_in_thread(channel="C1", thread=ROOT_TS, reply=result.reply)
    assert posted is not None
    (post,) = h.mock.of("chat.postMessage")
    assert post["thread_ts"] == ROOT_TS
    assert_valid_blocks(post["blocks"])
    ts = posted.message_id
    message = {"ts": ts, "thread_ts": ROOT_TS, "text": post["text"], "blocks": post["blocks"]}
    buttons = {
        e["text"]["text"]: e
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("runbook.")
    }
    assert set(buttons) >= {"Approve", "Reject", "Dry run"}
    assert {b.action_id for b in card_buttons(result.reply).values()} == {
        e["action_id"] for e in buttons.values()
    }
    return result.request_id, message, buttons


def _ephemerals(h: Harness, user: str) -> list[str]:
    return [c["text"] for c in h.mock.of("chat.postEphemeral") if c["user"] == user]


async def test_slack_approval_flow_with_the_real_stack() -> None:
    async with runbook_stack() as stack:
        trail = AuditTrail()
        decisions = RunbookDecisions(stack.service, audit=trail)
        async with slack_harness(asker=EchoAsker(), on_decision=decisions) as h:
            stack.progress.use(h.core)
            stack.progress.register(h.surface.port)
            request_id, message, buttons = await _card(stack, h)
            approve = buttons["Approve"]
            before = await stack.rerun_count()

            # The requester cannot approve their own request: private note, nothing changes.
            await h.click(
                action_id=approve["action_id"],
                value=approve["value"],
                message=message,
                user="UREQ",
                trigger="t-self",
            )
            # Someone outside the approval group is refused.
            await h.click(
                action_id=approve["action_id"],
                value=approve["value"],
                message=message,
                user="U9",
                trigger="t-outsider",
            )
            # A forged value is refused (and audited) before the service acts on it.
            await h.click(
                action_id=approve["action_id"],
                value=forge(approve["value"]),
                message=message,
                user="APPROVER1",
                trigger="t-forged",
            )
            await h.settle()
            assert "self-approval" in " ".join(_ephemerals(h, "UREQ"))
            assert "not an approver" in " ".join(_ephemerals(h, "U9"))
            assert FORGED_NOTE in _ephemerals(h, "APPROVER1")
            assert h.mock.of("chat.update") == []  # no click changed the card
            assert await stack.rerun_count() == before
            assert await stack.status(request_id) == "pending"
            (forged,) = trail.actions("runbook.forged_click")
            assert forged["actor_identity"] == "approver1@example.com"
            refused = [r["outcome"] for r in stack.audit.actions("runbook.decision")]
            assert refused == ["refused", "refused"]

            # An eligible approver double-clicks, and Slack re-delivers one click: one run.
            clicks = [
                {"trigger": "t-a1", "action_ts": "1700000002.1"},
                {"trigger": "t-a1", "action_ts": "1700000002.1"},  # re-delivery: dropped
                {"trigger": "t-a2", "action_ts": "1700000002.2"},  # second click: to the service
            ]
            await asyncio.gather(
                *(
                    h.click(
                        action_id=approve["action_id"],
                        value=approve["value"],
                        message=message,
                        user="APPROVER1",
                        **c,
                    )
                    for c in clicks
                )
            )
            await h.settle()
            assert await stack.rerun_count() == before + 1
            assert await stack.status(request_id) == "succeeded"
            assert len(h.audit.actions("chat.click")) == 5  # the re-delivery is not a click

            # The card was replaced for everyone, and shows who approved.
            updates = [u for u in h.mock.of("chat.update") if u["ts"] == message["ts"]]
            assert updates
            final = updates[-1]
            assert_valid_blocks(final["blocks"])
            shown = str(final["blocks"])
            assert "Person APPROVER1" in shown
            assert not any(
                e.get("action_id", "").startswith("runbook.")
                for b in final["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            )
            notes = _ephemerals(h, "APPROVER1")
            assert any("Run finished" in n for n in notes)
            assert any("already" in n.lower() for n in notes)

            # Progress and the outcome went into the card's thread.
            thread_posts = [
                p["text"] for p in h.mock.of("chat.postMessage")[1:] if p["thread_ts"] == ROOT_TS
            ]
            assert any("step 2/4" in t and "rerun the job" in t for t in thread_posts)
            assert any(f"Runbook {RUNBOOK}: done" in t for t in thread_posts)
            executed = [r for r in stack.audit.actions("runbook.tws_call") if r["outcome"] == "ok"]
            assert len(executed) == 1


async def test_dry_run_and_reject_by_the_requester() -> None:
    async with runbook_stack() as stack:
        decisions = RunbookDecisions(stack.service)
        async with slack_harness(on_decision=decisions) as h:
            stack.progress.use(h.core)
            stack.progress.register(h.surface.port)
            request_id, message, buttons = await _card(stack, h)
            dry = buttons["Dry run"]
            await h.click(
                action_id=dry["action_id"], value=dry["value"], message=message, user="U9"
            )
            await h.settle()
            posts = h.mock.of("chat.postMessage")
            assert len(posts) == 2
            assert posts[-1]["thread_ts"] == ROOT_TS
            assert "would call" in str(posts[-1]["blocks"])
            reject = buttons["Reject"]
            await h.click(
                action_id=reject["action_id"],
                value=reject["value"],
                message=message,
                user="UREQ",
                trigger="t-withdraw",
            )
            await h.settle()
            assert await stack.status(request_id) == "rejected"
            assert any("Rejected" in n for n in _ephemerals(h, "UREQ"))
            (update,) = h.mock.of("chat.update")
            assert "rejected" in str(update["blocks"]).lower()
            assert await stack.rerun_count() == 0


def test_tws_run_reaches_the_agent_as_run() -> None:
    assert command_question("run rerun-abended-job job=PAYROLL_EXTRACT") == (
        "run rerun-abended-job job=PAYROLL_EXTRACT"
    )
    assert command_question("RUN rerun-abended-job job=X") == "run rerun-abended-job job=X"


async def test_rerun_asked_in_words_through_the_agent_then_approved_by_a_colleague() -> None:
    """/tws rerun PAYROLL_EXTRACT -> agent -> approval card -> colleague approves -> one rerun."""
    async with runbook_stack() as stack:
        assistant = Assistant(
            scheduler=stack.client, checkpointer=InMemorySaver(), zone=UTC, runbooks=stack.service
        )
        dispatcher = Dispatcher(assistant=assistant, audit=None)
        decisions = RunbookDecisions(stack.service)
        async with slack_harness(dispatcher=dispatcher, on_decision=decisions) as h:
            stack.progress.use(h.core)
            stack.progress.register(h.surface.port)
            before = await stack.rerun_count()
            status, _ = await h.command("rerun PAYROLL_EXTRACT", user="U1")
            assert status == 200
            await h.settle()
            (answer,) = h.mock.of("chat.update")  # "Looking up ..." replaced by the card
            assert_valid_blocks(answer["blocks"])
            assert "waiting for approval" in answer["text"]
            approve = next(
                e
                for b in answer["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == "runbook.approve"
            )
            message = {"ts": answer["ts"], "text": answer["text"], "blocks": answer["blocks"]}
            await h.click(
                action_id="runbook.approve", value=approve["value"], message=message, user="U1"
            )
            await h.settle()
            assert await stack.rerun_count() == before  # the requester cannot approve
            await h.click(
                action_id="runbook.approve",
                value=approve["value"],
                message=message,
                user="APPROVER2",
                trigger="t-colleague",
            )
            await h.settle()
            assert await stack.rerun_count() == before + 1


# --- approval groups fed by a Slack user group ---------------------------------------------

OPS_GROUPS = ApprovalGroups(
    {"tws-operators": ["ops.lead@example.com", "slack-usergroup:S0OPS"], "tws-admins": ["x@y.z"]}
)


async def _click_approve(
    h: Harness, buttons: dict[str, Any], message: dict[str, Any], user: str
) -> None:
    approve = buttons["Approve"]
    await h.click(
        action_id=approve["action_id"],
        value=approve["value"],
        message=message,
        user=user,
        trigger=f"t-{user}",
        action_ts=f"1700000003.{len(h.mock.calls)}",
    )
    await h.settle()


async def test_a_member_of_the_slack_user_group_approves_and_a_non_member_is_refused() -> None:
    directory = GroupDirectoryRouter()
    async with (
        runbook_stack(groups=OPS_GROUPS, directory=directory) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        h.mock.usergroups["S0OPS"] = ["UOPS1", "UOPS2"]
        directory.register(SLACK_USERGROUP_PREFIX, h.surface.usergroups)  # as serving does
        stack.progress.use(h.core)
        stack.progress.register(h.surface.port)
        request_id, message, buttons = await _card(stack, h)
        who = str(message["blocks"])
        assert "members of Slack user group S0OPS" in who  # the reference, not the names
        assert "uops1@example.com" not in who
        before = await stack.rerun_count()

        await _click_approve(h, buttons, message, "U9")  # not in the list nor the group
        assert "not an approver" in " ".join(_ephemerals(h, "U9"))
        assert await stack.status(request_id) == "pending"

        await _click_approve(h, buttons, message, "UOPS1")  # uops1@example.com, via S0OPS
        assert await stack.status(request_id) == "succeeded"
        assert await stack.rerun_count() == before + 1
        assert any("Run finished" in n for n in _ephemerals(h, "UOPS1"))
        # Both clicks needed the member list: Slack was asked once (store cache).
        (lookup,) = h.mock.of("usergroups.users.list")
        assert lookup["usergroup"] == "S0OPS"
        cached = await h.store.get("slack:usergroup:S0OPS")  # shared by the replicas
        assert cached is not None
        assert set(json.loads(cached)) == {"uops1@example.com", "uops2@example.com"}


async def test_a_slack_error_on_the_user_group_refuses_with_a_clear_message() -> None:
    directory = GroupDirectoryRouter()
    async with (
        runbook_stack(groups=OPS_GROUPS, directory=directory) as stack,
        slack_harness(on_decision=RunbookDecisions(stack.service)) as h,
    ):
        h.mock.usergroups["S0OPS"] = ["UOPS1"]
        h.mock.fail("usergroups.users.list", body={"ok": False, "error": "missing_scope"})
        directory.register(SLACK_USERGROUP_PREFIX, h.surface.usergroups)
        request_id, message, buttons = await _card(stack, h)
        before = await stack.rerun_count()
        await _click_approve(h, buttons, message, "UOPS1")
        (note,) = _ephemerals(h, "UOPS1")
        assert "Could not check your membership of the Slack user group S0OPS" in note
        assert "ask an admin" in note
        assert await stack.status(request_id) == "pending"
        assert await stack.rerun_count() == before
        refused = [r["outcome"] for r in stack.audit.actions("runbook.decision")]
        assert refused == ["refused"]
        assert h.mock.of("chat.update") == []


async def test_user_group_lookup_waits_out_a_429_and_caches_per_ttl() -> None:
    async with slack_harness() as h:
        h.mock.usergroups["S0OPS"] = ["UOPS1", "UBOT2"]
        h.mock.fail(
            "usergroups.users.list",
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "0"},
        )
        members = await h.surface.usergroups.members("slack-usergroup:S0OPS")
        assert members == {"uops1@example.com", "ubot2@example.com"}
        assert len(h.mock.of("usergroups.users.list")) == 2  # the 429, then the retry
        assert await h.surface.usergroups.members("slack-usergroup:S0OPS") == members
        assert len(h.mock.of("usergroups.users.list")) == 2  # from the store
        assert await h.surface.usergroups.members("teams-group:x") is None  # not Slack's
