"""The approval rules, as pure functions: no store, no clock, no I/O.

- `transition`: one decision on a request's record → the new record and what to tell the
  clicker (`Transition`). The caller holds the request's lock, saves ``Transition.record``
  when it is set, and follows ``Transition.follow``.
- The expiry rule (`expires_at`, `is_expired`) and the binding rule (`bind`,
  `binding_holds`) are written here once; intake, decisions, the flow's nodes and recovery
  all use them.
- `reopen` starts a new approval round when the binding no longer holds.
- `grant_by_rule`: an auto-remediation rule's approval (`DecisionKind.RULE`): one approval
  by ``rule:<name>`` that completes the policy, on a pending request only. Whether a rule
  may grant the runbook at all is decided before (`agents.runbooks.rulegrant`).

Who may decide needs the approval policy and, for group references, a directory lookup; that
is asynchronous, so the caller asks it first (`agents.runbooks.deciding`) and passes the
verdict in as ``eligibility``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from agents.runbooks.catalog import ApprovalSpec, Runbook
from agents.runbooks.decisions import Decision, DecisionKind, DecisionStatus
from agents.runbooks.identity import same_person
from agents.runbooks.journal import Approval, HistoryEntry, RequestRecord, RequestStatus
from agents.runbooks.params import ResolvedParam
from agents.runbooks.planstate import PlanState, binding_hash

__all__ = [
    "RESYNC",
    "Follow",
    "Transition",
    "bind",
    "binding_holds",
    "expire",
    "expires_at",
    "grant_by_rule",
    "is_expired",
    "reopen",
    "rule_identity",
    "settled_message",
    "transition",
]

RESYNC = "resync"
"""Who the history names when Resync itself changed the request."""
RULE_PLATFORM = "rule"
"""The ``platform`` of an approval granted by an auto-remediation rule."""

_READ_ONLY_EXPIRY_MINUTES = 5  # a read-only run needs no approval; it starts at once anyway


class Follow(StrEnum):
    """What the caller does after a transition."""

    NOTHING = "nothing"  # nothing changed (refused, already decided, a dry run)
    SAVE = "save"  # save the record (an approval counted, more needed)
    RUN = "run"  # save, then drive the run: this approval completed the policy
    END = "end"  # save, then drive the flow to its end (rejected or expired)


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of one decision.

    Attributes:
        status: How the decision was taken.
        message: One line for the clicker ("" for a dry run: the caller words it).
        record: The new record to save, None when the decision changed nothing.
        follow: What the caller does next.
    """

    status: DecisionStatus
    message: str
    record: RequestRecord | None = None
    follow: Follow = Follow.NOTHING


def expires_at(*, runbook: Runbook, now: datetime) -> datetime:
    """When a request (or a new approval round) made ``now`` expires."""
    minutes = runbook.approval.expires_minutes if runbook.approval else _READ_ONLY_EXPIRY_MINUTES
    return now + timedelta(minutes=minutes)


def is_expired(*, record: RequestRecord, now: datetime) -> bool:
    """True when a pending request can no longer be approved."""
    return record.status == RequestStatus.PENDING and now >= record.expires_at


def bind(*, runbook: Runbook, params: Mapping[str, ResolvedParam], plan: PlanState) -> str:
    """The binding an approval is given to: runbook id, version, definition, parameters, plan."""
    return binding_hash(
        runbook_id=runbook.id,
        version=runbook.version,
        digest=runbook.digest,
        params=params,
        plan=plan.digest,
    )


def binding_holds(*, record: RequestRecord, runbook: Runbook, current: str) -> bool:
    """True when what was approved is exactly what would run now.

    Args:
        record: The approved request.
        runbook: Its runbook as the catalog holds it now.
        current: `bind` over the parameters and plan as re-read now.

    Returns:
        False when the plan, the parameters or the runbook changed, when the stored record
        no longer matches its own binding (edited under it), or when an approval was given
        to another binding.
    """
    stored = binding_hash(
        runbook_id=record.runbook_id,
        version=record.version,
        digest=record.digest,
        params=record.resolved(),
        plan=record.plan_digest,
    )
    approved = {a.binding for a in record.approvals} if runbook.changes_plan else {record.binding}
    return current == record.binding == stored and approved == {current}


def settled_message(record: RequestRecord) -> str:
    """What a click on a request that is no longer pending is told."""
    if record.status == RequestStatus.NEEDS_PERSON:
        return "This request has already stopped; a person must look (see its thread)."
    if record.status.final:
        return f"This request is already {record.status.value}."
    return "Already approved: the run is in progress (or done)."


def _note(record: RequestRecord, *, now: datetime, who: str, what: str) -> None:
    record.history.append(HistoryEntry(at=now, who=who, what=what))


def expire(*, record: RequestRecord, now: datetime) -> RequestRecord:
    """A copy of a pending request, expired."""
    new = record.model_copy(deep=True)
    new.status = RequestStatus.EXPIRED
    _note(new, now=now, who=RESYNC, what="expired")
    return new


