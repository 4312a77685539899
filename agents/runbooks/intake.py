"""`RunbookIntake`: a request is validated against the live plan before anyone is asked.

``/tws run RUNBOOK k=v`` is read by the one strict parser (`agents.runbooks.params.
parse_command`: a key given twice, a word that is not ``key=value`` are refused). The
runbook must exist and its actions be possible on this engine connection; the parameters
must resolve to exactly one plan object each; the status checks before the first action
must hold now. Anything else is answered with why, and nothing is queued (`refusal`).

An accepted request is stored with the plan state its approval will bind to and its impact
(direct successors, deadlines at risk), and its graph is driven to the approval wait; a
read-only runbook runs at once and its outcome is the answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from agents.forecast import Forecaster
from agents.messages import Actor, Paragraph, Reply, Tone
from agents.runbooks.actions import RunbookActions
from agents.runbooks.approvals import bind, expires_at
from agents.runbooks.audit import RunbookAudit
from agents.runbooks.cards import CardMaker
from agents.runbooks.catalog import ActionStep, Catalog, CheckStep, ParamType, Runbook
from agents.runbooks.errors import ParameterError
from agents.runbooks.journal import HistoryEntry, RequestJournal, RequestRecord, RequestStatus
from agents.runbooks.params import ResolvedParam, parse_command, resolve_parameters
from agents.runbooks.planstate import read_plan_state
from integrations.tws.scheduler import Scheduler

__all__ = ["RequestResult", "RunbookIntake", "refusal", "unmet_preconditions"]


@dataclass(frozen=True, slots=True)
class RequestResult:
    """The answer to a request.

    Attributes:
        accepted: True when a request was created (an approval card, or a read-only run).
        request_id: Its id, when created.
        reply: The approval card, the read-only run's outcome, or why nothing was queued.
    """

    accepted: bool
    request_id: str | None
    reply: Reply


def refusal(*, headline: str, problems: list[str]) -> Reply:
    """Why a request was not queued: a headline and one line per problem.

    Args:
        headline: E.g. ``Cannot read that run command``.
        problems: Each problem, as the person should read it.

    Returns:
        The reply (tone ERROR), ending with "Nothing was queued."
    """
    return Reply(
        headline=headline,
        tone=Tone.ERROR,
        blocks=(Paragraph(text="\n".join(f"- {p}" for p in problems) + "\nNothing was queued."),),
    )


def unmet_preconditions(
    *,
    runbook: Runbook,
    params: Mapping[str, ResolvedParam],
    items: Mapping[str, Mapping[str, object]],
) -> list[str]:
    """Status checks before the first action that the live plan already fails.

    Only checks that stop the run count (``on_fail: stop``); the executor re-checks every one
    at run time, since the plan moves while a request waits for approval.

    Args:
        runbook: The runbook.
        params: Its resolved parameters.
        items: The plan state per parameter (`agents.runbooks.planstate.PlanState.items`).

    Returns:
        One line per unmet check (empty when all hold).
    """
    problems: list[str] = []
    for step in runbook.steps:
        if isinstance(step, ActionStep):
            break
        if not isinstance(step, CheckStep) or not step.status or step.on_fail != "stop":
            continue
        status = items.get(step.target, {}).get("status")
        if status is not None and status not in step.status:
            shown = params[step.target].display if step.target in params else step.target
            problems.append(f"{shown} is {status}; this runbook needs {' or '.join(step.status)}")
    return problems


class RunbookIntake:
    """Validates requests, stores accepted ones, and renders their cards."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        scheduler: Scheduler,
        actions: RunbookActions,
        journal: RequestJournal,
        audit: RunbookAudit,
        cards: CardMaker,
        drive: Callable[[str], Awaitable[bool]],
        clock: Callable[[], datetime],
    ) -> None:
        """Wire the intake.

        Args:
            catalog: The runbooks.
            scheduler: The live plan.
            actions: What this engine connection can do.
            journal: Where requests are stored.
            audit: The runbook audit records.
            cards: Renders cards and outcomes.
            drive: Advances a request's graph (`agents.runbooks.driver.FlowDriver.drive`).
            clock: Server time (UTC).
        """
        self._catalog = catalog
        self._scheduler = scheduler
        self._actions = actions
        self._journal = journal
        self._audit = audit
        self._cards = cards
        self._drive = drive
        self._clock = clock

    async def request_text(
        self, *, text: str, actor: Actor, channel: str | None, thread: str | None
    ) -> RequestResult:
        """See `agents.runbooks.service.RunbookService.request_text`."""
        try:
            parsed = parse_command(text)
        except ParameterError as exc:
            return RequestResult(
                False, None, refusal(headline="Cannot read that run command", problems=exc.problems)
            )
        return await self.request(
            runbook_id=parsed.runbook_id,
            values=parsed.values,
            actor=actor,
            channel=channel,
            thread=thread,
        )

    async def request(
        self,
        *,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None,
        thread: str | None,
    ) -> RequestResult:
        """See `agents.runbooks.service.RunbookService.request`."""
        runbook = self._catalog.get(runbook_id)
        if runbook is None:
            known = ", ".join(r.id for r in self._catalog.all())
            return RequestResult(
                False,
                None,
                refusal(
                    headline=f"No runbook {runbook_id!r}", problems=[f"known runbooks: {known}"]
                ),
            )
        missing = [
            f"action {step.action.value} is not available through the Scheduler interface"
            for step in runbook.steps
            if isinstance(step, ActionStep) and not self._actions.supports(step.action)
        ]
        if missing:
            headline = f"{runbook.id} cannot run on this engine connection yet"
            return RequestResult(False, None, refusal(headline=headline, problems=missing))

        async def refuse(headline: str, problems: list[str]) -> RequestResult:
            await self._audit.invalid_request(
                runbook_id=runbook.id,
                values=values,
                actor=actor,
                channel=channel,
                thread=thread,
                problems=problems,
            )
            return RequestResult(False, None, refusal(headline=headline, problems=problems))

        try:
            params = await resolve_parameters(
                runbook=runbook, values=values, scheduler=self._scheduler
            )
        except ParameterError as exc:
            return await refuse(f"Cannot run {runbook.id} with these parameters", exc.problems)
        plan = await read_plan_state(scheduler=self._scheduler, params=params)
        unmet = unmet_preconditions(runbook=runbook, params=params, items=plan.items)
        if unmet:
            # Asking colleagues to approve what the plan already rules out wastes their time.
            return await refuse(f"{runbook.id} does not apply right now", unmet)
        now = self._clock()
        record = RequestRecord(
            id=secrets.token_hex(6),
            runbook_id=runbook.id,
            version=runbook.version,
            digest=runbook.digest,
            values=dict(values),
            params={name: p.as_dict() for name, p in params.items()},
            requester_identity=actor.identity,
            requester_id=actor.user_id,
            requester_platform=actor.platform.value,
            requester_name=actor.display_name,
            channel=channel,
            thread=thread,
            created_at=now,
            expires_at=expires_at(runbook=runbook, now=now),
            status=RequestStatus.PENDING if runbook.changes_plan else RequestStatus.APPROVED,
            plan_digest=plan.digest,
            plan_items=plan.items,
            binding=bind(runbook=runbook, params=params, plan=plan),
            impact=await self._impact(params),
            history=[
                HistoryEntry(at=now, who=actor.display_name or actor.identity, what="requested")
            ],
        )
        async with self._journal.locked(record.id):
            await self._journal.save(record)
        await self._journal.set_active(record.id, active=True)
        await self._audit.request_event(
            action="runbook.request",
            outcome="pending" if runbook.changes_plan else "read-only",
            record=record,
            target=", ".join(p.display for p in params.values()),
            parameters={"values": dict(values), "plan_state": plan.digest},
        )
        # A plan-changing request runs to the approval wait; a read-only one to its end.
        await self._drive(record.id)
        current = await self._journal.load(record.id) or record
        reply = (
            self._cards.card(record=current, runbook=runbook)
            if runbook.changes_plan
            else self._cards.final(record=current, runbook=runbook)
        )
        return RequestResult(True, record.id, reply)

    async def card(self, request_id: str) -> Reply | None:
        """See `agents.runbooks.service.RunbookService.card`."""
        record = await self._journal.load(request_id)
        if record is None:
            return None
        runbook = self._catalog.get(record.runbook_id)
        if runbook is None:
            return Reply(
                headline=f"Request {request_id}: runbook {record.runbook_id} is gone",
                tone=Tone.ERROR,
            )
        return self._cards.card(record=record, runbook=runbook)

    async def _impact(self, params: Mapping[str, ResolvedParam]) -> dict[str, list[str]]:
        """Direct successors of the targets, and the deadlines a change would put at risk."""
        successors: list[str] = []
        ids: list[str] = []
        for param in params.values():
            if param.type == ParamType.JOB:
                deps = (await self._scheduler.job_successors(param.ref)).value
                successors.extend(
                    f"{d.job_stream_name}.{d.name}" if d.kind == "job" else d.name for d in deps
                )
                ids.extend(d.id for d in deps if d.kind == "job")
            elif param.type == ParamType.JOB_STREAM:
                deps = (await self._scheduler.job_stream_successors(param.ref)).value
                successors.extend(d.name for d in deps)
        at_risk: list[str] = []
        if ids:
            snap = await self._scheduler.query_jobs()
            forecast = await Forecaster(
                scheduler=self._scheduler, jobs=snap.value, now=snap.as_of
            ).forecast(ids)
            at_risk = [
                f"{item.job.qualified_name} (deadline {item.job.deadline:%H:%M} UTC)"
                for item in forecast.jobs
                if item.job.deadline is not None and item.at_risk
            ]
        return {"successors": successors, "at_risk": at_risk}
