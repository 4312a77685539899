"""`RunbookAudit`: the one way a runbook audit record is written, and the policy for failures.

Every record about a runbook request (``runbook.request``, ``runbook.decision``,
``runbook.approve`` (an auto-remediation rule's approval), ``runbook.expired``,
``runbook.reapproval``, ``runbook.tws_call``, ``runbook.outcome``) is built here and goes
through `RunbookAudit._write`, so they all carry the same actor, thread and correlation
fields (``request_id``, ``round``).

The policy, in one place:

- **Before a plan change** (`RunbookAudit.plan_change`, outcome ``intent``) the write must
  succeed: a failure raises `AuditWriteError` and the executor does not call TWS. A change
  nobody can trace afterwards is worse than a change not made.
- **Everything else** is best effort: a failing audit log is logged (``runbook.audit_failed``)
  and the request goes on, because the record describes something that already happened (a
  decision, a call that was made) and hiding it from the person would not undo it.

Without a sink (tests, the terminal demo) nothing is recorded and nothing is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog

from agents.messages import Actor
from agents.runbooks.decisions import Decision
from agents.runbooks.errors import AuditWriteError
from agents.runbooks.journal import RequestRecord
from integrations.audit.sink import AuditSink

__all__ = ["RunbookAudit"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One audit record, in the fields `AuditSink.record` takes."""

    action: str
    outcome: str
    actor_id: str | None
    actor_identity: str | None
    platform: str | None
    channel: str | None
    thread: str | None
    target: str | None
    parameters: dict[str, object] = field(default_factory=dict)
    correlation: dict[str, str] = field(default_factory=dict)


def _about(
    record: RequestRecord,
    *,
    action: str,
    outcome: str,
    target: str | None,
    parameters: Mapping[str, object] | None,
    actor: tuple[str, str, str] | None = None,
) -> _Entry:
    """An entry about a request; ``actor`` is (user id, identity, platform), default the requester."""
    user_id, identity, platform = actor or (
        record.requester_id,
        record.requester_identity,
        record.requester_platform,
    )
    return _Entry(
        action=action,
        outcome=outcome,
        actor_id=user_id,
        actor_identity=identity,
        platform=platform,
        channel=record.channel,
        thread=record.thread,
        target=target,
        parameters={"runbook": record.runbook_id, "version": record.version, **(parameters or {})},
        correlation={"request_id": record.id, "round": str(record.round)},
    )


class RunbookAudit:
    """Writes the runbook audit records through an `AuditSink`."""

    def __init__(self, sink: AuditSink | None) -> None:
        """Use ``sink`` (None: record nothing).

        Args:
            sink: The audit log.
        """
        self._sink = sink

    async def request_event(
        self,
        *,
        action: str,
        outcome: str,
        record: RequestRecord,
        target: str | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> None:
        """Record something that happened to a request (best effort), in the requester's name.

        Args:
            action: E.g. ``runbook.request``, ``runbook.expired``, ``runbook.tws_call``.
            outcome: What happened.
            record: The request.
            target: The object acted on.
            parameters: Details.
        """
        await self._write(
            _about(record, action=action, outcome=outcome, target=target, parameters=parameters),
            required=False,
        )

    async def plan_change(
        self, *, record: RequestRecord, target: str, parameters: Mapping[str, object]
    ) -> None:
        """Record that a TWS call is about to change the plan; it must be written first.

        Args:
            record: The request.
            target: The object the call changes (as people read it).
            parameters: The exact call, the step, the approvers, the state before.

        Raises:
            AuditWriteError: The audit log did not take the record: do not make the call.
        """
        await self._write(
            _about(
                record,
                action="runbook.tws_call",
                outcome="intent",
                target=target,
                parameters=parameters,
            ),
            required=True,
        )

    async def click(
        self, *, decision: Decision, outcome: str, record: RequestRecord | None
    ) -> None:
        """Record a decision on a card (best effort), in the clicker's name.

        Args:
            decision: The click.
            outcome: How it was taken (a `DecisionStatus` value, or ``forged``).
            record: The request, when it exists (a forged value may name none).
        """
        who = (decision.actor_user_id, decision.actor_identity, decision.actor_platform)
        details = {"decision": decision.decision.value}
        if record is not None:
            entry = _about(
                record,
                action="runbook.decision",
                outcome=outcome,
                target=record.runbook_id,
                parameters=details,
                actor=who,
            )
        else:
            entry = _Entry(
                action="runbook.decision",
                outcome=outcome,
                actor_id=decision.actor_user_id,
                actor_identity=decision.actor_identity,
                platform=decision.actor_platform,
                channel=None,
                thread=None,
                target=None,
                parameters=dict(details),
                correlation={"request_id": decision.request_id},
            )
        await self._write(entry, required=False)

    async def rule_grant(
        self,
        *,
        rule: str,
        outcome: str,
        runbook_id: str,
        record: RequestRecord | None,
        parameters: Mapping[str, object],
        channel: str | None = None,
        thread: str | None = None,
    ) -> None:
        """Record an auto-remediation rule's approval (``runbook.approve``), in the rule's name.

        Args:
            rule: The rule's name (the actor is ``rule:<name>``).
            outcome: ``approved``, ``refused``, ``expired`` or ``already``.
            runbook_id: The runbook.
            record: The request, None when the policy refused before one was made.
            parameters: The job, the attempt, why it was refused.
            channel: Where (when there is no record).
            thread: The thread (when there is no record).
        """
        actor = (rule, f"rule:{rule}", "rule")
        details = {"rule": rule, "decision": "rule", **parameters}
        if record is not None:
            entry = _about(
                record,
                action="runbook.approve",
                outcome=outcome,
                target=runbook_id,
                parameters=details,
                actor=actor,
            )
        else:
            entry = _Entry(
                action="runbook.approve",
                outcome=outcome,
                actor_id=rule,
                actor_identity=actor[1],
                platform=actor[2],
                channel=channel,
                thread=thread,
                target=runbook_id,
                parameters={"runbook": runbook_id, **details},
            )
        await self._write(entry, required=False)

    async def invalid_request(
        self,
        *,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None,
        thread: str | None,
        problems: list[str],
    ) -> None:
        """Record a request refused before anything was queued (best effort).

        Args:
            runbook_id: The runbook asked for.
            values: The parameters as typed.
            actor: Who asked.
            channel: Where.
            thread: The thread.
            problems: Why it was refused.
        """
        await self._write(
            _Entry(
                action="runbook.request",
                outcome="invalid",
                actor_id=actor.user_id,
                actor_identity=actor.identity,
                platform=actor.platform.value,
                channel=channel,
                thread=thread,
                target=runbook_id,
                parameters={"runbook": runbook_id, "values": dict(values), "problems": problems},
            ),
            required=False,
        )

    async def _write(self, entry: _Entry, *, required: bool) -> None:
        if self._sink is None:
            return
        try:
            await self._sink.record(
                action=entry.action,
                outcome=entry.outcome,
                actor_id=entry.actor_id,
                actor_identity=entry.actor_identity,
                platform=entry.platform,
                channel=entry.channel,
                thread=entry.thread,
                target=entry.target,
                parameters=entry.parameters,
                correlation=entry.correlation or None,
            )
        except Exception as exc:  # any store failure: the policy below decides, not its type
            log.exception(
                "runbook.audit_failed",
                action=entry.action,
                request_id=entry.correlation.get("request_id"),
                required=required,
            )
            if required:
                raise AuditWriteError(f"{type(exc).__name__}: {exc}"[:300]) from exc
