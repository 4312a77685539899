"""The approval flow against the simulator over HTTP and the real Redis.

Self-approval, ineligible approvers, forged button values, expiry, rejection, parameter and
plan changes after approval, retries and replays; every decision and TWS call audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    REQUESTER,
    AuditTrail,
    Posts,
    actor,
    buttons,
    click,
    job_id,
    make_service,
    redis_store,
    simulator,
    write_test_catalog,
)

from agents.assistant import Assistant
from agents.messages import Actions, Actor, ChatEvent, Fields, Paragraph, Platform, Reply, Table
from agents.runbooks.decisions import Decision, DecisionKind, DecisionStatus
from agents.runbooks.journal import RequestStatus
from agents.runbooks.policy import same_person
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ACTION_IDS, ForgedValueError
from integrations.store import RedisStore
from integrations.tws.client import TWSClient
from integrations.tws.models import JobAction, JobStatus

pytestmark = pytest.mark.redis


@dataclass
class Env:
    client: TWSClient
    store: RedisStore
    service: RunbookService
    audit: AuditTrail
    posts: Posts
    clock: list[datetime]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = await redis_store()
    async with simulator() as (_sim, client):
        audit, posts = AuditTrail(), Posts()
        clock = [datetime.now().astimezone()]
        service = make_service(
            catalog=write_test_catalog(tmp_path / "runbooks"),
            client=client,
            store=store,
            checkpointer=InMemorySaver(),
            audit=audit,
            progress=posts,
            clock=lambda: clock[0],
        )
        yield Env(client, store, service, audit, posts, clock)
    await store.close()


async def reruns(client: TWSClient) -> int:
    return (await client.get_job(await job_id(client))).value.rerun_count


async def test_invalid_parameters_are_refused_and_nothing_is_queued(env: Env) -> None:
    result = await env.service.request_text(
        text="/tws run quick-rerun job=PAYROLL_DAILY.NO_SUCH_JOB colour=blue", actor=REQUESTER
    )
    assert not result.accepted
    assert result.request_id is None
    text = result.reply.plain_text()
    assert "no such job in the current plan" in text
    assert "unknown parameter 'colour'" in text
    assert "Nothing was queued" in text
    assert await env.service.journal.active() == []
    assert [r["outcome"] for r in env.audit.actions("runbook.request")] == ["invalid"]


def fields(card: Reply) -> dict[str, str]:
    """Label → value of the card's first field list (what, who, until when)."""
    return dict(next(b for b in card.blocks if isinstance(b, Fields)).items)


