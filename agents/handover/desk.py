"""`HandoverDesk`: gathers a shift handover from the engine, the watcher, incidents, runbooks.

One plan read and one workstation read; deadlines at risk from the watcher's last report
when there is a watcher (else the lateness forecast over the same plan read); open
incidents from the incident service; runbook runs and pending approvals from the journal
and the audit log. A source that fails is named in `Handover.gaps` and the rest is shown:
a handover with a hole that says so beats no handover at shift change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog

from agents.answers.watch import WatchDesk
from agents.forecast import Forecaster
from agents.formatting import format_clock
from agents.handover import plan_facts
from agents.handover.model import Deadline, Handover, IncidentLine
from agents.handover.requests import AuditReader, RequestBook, RunbookFacts, read_runbook_facts
from agents.handover.shift import shift_start
from agents.incidents.model import Incident
from agents.watch.model import FindingKind
from integrations.tws.models import PlanJob
from integrations.tws.scheduler import Scheduler

__all__ = ["HandoverDesk", "OpenIncidents"]

log = structlog.get_logger(__name__)

WATCH_BASIS = "Deadlines at risk: the watcher (Monte Carlo over run history)"
FORECAST_BASIS = "Deadlines at risk: typical durations from run history and the dependency chain"


class OpenIncidents(Protocol):
    """What the handover reads of the incident service."""

    async def list_open(self) -> list[Incident]:
        """Incidents not yet resolved, oldest first."""
        ...


class HandoverDesk:
    """Builds `Handover` objects (for "give me a handover" and the scheduled post)."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        zone: ZoneInfo,
        shift_times: Sequence[time] = (),
        watch: WatchDesk | None = None,
        incidents: OpenIncidents | None = None,
        requests: RequestBook | None = None,
        audit: AuditReader | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Wire the sources.

        Args:
            scheduler: The engine.
            zone: The display time zone (shift times are in it).
            shift_times: Shift changes (``RESYNC_HANDOVER_TIMES``); none: the last 8 hours.
            watch: The watcher's findings (deadlines at risk); None: the forecast.
            incidents: Open incidents; None: the section says incidents are off.
            requests: The runbook journal (runs in progress, pending approvals); None:
                runbooks are off.
            audit: The audit log (runs finished during the shift); None: only runs in
                progress are listed.
            clock: Server time, for the audit log's time range (default: now, UTC).
        """
        self.scheduler = scheduler
        self.zone = zone
        self.shift_times = tuple(shift_times)
        self._watch = watch
        self._incidents = incidents
        self._requests = requests
        self._audit = audit
        self._clock = clock or (lambda: datetime.now(UTC))

    async def collect(self) -> Handover:
        """Gather the handover of the shift in progress (or just ended).

        Returns:
            The handover.

        Raises:
            integrations.tws.errors.TWSError: The plan could not be read (nothing to hand
                over without it; the bot turns the error into words).
        """
        plan = await self.scheduler.query_jobs()
        now = plan.as_of
        start = shift_start(now, self.shift_times, self.zone)
        gaps: list[str] = []
        try:
            down = plan_facts.workstations_down((await self.scheduler.workstations()).value)
        except Exception as exc:  # one source failing leaves the rest of the handover
            gaps.append(_gap("workstations", exc))
            down = []
        missed = plan_facts.missed_deadlines(plan.value, now=now, start=start, zone=self.zone)
        at_risk, basis = await self._at_risk(plan.value, now, gaps)
        gone = {d.name for d in missed}  # already missed: listed there, not as a risk
        at_risk = [d for d in at_risk if d.name not in gone]
        # The engine's clock says when the shift began; the audit log keeps server time
        # (the same clock in production, the simulated one in the demo).
        since_server = self._clock() - (now - start)
        book = None if self._requests is None else await self._runbooks(since_server, gaps)
        return Handover(
            start=start,
            as_of=now,
            source=plan.source,
            failures=tuple(plan_facts.failures(plan.value)),
            runs=None if book is None else book.runs,
            incidents=await self._open_incidents(gaps),
            missed=tuple(missed),
            at_risk=tuple(at_risk),
            risk_basis=basis,
            workstations_down=tuple(down),
            approvals=None if book is None else book.approvals,
            gaps=tuple(dict.fromkeys(gaps)),
        )

    async def _runbooks(self, since: datetime, gaps: list[str]) -> RunbookFacts:
        assert self._requests is not None
        try:
            return await read_runbook_facts(self._requests, self._audit, since=since)
        except Exception as exc:
            gaps.append(_gap("runbook runs and approvals", exc))
            return RunbookFacts(runs=(), approvals=())

    async def _open_incidents(self, gaps: list[str]) -> tuple[IncidentLine, ...] | None:
        if self._incidents is None:
            return None
        try:
            found = await self._incidents.list_open()
        except Exception as exc:
            gaps.append(_gap("incidents", exc))
            return ()
        return tuple(
            IncidentLine(
                id=i.id,
                severity=i.severity,
                status=i.status.value,
                title=i.title,
                declared_at=i.declared_at,
                drill=f"incident show {i.id}",
            )
            for i in found
        )

    async def _at_risk(
        self, jobs: list[PlanJob], now: datetime, gaps: list[str]
    ) -> tuple[list[Deadline], str]:
        if self._watch is not None:
            try:
                report = await self._watch.report()
            except Exception as exc:
                gaps.append(_gap("the watcher", exc))
            else:
                if report.paused is None:
                    risks = [f for f in report.findings if f.kind is FindingKind.DEADLINE_RISK]
                    risks.sort(key=lambda f: -(f.probability or 0))
                    return [
                        Deadline(
                            name=f.object_name,
                            deadline=f.deadline,
                            expected_end=f.eta,
                            note=f"{round((f.probability or 0) * 100)} % chance of missing",
                            drill=f"why is {f.object_name.split('.')[-1]} at risk?",
                        )
                        for f in risks
                    ], WATCH_BASIS
                gaps.append(f"the watcher is paused ({report.paused}): the forecast is shown")
        try:
            forecast = await Forecaster(scheduler=self.scheduler, jobs=jobs, now=now).forecast()
        except Exception as exc:
            gaps.append(_gap("the deadline forecast", exc))
            return [], FORECAST_BASIS
        return [
            Deadline(
                name=f"{item.job.job_stream_name}.{item.job.name}",
                deadline=item.job.deadline,
                expected_end=None if item.blocked_by_failure else item.expected_end,
                note=_forecast_note(
                    item.failed_root, item.blocked_by, item.expected_end, self.zone
                ),
                drill=f"what does {item.job.name} wait for?"
                if item.blocked_by
                else f"status of {item.job.name}",
            )
            for item in forecast.at_risk
        ], FORECAST_BASIS


def _forecast_note(
    failed_root: str | None, blocked_by: str | None, end: datetime, zone: ZoneInfo
) -> str:
    if failed_root:
        return f"blocked: {failed_root} failed"
    if blocked_by:
        return f"waits for {blocked_by}"
    return f"expected {format_clock(end, zone=zone)}"


def _gap(what: str, exc: Exception) -> str:
    log.warning("handover.source_failed", source=what, error=str(exc)[:200])
    return f"{what} could not be read ({type(exc).__name__})"
