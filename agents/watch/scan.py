"""The Scanner: one watch cycle reads the plan and says what holds now.

A cycle makes a bounded number of engine calls: ``engine_info``, one (paged) job query and
the workstations; then predecessor reads for unfinished jobs on deadline chains (kept for
the production day), at most ``max_history_reads`` new history reads (kept for the
production day) and the log tail of each new failure (kept per run). An engine error at
any point makes the report ``paused`` with no findings: never an all-clear while blind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from agents.watch.baseline import Baseline
from agents.watch.deadline import DeadlineRisk, closure, deadline_findings
from agents.watch.detect import (
    display_name,
    duration_finding,
    failure_finding,
    failure_rate_finding,
    workstation_finding,
)
from agents.watch.history import UTC_ZONE, HistoryCache, JobHistory, plan_day
from agents.watch.model import Finding, RiskExplanation, WatchReport
from integrations.tws.errors import TWSError, TWSNotFoundError, TWSUnavailableError
from integrations.tws.models import FINISHED_STATUSES, JobLog, JobStatus, PlanJob, Workstation
from integrations.tws.scheduler import Scheduler

__all__ = ["BaselineView", "Scanner"]

_MAX_EDGE_READS: Final = 400
_MAX_LOG_READS: Final = 10
_LOG_BYTES: Final = 64 * 1024
_CONCURRENCY: Final = 8
# A deadline this likely to be missed is reported at once (the severity turns critical
# there too); a less certain one must hold for `confirm_minutes` first.
_CERTAIN: Final = 0.9


@dataclass(frozen=True, slots=True)
class BaselineView:
    """A job's baseline for tonight and how it was built (`resync watch baseline JOB`).

    Attributes:
        job_id: Engine id.
        name: ``STREAM.JOB``.
        plan_date: The production day it is for.
        baseline: The baseline, None when the job has too few successful runs.
        history: (night, minutes) of recent successful runs, oldest first.
        text: One line for people, e.g. "usually 18–24 min on Mondays (12 runs)".
    """

    job_id: str
    name: str
    plan_date: date
    baseline: Baseline | None
    history: tuple[tuple[date, float], ...] = field(default_factory=tuple)
    text: str = ""


class _Counted:
    """Counts the engine calls a cycle makes."""

    def __init__(self) -> None:
        self.calls = 0


class Scanner:
    """Detection over the live plan: a `ReportSource` for the watcher."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        risk_threshold: float = 0.5,
        samples: int = 1000,
        max_history_reads: int = 40,
        seed: int | None = None,
        zone: ZoneInfo = UTC_ZONE,
        confirm_minutes: float = 5.0,
    ) -> None:
        """Watch one engine.

        Args:
            scheduler: The engine.
            risk_threshold: Report a deadline when the chance of missing it is at least this
                (at once from 0.9; below that once it held for ``confirm_minutes``).
            samples: Monte Carlo samples per cycle.
            max_history_reads: New history reads per cycle.
            seed: Random seed of the Monte Carlo (None: fresh each cycle).
            zone: The site's time zone: a plan's production day is its local start date.
            confirm_minutes: How long a deadline risk under 0.9 must hold, over consecutive
                cycles, before it is reported (0: at once).
        """
        self._zone = zone
        self._scheduler = scheduler
        self._threshold = risk_threshold
        self._samples = samples
        self._seed = seed
        self._history = HistoryCache(max_reads=max_history_reads, zone=zone)
        self._edges: dict[str, list[str]] = {}
        self._edges_for: date | None = None
        self._logs: dict[str, JobLog | None] = {}
        self._confirm = timedelta(minutes=confirm_minutes)
        # Deadline job id → since when its risk has been at or above the threshold.
        self._risk_since: dict[str, datetime] = {}
        # Workstation → when a cycle first saw it down (how long an outage lasted so far).
        self._down_since: dict[str, datetime] = {}

    # ----------------------------------------------------------------- reads

    async def _read_plan(
        self, counter: _Counted
    ) -> tuple[datetime, datetime, dict[str, PlanJob], dict[str, Workstation]]:
        info = await self._scheduler.engine_info()
        jobs_snap = await self._scheduler.query_jobs()
        ws_snap = await self._scheduler.workstations()
        counter.calls += 3
        now = jobs_snap.as_of
        jobs = {job.id: job for job in jobs_snap.value}
        starts = [j.at_time for j in jobs.values() if j.at_time is not None]
        plan_start = info.value.plan_start or (min(starts) if starts else now)
        if self._edges_for != plan_day(plan_start, self._zone):
            self._edges, self._edges_for = {}, plan_day(plan_start, self._zone)
        down = {ws.name: ws for ws in ws_snap.value if not ws.available}
        self._down_since = {name: self._down_since.get(name, now) for name in down}
        return now, plan_start, jobs, down

    def _down_minutes(self, now: datetime) -> dict[str, float]:
        return {
            name: max(0.0, (now - since).total_seconds() / 60)
            for name, since in self._down_since.items()
        }

    async def _read_edges(self, jobs: dict[str, PlanJob], counter: _Counted) -> None:
        for job in jobs.values():  # rows that carry their predecessors need no read, and
            if job.predecessor_ids is not None:  # are fresh (a released dependency is gone)
                self._edges[job.id] = list(job.predecessor_ids)
        targets = [
            j.id
            for j in jobs.values()
            if j.deadline is not None and j.status not in FINISHED_STATUSES
        ]
        limit = asyncio.Semaphore(_CONCURRENCY)
        budget = _MAX_EDGE_READS

        async def one(job_id: str) -> None:
            async with limit:
                try:
                    deps = (await self._scheduler.job_predecessors(job_id)).value
                except TWSNotFoundError:
                    deps = []  # the job left the plan since the query
            self._edges[job_id] = [d.id for d in deps if d.kind == "job"]

        while budget > 0:
            todo = [
                job_id
                for job_id in closure(targets, self._edges, jobs)
                if job_id not in self._edges and jobs[job_id].status not in FINISHED_STATUSES
            ][:budget]
            if not todo:
                return
            budget -= len(todo)
            counter.calls += len(todo)
            await asyncio.gather(*(one(job_id) for job_id in todo))

    async def _read_logs(self, failed: list[PlanJob], counter: _Counted) -> None:
        todo = [j.run_id for j in failed if j.run_id and j.run_id not in self._logs]
        todo = todo[:_MAX_LOG_READS]

        async def one(run_id: str) -> None:
            try:
                self._logs[run_id] = (
                    await self._scheduler.job_log_tail(run_id, max_bytes=_LOG_BYTES)
                ).value
            except TWSNotFoundError:
                self._logs[run_id] = None

        counter.calls += len(todo)
        await asyncio.gather(*(one(run_id) for run_id in todo))

    # ----------------------------------------------------------------- cycle

    async def cycle(self) -> WatchReport:
        """Run one watch cycle (paused, with no findings, when the engine fails).

        Returns:
            What holds now.
        """
        counter = _Counted()
        try:
            return await self._cycle(counter)
        except TWSUnavailableError:
            reason = "engine unreachable"
        except TWSError as exc:
            reason = f"engine error: {exc.summary}"
        now = datetime.now(UTC)
        return WatchReport(
            as_of=now,
            plan_date=plan_day(now, self._zone),
            engine_calls=counter.calls,
            paused=reason,
        )

    async def _cycle(self, counter: _Counted) -> WatchReport:
        now, plan_start, jobs, down = await self._read_plan(counter)
        plan_date = plan_day(plan_start, self._zone)
        await self._read_edges(jobs, counter)
        counter.calls += await self._history.fill(
            self._scheduler, self._priority(jobs, plan_start), plan_start
        )
        failed = [j for j in jobs.values() if j.failed]
        await self._read_logs(failed, counter)
        findings: list[Finding] = [
            failure_finding(job, self._logs.get(job.run_id or ""), plan_date) for job in failed
        ]
        for job in jobs.values():
            history = self._history.get(job.id)
            for found in (
                duration_finding(job, history, now, plan_date),
                failure_rate_finding(job, history, plan_date),
            ):
                if found is not None:
                    findings.append(found)
        # The Monte Carlo is CPU work (about a second on a 50,000-job plan): off the loop,
        # so chat answers are not held up behind it (numpy releases the GIL).
        risks = await asyncio.to_thread(
            deadline_findings,
            jobs=jobs,
            preds=dict(self._edges),
            histories=self._history.get,
            blocked_ws=set(down),
            now=now,
            plan_date=plan_date,
            samples=self._samples,
            seed=self._seed,
            down_minutes=self._down_minutes(now),
        )
        findings.extend(self._confirmed(risks, now))
        findings.extend(self._workstations(jobs, down, plan_date))
        return WatchReport(
            as_of=now,
            plan_date=plan_date,
            findings=tuple(findings),
            engine_calls=counter.calls,
        )

    def _confirmed(self, risks: list[DeadlineRisk], now: datetime) -> list[Finding]:
        """The deadline risks to report: near-certain ones at once, others once they held.

        A risk just over the threshold often rests on one snapshot (an upstream job a few
        minutes past its median that ends seconds later, an agent about to return); one
        more look `confirm_minutes` later keeps such coin flips out of the channel and
        costs a real risk those minutes of lead.
        """
        at_risk = {r.job.id: r for r in risks if r.probability >= self._threshold}
        self._risk_since = {job_id: self._risk_since.get(job_id, now) for job_id in at_risk}
        return [
            risk.finding
            for job_id, risk in at_risk.items()
            if risk.probability >= _CERTAIN or now - self._risk_since[job_id] >= self._confirm
        ]

    def _priority(self, jobs: dict[str, PlanJob], plan_start: datetime) -> list[str]:
        running = [j.id for j in jobs.values() if j.status == JobStatus.EXEC]
        finished = [
            j.id
            for j in jobs.values()
            if j.status in FINISHED_STATUSES and j.ended_at is not None and j.ended_at >= plan_start
        ]
        targets = [j.id for j in jobs.values() if j.deadline is not None]
        chains = closure(targets, self._edges, jobs)
        return [*running, *finished, *chains, *jobs]

    def _workstations(
        self, jobs: dict[str, PlanJob], down: dict[str, Workstation], plan_date: date
    ) -> list[Finding]:
        if not down:
            return []
        succs: dict[str, list[str]] = {}
        for job_id, preds in self._edges.items():
            for pred in preds:
                succs.setdefault(pred, []).append(job_id)
        out: list[Finding] = []
        for name in sorted(down):
            blocked = [
                j
                for j in jobs.values()
                if j.workstation == name and j.status not in FINISHED_STATUSES
            ]
            deadlines: dict[str, datetime] = {}
            stack, seen = [j.id for j in blocked], set()
            while stack:
                job_id = stack.pop()
                if job_id in seen or job_id not in jobs:
                    continue
                seen.add(job_id)
                job = jobs[job_id]
                if job.deadline is not None and job.status not in FINISHED_STATUSES:
                    deadlines[display_name(job)] = job.deadline
                stack.extend(succs.get(job_id, []))
            out.append(workstation_finding(down[name], blocked, deadlines, plan_date))
        return out

    # ------------------------------------------------------------- questions

    async def _resolve(self, job: str) -> PlanJob:
        """A job by engine id, ``STREAM.JOB``, job name (the first match) or job stream name."""
        try:
            return (await self._scheduler.get_job(job)).value
        except TWSError:
            pass
        stream, _, name = job.rpartition(".")
        found = (await self._scheduler.query_jobs(name=name, job_stream=stream or None)).value
        exact = [j for j in found if j.name == name and (not stream or j.job_stream_name == stream)]
        if exact:
            return exact[0]
        if not stream:
            # A job stream's name: its deadline is carried by its job with the latest one.
            members = (await self._scheduler.query_jobs(job_stream=job)).value
            timed = [j for j in members if j.job_stream_name == job and j.deadline is not None]
            if timed:
                return max(timed, key=lambda j: j.deadline or datetime.min.replace(tzinfo=UTC))
        raise TWSNotFoundError(f"no job {job!r} in the plan", call=f"query_jobs {job}")

    async def baseline_of(self, job: str) -> BaselineView:
        """A job's baseline for tonight and how it was built.

        Args:
            job: Engine id, ``STREAM.JOB`` or job name.

        Returns:
            The view (``baseline`` None when the job has too few successful runs).

        Raises:
            TWSError: The engine failed, or no such job (`TWSNotFoundError`).
        """
        found = await self._resolve(job)
        info = (await self._scheduler.engine_info()).value
        plan_start = info.plan_start or found.at_time or datetime.now(UTC)
        history: JobHistory = await self._history.read(self._scheduler, found.id, plan_start)
        base = history.baseline
        if base is None:
            text = f"{display_name(found)}: too few successful runs for a baseline"
        else:
            text = (
                f"{display_name(found)}: {base.describe()}; median {base.median / 60:.1f} min, "
                f"alert above {base.upper / 60:.1f} min"
                + (f", below {base.lower / 60:.1f} min" if base.lower > 0 else "")
                + (f"; fewer runs in: {'; '.join(base.fallback)}" if base.fallback else "")
            )
        return BaselineView(
            job_id=found.id,
            name=display_name(found),
            plan_date=plan_day(plan_start, self._zone),
            baseline=base,
            history=history.recent(),
            text=text,
        )

    async def explain_risk(self, job: str) -> RiskExplanation:
        """The deadline-risk finding of one job, whatever its probability ("why is X at risk?").

        Args:
            job: Engine id, ``STREAM.JOB`` or job name.

        Returns:
            The finding (None when the job has no deadline or already ended) and the
            engine's clock it was read at.

        Raises:
            TWSError: The engine failed, or no such job (`TWSNotFoundError`).
        """
        found = await self._resolve(job)
        counter = _Counted()
        now, plan_start, jobs, down = await self._read_plan(counter)
        await self._read_edges(jobs, counter)
        chain = closure([found.id], self._edges, jobs)
        await self._history.fill(self._scheduler, chain, plan_start)
        risks = deadline_findings(
            jobs=jobs,
            preds=self._edges,
            histories=self._history.get,
            blocked_ws=set(down),
            now=now,
            plan_date=plan_day(plan_start, self._zone),
            samples=self._samples,
            seed=self._seed,
            only=[found.id],
            down_minutes=self._down_minutes(now),
        )
        return RiskExplanation(risks[0].finding if risks else None, as_of=now)