async def test_card_shows_calls_impact_policy_and_expiry(env: Env) -> None:
    result = await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
    assert result.accepted
    assert result.request_id is not None
    card = result.reply
    jid = await job_id(env.client)
    job = (await env.client.get_job(jid)).value
    # What will happen: every step with the exact call it makes, nothing else.
    steps = next(b for b in card.blocks if isinstance(b, Table) and b.columns[-1] == "TWS call")
    assert steps.rows == (
        ("1", f"rerun {job.qualified_name}", f"PUT /twsd/api/v2/plan/job/{jid}/action/rerun"),
    )
    # The impact: the direct successors, and the deadline the rerun puts at risk.
    successors = (await env.client.job_successors(jid)).value
    assert [f"{d.job_stream_name}.{d.name}" for d in successors] == [
        "PAYROLL_DAILY.PAYROLL_VALIDATE"
    ]
    impact = next(
        b.text for b in card.blocks if isinstance(b, Paragraph) and "Successors" in b.text
    )
    assert impact == (
        "Successors affected: PAYROLL_DAILY.PAYROLL_VALIDATE\n"
        "Deadlines at risk: MASTER#PAYROLL_DAILY.PAYROLL_VALIDATE (deadline 21:17 UTC)"
    )
    # Who may approve, how many, until when, and what is asked for.
    expires = (env.clock[0] + timedelta(minutes=30)).astimezone(UTC)
    assert fields(card) == {
        "Requested by": "requester",
        "Parameters": f"job={job.qualified_name}",
        "Risk": "medium",
        "Reversible": "no",
        "Who may approve": "group ops (60 people); 1 distinct approver(s); never the requester",
        "Approvals": "0 of 1",
        "Expires": expires.strftime("%Y-%m-%d %H:%M UTC"),
        "Status": "waiting for approval",
    }
    # The buttons carry signed values that decision_from_click accepts as they are...
    kinds = {
        "Approve": DecisionKind.APPROVE,
        "Reject": DecisionKind.REJECT,
        "Dry run": DecisionKind.DRY_RUN,
    }
    assert set(buttons(card)) == set(kinds)
    decisions = {}
    for label, (action_id, value) in buttons(card).items():
        assert action_id == ACTION_IDS[kinds[label]]
        decision = env.service.decision_from_click(
            action_id=action_id, value=value, actor=actor("approver1")
        )
        assert (decision.request_id, decision.decision) == (result.request_id, kinds[label])
        decisions[label] = decision
    assert len({d.nonce for d in decisions.values()}) == 1  # one round, one nonce
    # ...and refuses every tampered one: another request, another decision, a bad signature.
    action_id, value = buttons(card)["Approve"]
    rid, kind, nonce, sig = value.split(".")
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    for tampered_action, tampered in (
        (action_id, f"{rid[:-1]}x.{kind}.{nonce}.{sig}"),
        (action_id, f"{rid}.{kind}.{nonce}.{flipped}"),
        (action_id, f"{rid}.reject.{nonce}.{sig}"),
        (ACTION_IDS[DecisionKind.REJECT], value),
        (action_id, f"{rid}.{kind}.{nonce}"),
    ):
        with pytest.raises(ForgedValueError):
            env.service.decision_from_click(
                action_id=tampered_action, value=tampered, actor=actor("approver1")
            )
    assert await reruns(env.client) == 0  # showing and checking a card changes nothing
    answer = await env.service.decide(decisions["Approve"])
    assert answer.status == DecisionStatus.EXECUTED
    assert await reruns(env.client) == 1


async def test_a_key_given_twice_is_refused_and_nothing_is_queued(env: Env) -> None:
    result = await env.service.request_text(
        text=f"/tws run quick-rerun job={JOB} job=BILLING_USAGE.BILLING_CDR_DEDUP",
        actor=REQUESTER,
    )
    assert not result.accepted
    assert result.reply.headline == "Cannot read that run command"
    assert result.reply.plain_text().endswith("- job is given twice\nNothing was queued.")
    assert await env.service.journal.active() == []
    assert await reruns(env.client) == 0


async def test_a_key_given_twice_in_chat_is_refused(env: Env) -> None:
    assistant = Assistant(
        scheduler=env.client,
        checkpointer=InMemorySaver(),
        zone=ZoneInfo("UTC"),
        runbooks=env.service,
    )
    reply = await assistant.ask(
        ChatEvent(
            event_id="e1",
            actor=REQUESTER,
            channel_id="C1",
            text=f"run quick-rerun job={JOB} job=BILLING_USAGE.BILLING_CDR_DEDUP",
        )
    )
    assert reply.headline == "Cannot read that run command"
    assert "job is given twice" in reply.plain_text()
    assert not any(isinstance(b, Actions) for b in reply.blocks)  # no card, nothing to approve
    assert await env.service.journal.active() == []


