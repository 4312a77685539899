"""A runbook requested and approved by an auto-remediation rule, on the simulator over HTTP.

The rule's approval is one approval by ``rule:<name>`` that completes the policy, only for
runbooks the approval policy lists in ``rules_may_grant`` and never a high-risk one; the
request is still validated against the live plan, run once, and audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    KEY,
    AuditTrail,
    Posts,
    job_id,
    simulator,
    write_test_catalog,
)

from agents.messages import Actor, Platform
from agents.runbooks.decisions import Decision, DecisionKind, DecisionStatus
from agents.runbooks.journal import RequestStatus
from agents.runbooks.policy import ApprovalGroups
from agents.runbooks.service import RuleRequest, RunbookService
from agents.runbooks.signing import ButtonSigner, ForgedValueError
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient

RESYNC = Actor(platform=Platform.SLACK, user_id="resync", display_name="Resync (rule r1)")
MEMBERS = ["approver1@example.com", "approver2@example.com"]


@dataclass
class Env:
    service: RunbookService
    client: TWSClient
    audit: AuditTrail
    posts: Posts


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    groups = ApprovalGroups(
        {"ops": MEMBERS, "tws-operators": MEMBERS, "tws-admins": MEMBERS},
        rules_may_grant=["quick-rerun", "two-approvers", "rerun-abended-job"],
    )
    async with simulator() as (_sim, client):
        audit, posts = AuditTrail(), Posts()
        service = RunbookService(
            catalog=write_test_catalog(tmp_path / "runbooks"),
            groups=groups,
            scheduler=client,
            store=MemoryStore(),
            checkpointer=InMemorySaver(),
            signer=ButtonSigner(KEY),
            audit=audit,
            progress=posts,
            poll_seconds=0.01,
        )
        yield Env(service, client, audit, posts)


async def reruns(client: TWSClient, qualified: str = JOB) -> int:
    return (await client.get_job(await job_id(client, qualified))).value.rerun_count


async def ask(env: Env, runbook: str, job: str = JOB, rule: str = "r1") -> RuleRequest:
    return await env.service.request_by_rule(
        rule=rule,
        runbook_id=runbook,
        values={"job": job},
        actor=RESYNC,
        channel="CALERTS",
        thread="1.1",
        details={"attempt": 1},
    )


async def test_a_rule_approves_and_the_run_happens_once_audited(env: Env) -> None:
    asked = await ask(env, "quick-rerun")
    assert asked.granted
    assert asked.request_id is not None
    assert asked.reason == ""
    assert await reruns(env.client) == 0  # approved, not started: the caller announces first
    await env.service.run(asked.request_id)
    assert await reruns(env.client) == 1
    record = await env.service.journal.load(asked.request_id)
    assert record is not None
    assert record.status is RequestStatus.SUCCEEDED
    assert [a.identity for a in record.approvals] == ["rule:r1"]
    assert record.requester_identity == "slack:resync"
    (approve,) = env.audit.actions("runbook.approve")
    assert approve["outcome"] == "approved"
    assert approve["actor_identity"] == "rule:r1"
    assert approve["parameters"]["rule"] == "r1"
    assert approve["parameters"]["attempt"] == 1
    assert approve["correlation"]["request_id"] == asked.request_id
    (requested,) = env.audit.actions("runbook.request")
    assert requested["outcome"] == "pending"
    assert requested["actor_identity"] == "slack:resync"
    (intent,) = [r for r in env.audit.actions("runbook.tws_call") if r["outcome"] == "intent"]
    assert intent["parameters"]["approvers"] == ["rule:r1"]
    # The progress went to the request's thread (the alert's), on the requester's platform.
    assert env.posts.platforms
    assert set(env.posts.platforms) == {"slack"}
    # Running it again (another replica, a retry) changes nothing.
    await env.service.run(asked.request_id)
    assert await reruns(env.client) == 1


async def test_the_rule_stands_for_a_two_approver_policy_but_never_for_high_risk(
    env: Env,
) -> None:
    # two-approvers is listed but risk: high, so no rule may approve it.
    asked = await ask(env, "two-approvers")
    assert not asked.granted
    assert asked.request_id is None
    assert "high-risk" in asked.reason
    assert await env.service.journal.active() == []
    (refused,) = env.audit.actions("runbook.approve")
    assert refused["outcome"] == "refused"
    assert refused["actor_identity"] == "rule:r1"
    assert "high-risk" in refused["parameters"]["reason"]
    assert await reruns(env.client) == 0


async def test_a_runbook_the_policy_does_not_list_is_refused_before_any_request(
    env: Env,
) -> None:
    assert env.service.rule_refusal("rerun-and-wait") is not None
    asked = await ask(env, "rerun-and-wait")
    assert not asked.granted
    assert "rules_may_grant" in asked.reason
    assert env.audit.actions("runbook.request") == []
    assert await env.service.journal.active() == []
    assert env.service.rule_refusal("quick-rerun") is None


async def test_a_request_the_plan_rules_out_is_refused_with_the_reason(env: Env) -> None:
    succeeded = "PAYROLL_DAILY.PAYROLL_INIT"  # SUCC: rerun-abended-job does not apply
    asked = await ask(env, "rerun-abended-job", job=succeeded)
    assert not asked.granted
    reason = asked.reason
    assert "does not apply right now" in reason
    assert "SUCC" in reason
    assert [r["outcome"] for r in env.audit.actions("runbook.request")] == ["invalid"]
    assert env.audit.actions("runbook.approve") == []
    assert await reruns(env.client, succeeded) == 0


async def test_a_second_grant_of_the_same_request_runs_nothing_more(env: Env) -> None:
    asked = await ask(env, "quick-rerun")
    rid = asked.request_id
    assert rid is not None
    again = await asyncio.gather(*(env.service.grant_by_rule(rid, rule="r2") for _ in range(3)))
    assert [a.granted for a in again] == [False, False, False]
    assert all("Already approved" in a.reason for a in again)
    await asyncio.gather(*(env.service.run(rid) for _ in range(3)))
    assert await reruns(env.client) == 1
    outcomes = sorted(r["outcome"] for r in env.audit.actions("runbook.approve"))
    assert outcomes == ["already", "already", "already", "approved"]


async def test_a_rules_approval_is_never_a_button(env: Env) -> None:
    signer = ButtonSigner(KEY)
    value = signer.value(request_id="abc", decision=DecisionKind.RULE, nonce="n")
    with pytest.raises(ForgedValueError):
        signer.parse(action_id="runbook.rule", value=value)
    with pytest.raises(ForgedValueError):
        signer.parse(action_id="runbook.approve", value=value)
    # Even a correctly signed RULE decision handed to decide() approves nothing.
    asked = await ask(env, "quick-rerun")
    pending = await env.service.request(
        runbook_id="quick-rerun",
        values={"job": "BILLING_USAGE.BILLING_CDR_DEDUP"},
        actor=RESYNC,
    )
    assert asked.granted
    assert pending.request_id is not None
    record = await env.service.journal.load(pending.request_id)
    assert record is not None
    decision = Decision(
        request_id=record.id,
        decision=DecisionKind.RULE,
        actor_identity="approver1@example.com",
        actor_user_id="U1",
        actor_platform="slack",
        nonce=record.nonce,
        signature=signer.signature(
            request_id=record.id, decision=DecisionKind.RULE, nonce=record.nonce
        ),
    )
    answer = await env.service.decide(decision)
    assert answer.status is DecisionStatus.REFUSED
    assert await env.service.journal.load(record.id) == record
