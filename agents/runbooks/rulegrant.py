"""`RuleDesk`: a runbook requested and approved by an auto-remediation rule, under the policy.

The watcher's rules (`agents.watch.rules`) ask for a runbook without a person asking. What a
rule may approve is the approval policy's to say, not the rules file's:

- only runbooks listed in ``rules_may_grant`` of the approval policy file
  (`agents.runbooks.policy.ApprovalGroups.rules_may_grant`; none when the key is absent);
- never a ``risk: high`` runbook, whatever the list says (cancel, kill, confirm SUCC, release
  dependencies: a person decides those).

Otherwise it is the ordinary path: the request is validated against the live plan by the
intake (a request the plan rules out is refused, audited as an invalid request); the rule's
approval is one approval by ``rule:<name>`` that completes the policy
(`agents.runbooks.approvals.grant_by_rule`, under the request's lock, audited
``runbook.approve``); the run goes through the same graph, recheck of the binding, target
hold and step journal as any other, so it happens once however many replicas ask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from agents.messages import Actor, Paragraph, Reply
from agents.runbooks.approvals import grant_by_rule
from agents.runbooks.audit import RunbookAudit
from agents.runbooks.catalog import Catalog, Runbook
from agents.runbooks.decisions import DecisionStatus
from agents.runbooks.driver import FlowDriver
from agents.runbooks.errors import FencedOutError
from agents.runbooks.intake import RunbookIntake
from agents.runbooks.journal import RequestJournal
from agents.runbooks.policy import ApprovalGroups
from agents.runbooks.spec import Risk
from integrations.tws.errors import TWSError

__all__ = ["RuleDesk", "RuleRequest", "rule_refusal"]

log = structlog.get_logger(__name__)

_NOTHING_QUEUED = "Nothing was queued."


def rule_refusal(*, runbook_id: str, runbook: Runbook | None, groups: ApprovalGroups) -> str | None:
    """Why no rule may approve ``runbook_id`` on its own, or None when a rule may.

    Args:
        runbook_id: The runbook the rule names.
        runbook: It, as the catalog holds it (None: not in the catalog).
        groups: The approval policy (its ``rules_may_grant``).

    Returns:
        The reason, worded for the alert's thread; None when the policy allows it.
    """
    if runbook is None:
        return f"there is no runbook {runbook_id!r} in the catalog"
    if runbook.risk is Risk.HIGH:
        return f"{runbook.id} is a high-risk runbook: only people may approve it"
    if runbook.id not in groups.rules_may_grant:
        return (
            f"the approval policy does not let rules approve {runbook.id} "
            "(it is not in rules_may_grant)"
        )
    return None


@dataclass(frozen=True, slots=True)
class RuleRequest:
    """What became of a rule's request.

    Attributes:
        granted: True when the request exists and the rule's approval completed it (call
            `RuleDesk.run` next; `RunbookService.recover` would also pick it up).
        request_id: The request, when one was made.
        reason: Why nothing runs ("" when granted), worded for the alert's thread.
    """

    granted: bool
    request_id: str | None
    reason: str = ""


def _reason(reply: Reply) -> str:
    """A refusal reply as one line: its headline and each problem."""
    problems = [
        line.strip().removeprefix("- ")
        for block in reply.blocks
        if isinstance(block, Paragraph)
        for line in block.text.splitlines()
        if line.strip() and line.strip() != _NOTHING_QUEUED
    ]
    return f"{reply.headline}: {'; '.join(problems)}" if problems else reply.headline


class RuleDesk:
    """Requests, approves by rule, and starts runbooks for the watcher's rules."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        groups: ApprovalGroups,
        journal: RequestJournal,
        audit: RunbookAudit,
        intake: RunbookIntake,
        driver: FlowDriver,
        clock: Callable[[], datetime],
    ) -> None:
        """Wire the desk.

        Args:
            catalog: The runbooks.
            groups: The approval policy (``rules_may_grant``).
            journal: Request records and locks.
            audit: The runbook audit records.
            intake: Validates and stores requests.
            driver: Runs approved requests (inline or in the background).
            clock: Server time (UTC).
        """
        self._catalog = catalog
        self._groups = groups
        self._journal = journal
        self._audit = audit
        self._intake = intake
        self._driver = driver
        self._clock = clock

    def refusal(self, runbook_id: str) -> str | None:
        """Why no rule may approve ``runbook_id`` (see `rule_refusal`), None when one may."""
        return rule_refusal(
            runbook_id=runbook_id, runbook=self._catalog.get(runbook_id), groups=self._groups
        )

    async def request(
        self,
        *,
        rule: str,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None,
        thread: str | None,
        details: Mapping[str, object] | None = None,
    ) -> RuleRequest:
        """Request ``runbook_id`` for a rule and approve it by the rule (nothing runs yet).

        Args:
            rule: The rule's name.
            runbook_id: The runbook.
            values: Its parameters.
            actor: Who requests (Resync on the rule's behalf; its platform routes progress).
            channel: Where progress is posted.
            thread: The thread (the alert's).
            details: Audited with the rule's approval (job, attempt).

        Returns:
            Granted (then call `run`), or why not: the policy, the plan, the request.
        """
        extra = dict(details or {})
        refusal = self.refusal(runbook_id)
        if refusal is not None:
            log.warning("runbook.rule_refused", rule=rule, runbook=runbook_id, reason=refusal)
            await self._audit.rule_grant(
                rule=rule,
                outcome="refused",
                runbook_id=runbook_id,
                record=None,
                parameters={**extra, "values": dict(values), "reason": refusal},
                channel=channel,
                thread=thread,
            )
            return RuleRequest(False, None, refusal)
        result = await self._intake.request(
            runbook_id=runbook_id, values=values, actor=actor, channel=channel, thread=thread
        )
        if not result.accepted or result.request_id is None:
            reason = _reason(result.reply)
            log.warning(
                "runbook.rule_request_refused", rule=rule, runbook=runbook_id, reason=reason
            )
            return RuleRequest(False, None, reason)
        runbook = self._catalog.get(runbook_id)
        if runbook is not None and not runbook.changes_plan:
            return RuleRequest(True, result.request_id)  # read only: it ran at once
        return await self.grant(result.request_id, rule=rule, details=extra)

    async def grant(
        self, request_id: str, *, rule: str, details: Mapping[str, object] | None = None
    ) -> RuleRequest:
        """Approve a pending request by ``rule`` (one approval that completes the policy).

        Args:
            request_id: The request.
            rule: The rule's name.
            details: Audited with the approval.

        Returns:
            Granted, or why not (the policy, expired, already decided, unknown).
        """
        async with self._journal.locked(request_id):
            record = await self._journal.load(request_id)
            if record is None:
                return RuleRequest(False, request_id, f"no request {request_id}")
            refusal = rule_refusal(
                runbook_id=record.runbook_id,
                runbook=self._catalog.get(record.runbook_id),
                groups=self._groups,
            )
            step = grant_by_rule(record=record, rule=rule, refusal=refusal, now=self._clock())
            if step.record is not None:
                await self._journal.save(step.record)
                record = step.record
        granted = step.status is DecisionStatus.APPROVED
        parameters = {**(details or {}), **({} if granted else {"reason": step.message})}
        await self._audit.rule_grant(
            rule=rule,
            outcome=step.status.value,
            runbook_id=record.runbook_id,
            record=record,
            parameters=parameters,
        )
        if step.status is DecisionStatus.EXPIRED:  # recover() drives it to its end
            await self._audit.request_event(
                action="runbook.expired", outcome="expired", record=record
            )
        if not granted:
            log.warning("runbook.rule_grant_refused", rule=rule, request_id=request_id)
        return RuleRequest(granted, request_id, "" if granted else step.message)

    async def run(self, request_id: str) -> None:
        """Start an approved request: in the background when a spawner is wired, else now.

        Args:
            request_id: The request a rule approved.
        """
        if self._driver.background:
            self._driver.start(request_id)
            return
        try:
            await self._driver.drive(request_id)
        except (FencedOutError, TWSError) as exc:  # recover() drives approved requests again
            log.warning("runbook.drive_failed", request_id=request_id, error=str(exc))