async def test_self_approval_and_ineligible_approver_are_refused(env: Env) -> None:
    card = (
        await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
    ).reply
    mine = await click(env.service, card, "Approve", REQUESTER)
    assert mine.status == DecisionStatus.REFUSED
    assert "self-approval" in mine.message
    stranger = await click(env.service, card, "Approve", actor("mallory"))
    assert stranger.status == DecisionStatus.REFUSED
    assert "not an approver" in stranger.message
    assert await reruns(env.client) == 0
    ok = await click(env.service, card, "Approve", actor("approver1"))
    assert ok.status == DecisionStatus.EXECUTED
    assert await reruns(env.client) == 1
    outcomes = [r["outcome"] for r in env.audit.actions("runbook.decision")]
    assert outcomes == ["refused", "refused", "approved"]
    # The call's intent is recorded before it is made, its result after.
    assert [r["outcome"] for r in env.audit.actions("runbook.tws_call")] == ["intent", "ok"]
    assert [r["outcome"] for r in env.audit.actions("runbook.outcome")] == ["succeeded"]
    assert ok.card is not None
    assert "approver1" in ok.card.plain_text()


async def test_forged_and_altered_button_values_are_refused(env: Env) -> None:
    result = await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
    card = result.reply
    action_id, value = buttons(card)["Approve"]
    rid, kind, nonce, _sig = value.split(".")
    with pytest.raises(ForgedValueError):
        env.service.decision_from_click(
            action_id=action_id, value=f"{rid}.{kind}.{nonce}.{'0' * 32}", actor=actor("approver1")
        )
    _, reject_value = buttons(card)["Reject"]
    with pytest.raises(ForgedValueError):  # a reject value sent as an approve click
        env.service.decision_from_click(
            action_id=action_id, value=reject_value, actor=actor("approver1")
        )
    forged = Decision(
        request_id=rid,
        decision=DecisionKind.APPROVE,
        actor_identity="approver1@example.com",
        actor_user_id="U1",
        actor_platform="slack",
        nonce=nonce,
        signature="f" * 32,
    )
    answer = await env.service.decide(forged)
    assert answer.status == DecisionStatus.REFUSED
    assert "forged" in answer.message
    assert await reruns(env.client) == 0
    assert [r["outcome"] for r in env.audit.actions("runbook.decision")] == ["forged"]


async def test_expired_request_cannot_be_approved(env: Env) -> None:
    card = (
        await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
    ).reply
    env.clock[0] += timedelta(minutes=31)
    answer = await click(env.service, card, "Approve", actor("approver1"))
    assert answer.status == DecisionStatus.EXPIRED
    again = await click(env.service, card, "Approve", actor("approver2"))
    assert again.status == DecisionStatus.ALREADY
    assert "expired" in again.message
    assert await reruns(env.client) == 0
    assert len(env.audit.actions("runbook.expired")) == 1
    assert env.audit.actions("runbook.outcome")[0]["outcome"] == "expired"
    assert await env.service.journal.active() == []


async def test_rejection_ends_the_request(env: Env) -> None:
    card = (
        await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
    ).reply
    no = await click(env.service, card, "Reject", actor("approver2"))
    assert no.status == DecisionStatus.REJECTED
    assert no.card is not None
    assert "approver2" in no.card.plain_text()
    assert "rejected" in no.card.plain_text()
    late = await click(env.service, card, "Approve", actor("approver1"))
    assert late.status == DecisionStatus.ALREADY
    assert await reruns(env.client) == 0


async def test_min_distinct_approvers_and_repeated_clicks(env: Env) -> None:
    card = (
        await env.service.request_text(text=f"/tws run two-approvers job={JOB}", actor=REQUESTER)
    ).reply
    first = await click(env.service, card, "Approve", actor("approver1"))
    assert first.status == DecisionStatus.RECORDED
    assert "1 more" in first.message
    twice = await click(env.service, card, "Approve", actor("approver1"))  # double click / retry
    assert twice.status == DecisionStatus.ALREADY
    assert await reruns(env.client) == 0
    second = await click(env.service, card, "Approve", actor("approver2"))
    assert second.status == DecisionStatus.EXECUTED
    replay = await click(env.service, card, "Approve", actor("approver3"))  # platform retry
    assert replay.status == DecisionStatus.ALREADY
    assert await reruns(env.client) == 1