def transition(
    *,
    record: RequestRecord,
    decision: Decision,
    policy: ApprovalSpec | None,
    eligibility: str | None,
    now: datetime,
) -> Transition:
    """Apply one decision to a request.

    Args:
        record: The request as stored (not modified).
        decision: The click, signature already verified.
        policy: The runbook's approval policy (None: read only, nothing to approve).
        eligibility: Why this clicker may not approve or reject, None when they may.
        now: The server's time.

    Returns:
        What happened, the new record when it changed, and what to do next.
    """
    if record.status != RequestStatus.PENDING:
        return Transition(DecisionStatus.ALREADY, settled_message(record))
    if decision.nonce != record.nonce:
        return Transition(
            DecisionStatus.REFUSED,
            "This card is out of date (the request changed); use the latest card.",
        )
    if is_expired(record=record, now=now):
        return Transition(
            DecisionStatus.EXPIRED,
            "This request expired; ask again.",
            expire(record=record, now=now),
            Follow.END,
        )
    if decision.decision == DecisionKind.DRY_RUN:
        return Transition(DecisionStatus.DRY_RUN, "")
    if decision.decision == DecisionKind.RULE:  # rules approve through grant_by_rule only
        return Transition(DecisionStatus.REFUSED, "A rule's approval is not a click.")
    who = decision.actor_name or decision.actor_identity
    if decision.decision == DecisionKind.REJECT:
        if eligibility is not None:
            return Transition(
                DecisionStatus.REFUSED, f"you may not reject this request: {eligibility}"
            )
        new = record.model_copy(deep=True)
        new.status = RequestStatus.REJECTED
        _note(new, now=now, who=who, what="rejected")
        return Transition(DecisionStatus.REJECTED, "Rejected; nothing will run.", new, Follow.END)
    if eligibility is not None:
        return Transition(DecisionStatus.REFUSED, eligibility)
    if any(
        same_person(
            identity=decision.actor_identity,
            platform=decision.actor_platform,
            user_id=decision.actor_user_id,
            other_identity=a.identity,
            other_platform=a.platform,
            other_user_id=a.user_id,
        )
        for a in record.approvals
    ):
        return Transition(DecisionStatus.ALREADY, "Your approval is already counted.")
    new = record.model_copy(deep=True)
    new.approvals.append(
        Approval(
            identity=decision.actor_identity.lower(),
            user_id=decision.actor_user_id,
            platform=decision.actor_platform,
            name=who,
            at=now,
            binding=record.binding,
        )
    )
    _note(new, now=now, who=who, what="approved")
    needed = policy.min_approvers if policy else 1
    if len({a.identity for a in new.approvals}) >= needed:
        new.status = RequestStatus.APPROVED
        return Transition(DecisionStatus.APPROVED, "Approved: running now.", new, Follow.RUN)
    left = needed - len(new.approvals)
    return Transition(
        DecisionStatus.RECORDED,
        f"Approval recorded; {left} more distinct approver(s) needed.",
        new,
        Follow.SAVE,
    )


def rule_identity(rule: str) -> str:
    """The approver identity of an auto-remediation rule: ``rule:<name>``."""
    return f"{RULE_PLATFORM}:{rule}"


def grant_by_rule(
    *, record: RequestRecord, rule: str, refusal: str | None, now: datetime
) -> Transition:
    """Apply an auto-remediation rule's approval to a request.

    The rule's approval stands for the whole policy (however many people it asks for):
    what a rule may grant is restricted beforehand (``rules_may_grant`` in the approval
    policy, never a high-risk runbook), and the run is still bound to the plan as read
    when the request was made, so the usual recheck sends a moved plan back to approval.

    Args:
        record: The request as stored (not modified).
        rule: The rule's name.
        refusal: Why the rule may not grant this runbook, None when it may.
        now: The server's time.

    Returns:
        APPROVED with ``Follow.RUN``; REFUSED, EXPIRED or ALREADY otherwise.
    """
    if record.status != RequestStatus.PENDING:
        return Transition(DecisionStatus.ALREADY, settled_message(record))
    if is_expired(record=record, now=now):
        return Transition(
            DecisionStatus.EXPIRED,
            "This request expired; ask again.",
            expire(record=record, now=now),
            Follow.END,
        )
    if refusal is not None:
        return Transition(DecisionStatus.REFUSED, refusal)
    new = record.model_copy(deep=True)
    name = f"rule {rule}"
    new.approvals.append(
        Approval(
            identity=rule_identity(rule),
            user_id=rule,
            platform=RULE_PLATFORM,
            name=name,
            at=now,
            binding=record.binding,
        )
    )
    _note(new, now=now, who=name, what="approved (auto-remediation)")
    new.status = RequestStatus.APPROVED
    return Transition(DecisionStatus.APPROVED, "Approved by rule: running now.", new, Follow.RUN)


def reopen(
    *,
    record: RequestRecord,
    runbook: Runbook,
    params: Mapping[str, ResolvedParam],
    plan: PlanState,
    reason: str,
    now: datetime,
) -> RequestRecord:
    """A copy of an approved request sent back to approval: a new round, nonce and expiry.

    Args:
        record: The approved request whose binding no longer holds.
        runbook: Its runbook now.
        params: The parameters as re-resolved now.
        plan: The plan state now.
        reason: Why (shown in the history and the new card).
        now: The server's time.

    Returns:
        The new record; earlier approvals are dropped, old cards no longer verify.
    """
    new = record.model_copy(deep=True)
    new.round += 1
    new.nonce = secrets.token_hex(8)
    new.approvals = []
    new.status = RequestStatus.PENDING
    new.version, new.digest = runbook.version, runbook.digest
    new.params = {name: p.as_dict() for name, p in params.items()}
    new.plan_digest, new.plan_items = plan.digest, plan.items
    new.binding = bind(runbook=runbook, params=params, plan=plan)
    new.expires_at = expires_at(runbook=runbook, now=now)
    _note(new, now=now, who=RESYNC, what=f"{reason}: approve again")
    return new