async def test_dry_run_changes_nothing(env: Env) -> None:
    card = (
        await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
    ).reply
    answer = await click(env.service, card, "Dry run", actor("approver1"))
    assert answer.status == DecisionStatus.DRY_RUN
    assert answer.outcome is not None
    assert "would call PUT" in answer.outcome.plain_text()
    assert await reruns(env.client) == 0


async def test_plan_change_after_approval_goes_back_to_approval(tmp_path: Path) -> None:
    store = await redis_store()
    async with simulator() as (_sim, client):
        jid = await job_id(client)
        changed: list[str] = []

        async def hook(request_id: str, phase: str) -> None:
            if phase == "before_recheck" and not changed:
                changed.append(request_id)
                await client.job_action(jid, JobAction.CONFIRM_SUCC)  # someone fixed it by hand

        posts = Posts()
        service = make_service(
            catalog=write_test_catalog(tmp_path),
            client=client,
            store=store,
            checkpointer=InMemorySaver(),
            progress=posts,
            on_phase=hook,
        )
        card = (
            await service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
        ).reply
        answer = await click(service, card, "Approve", actor("approver1"))
        assert answer.status == DecisionStatus.RECORDED
        assert "changed" in answer.message
        assert (await client.get_job(jid)).value.rerun_count == 0
        record = await service.journal.load(changed[0])
        assert record is not None
        assert record.status == RequestStatus.PENDING
        assert record.round == 2
        stale = await click(service, card, "Approve", actor("approver2"))
        assert stale.status == DecisionStatus.REFUSED
        assert "out of date" in stale.message
        new_card = posts.replies[-1][1]
        assert "plan state changed" in new_card.plain_text()
        final = await click(service, new_card, "Approve", actor("approver2"))
        assert final.status == DecisionStatus.EXECUTED
        assert (await client.get_job(jid)).value.rerun_count == 1  # rerun of a SUCC job is valid
    await store.close()


async def test_parameter_change_after_approval_goes_back_to_approval(env: Env) -> None:
    result = await env.service.request_text(
        text=f"/tws run two-approvers job={JOB}", actor=REQUESTER
    )
    rid = result.request_id
    assert rid is not None
    await click(env.service, result.reply, "Approve", actor("approver1"))
    async with env.service.journal.locked(rid):  # the stored parameters are changed under it
        record = await env.service.journal.load(rid)
        assert record is not None
        other = await job_id(env.client, "BILLING_USAGE.BILLING_CDR_DEDUP")
        record.params["job"] = {**record.params["job"], "ref": other}
        await env.service.journal.save(record)
    answer = await click(env.service, result.reply, "Approve", actor("approver2"))
    assert answer.status == DecisionStatus.RECORDED
    record = await env.service.journal.load(rid)
    assert record is not None
    assert record.status == RequestStatus.PENDING
    assert record.round == 2
    assert record.params["job"]["ref"] == await job_id(
        env.client
    )  # re-resolved from what was typed
    assert "parameters changed" in record.history[-1].what
    assert await reruns(env.client) == 0
    assert (await env.client.get_job(other)).value.rerun_count == 0


async def test_read_only_runbook_runs_without_approval(env: Env) -> None:
    result = await env.service.request_text(
        text="/tws run workstation-down workstation=AGT_LNX01", actor=REQUESTER
    )
    assert result.accepted
    assert "done" in result.reply.headline
    assert any("Workstation AGT_LNX01" in r.headline for _, r in env.posts.replies)


async def test_job_stream_hold_and_release_runbooks(env: Env) -> None:
    held = await env.service.request_text(
        text="/tws run hold-job-stream stream=PAYROLL_DAILY", actor=REQUESTER
    )
    assert held.accepted, held.reply.plain_text()
    assert "/action/hold" in held.reply.plain_text()  # the exact call, on the card
    answer = await click(env.service, held.reply, "Approve", actor("approver1"))
    assert answer.status == DecisionStatus.EXECUTED
    stream = (await env.client.query_job_streams(name="PAYROLL_DAILY")).value[0]
    assert stream.status.value == "HOLD"
    released = await env.service.request_text(
        text="/tws run release-job-stream stream=PAYROLL_DAILY", actor=REQUESTER
    )
    answer = await click(env.service, released.reply, "Approve", actor("approver1"))
    assert answer.status == DecisionStatus.EXECUTED
    stream = (await env.client.query_job_streams(name="PAYROLL_DAILY")).value[0]
    assert stream.status.value != "HOLD"


async def test_a_request_the_plan_already_rules_out_is_refused_upfront(env: Env) -> None:
    jid = await job_id(env.client)
    await env.client.job_action(jid, JobAction.RERUN)  # now EXEC: the first check would fail
    result = await env.service.request_text(
        text=f"/tws run rerun-then-confirm job={JOB}", actor=REQUESTER
    )
    assert not result.accepted
    assert result.request_id is None  # nothing queued, nobody asked to approve
    assert "is EXEC; this runbook needs" in result.reply.plain_text()
    job = (await env.client.get_job(jid)).value
    assert job.status == JobStatus.EXEC
    assert job.rerun_count == 1
    assert await env.service.recover() == []


async def test_shipped_rerun_runbook_reports_each_step_in_the_thread(env: Env) -> None:
    result = await env.service.request_text(
        text=f"/tws run rerun-abended-job job={JOB}", actor=REQUESTER, channel="C1", thread="T1"
    )
    answer = await click(env.service, result.reply, "Approve", actor("approver7"))
    assert answer.status == DecisionStatus.EXECUTED
    headlines = [reply.headline for rid, reply in env.posts.replies if rid == result.request_id]
    assert headlines[0].startswith("rerun-abended-job step 1/4: the job is ABEND or FAIL: done")
    assert headlines[1].startswith("rerun-abended-job step 2/4: rerun the job: done")
    assert headlines[2].startswith("rerun-abended-job step 3/4: wait until it runs: done")
    assert "was rerun" in headlines[3]
    assert headlines[-1] == "Runbook rerun-abended-job: done"
    assert await reruns(env.client) == 1
    request = env.audit.actions("runbook.request")[0]
    assert request["channel"] == "C1"
    assert request["thread"] == "T1"
    assert request["actor_identity"] == REQUESTER.identity


async def test_self_approval_is_refused_whatever_form_the_identity_takes(env: Env) -> None:
    # The requester's e-mail lookup failed (identity "slack:UREQ"); on the click it worked,
    # and the e-mail is an eligible approver's. Same Slack user: still the requester.
    requester = Actor(platform=Platform.SLACK, user_id="UREQ", display_name="Req")
    same_person_with_email = Actor(
        platform=Platform.SLACK, user_id="UREQ", display_name="Req", email="approver1@example.com"
    )
    card = (
        await env.service.request_text(text=f"/tws run quick-rerun job={JOB}", actor=requester)
    ).reply
    answer = await click(env.service, card, "Approve", same_person_with_email)
    assert answer.status == DecisionStatus.REFUSED
    assert "self-approval is never allowed" in answer.message
    assert (await env.client.get_job(await job_id(env.client))).value.rerun_count == 0


def test_same_person_matches_identity_or_platform_user() -> None:
    assert same_person(
        identity="slack:U1",
        platform="slack",
        user_id="U1",
        other_identity="a@example.com",
        other_platform="slack",
        other_user_id="U1",
    )
    assert same_person(
        identity="A@Example.com",
        platform="teams",
        user_id="aad-1",
        other_identity="a@example.com",
        other_platform="slack",
        other_user_id="U1",
    )
    assert not same_person(
        identity="b@example.com",
        platform="slack",
        user_id="U2",
        other_identity="a@example.com",
        other_platform="slack",
        other_user_id="U1",
    )
    assert not same_person(  # the same id on another platform is someone else
        identity="x@example.com",
        platform="teams",
        user_id="U1",
        other_identity="a@example.com",
        other_platform="slack",
        other_user_id="U1",
    )
