"""Expected end times and deadline risk, from run history and the dependency chain.

A job that has not finished is expected to end at:

- running: its start plus its typical duration (never before now);
- not started: the latest of now, its at-time and the expected ends of its unfinished
  predecessors, plus its typical duration.

The typical duration is the engine's own estimate (``estimatedDuration``, the mean of past
runs). A forecast reads the plan once (`read_forecast_plan`: only the jobs a forecast can
use, not the thousands that already ended well) and takes each job's predecessors from
that read when the engine sends them with the job (``dependencies``, as HWA's plan objects
carry them); otherwise it reads one predecessor list per unfinished job that matters,
concurrently, kept across questions (`EdgeCache`). A job is *late* when the engine flagged
it or its deadline passed unfinished; *at risk* when its expected end is after its deadline.

The jobs watched are the unfinished ones with a deadline, and the failed ones that are
late (flagged, or deadline passed): a failed job has not done its work, so its deadline
still counts, and it is the first thing an operator must see in "what is late?".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from integrations.tws.models import FAILED_STATUSES, FINISHED_STATUSES, JobStatus, PlanJob
from integrations.tws.scheduler import Scheduler, Snapshot

__all__ = [
    "FORECAST_STATUSES",
    "EdgeCache",
    "Forecast",
    "Forecaster",
    "JobForecast",
    "is_late",
    "is_watched",
    "read_forecast_plan",
]

FORECAST_STATUSES: tuple[JobStatus, ...] = tuple(
    status for status in JobStatus if status not in FINISHED_STATUSES or status in FAILED_STATUSES
)
"""The statuses a forecast reads: unfinished, or failed. A job that ended well ended before
now, so it can neither push a successor's start (that is never before now) nor block it; on
a big plan it is most of the plan (30,000 of 50,000 jobs in the middle of the night)."""

_READ_CONCURRENCY = 8
# Predecessor chains longer than this are cut: a forecast stays bounded on any plan.
_MAX_DEPTH = 25


@dataclass(frozen=True, slots=True)
class JobForecast:
    """One unfinished job's expected end against its deadline.

    Attributes:
        job: The job.
        expected_end: When it should end.
        overrun: ``expected_end - deadline`` (positive: late by that much).
        late: Already late (engine flag, or deadline passed unfinished).
        blocked_by: The unfinished predecessor that pushes its start, if any.
        blocked_by_failure: True when a failed predecessor blocks it (no end until fixed).
        failed_root: The failed job at the root of the blocking chain, when one blocks it.
    """

    job: PlanJob
    expected_end: datetime
    overrun: timedelta | None
    late: bool
    blocked_by: str | None = None
    blocked_by_failure: bool = False
    failed_root: str | None = None

    @property
    def at_risk(self) -> bool:
        """True when it is late, blocked by a failure, or expected to end after its deadline."""
        return (
            self.late
            or self.blocked_by_failure
            or (self.overrun is not None and self.overrun > timedelta(0))
        )


@dataclass(frozen=True, slots=True)
class Forecast:
    """Forecasts for the jobs that have a deadline, worst first."""

    now: datetime
    jobs: list[JobForecast]

    @property
    def late(self) -> list[JobForecast]:
        """Jobs already late."""
        return [item for item in self.jobs if item.late]

    @property
    def at_risk(self) -> list[JobForecast]:
        """Jobs not yet late but expected to miss their deadline (or blocked by a failure)."""
        return [item for item in self.jobs if item.at_risk and not item.late]


class EdgeCache:
    """Predecessor ids per plan job, kept for a few minutes across questions.

    A plan's dependency graph hardly changes during a night (plan job ids are unique per
    plan, and an operator adding or releasing a dependency is rare), while reading it costs
    one call per job. Statuses are never cached: every forecast reads them fresh, so a
    cached edge can at worst miss a dependency changed in the last ``ttl_seconds``.
    """

    def __init__(
        self, *, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Create an empty cache.

        Args:
            ttl_seconds: How long a job's predecessor list is reused (0 disables caching).
            clock: Monotonic clock in seconds (injectable for tests).
        """
        self._ttl = ttl_seconds
        self._clock = clock
        self._edges: dict[str, tuple[float, list[str]]] = {}

    async def predecessors(self, scheduler: Scheduler, job_id: str) -> list[str]:
        """The ids of the jobs this job waits for.

        Args:
            scheduler: Where to read them when not cached.
            job_id: The job's plan id.

        Returns:
            Predecessor job ids (job streams and external dependencies left out).
        """
        cached = self._edges.get(job_id)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        deps = await scheduler.job_predecessors(job_id)
        ids = [dep.id for dep in deps.value if dep.kind == "job"]
        if self._ttl > 0:
            self._edges[job_id] = (now, ids)
        return ids


async def read_forecast_plan(scheduler: Scheduler) -> Snapshot[list[PlanJob]]:
    """The plan as a forecast needs it: the jobs in `FORECAST_STATUSES`, in one query.

    Args:
        scheduler: The engine.

    Returns:
        Those jobs (a job that ended well is left out: see `FORECAST_STATUSES`).
    """
    return await scheduler.query_jobs(statuses=FORECAST_STATUSES)


def _deadline_passed(job: PlanJob, now: datetime) -> bool:
    return job.deadline is not None and job.deadline < now


def is_late(job: PlanJob, now: datetime) -> bool:
    """True when the engine flagged the job late, or its deadline passed and it has not done its work.

    Args:
        job: The job.
        now: The engine's now.

    Returns:
        Whether it is late now (a failed job counts as not done).
    """
    not_done = job.failed or job.status not in FINISHED_STATUSES
    return job.late or (not_done and _deadline_passed(job, now))


def is_watched(job: PlanJob, now: datetime) -> bool:
    """True for the jobs a lateness forecast covers (see the module docstring).

    Args:
        job: The job.
        now: The engine's now.

    Returns:
        Unfinished with a deadline, or failed and late.
    """
    if job.failed:
        return is_late(job, now)
    return job.deadline is not None and job.status not in FINISHED_STATUSES


class Forecaster:
    """Computes expected ends over one snapshot of the plan."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        jobs: Iterable[PlanJob],
        now: datetime,
        edges: EdgeCache | None = None,
    ) -> None:
        """Prepare a forecast over one snapshot of the plan.

        Args:
            scheduler: Where to read dependencies.
            jobs: Every job of the plan (one query).
            now: The engine's time of that snapshot.
            edges: A dependency cache shared across questions; none: read every time.
        """
        self._edges = edges or EdgeCache(ttl_seconds=0)
        self._scheduler = scheduler
        self._jobs = {job.id: job for job in jobs}
        self._now = now
        self._ends: dict[str, tuple[datetime, str | None, bool]] = {}
        self._failed_roots: dict[str, str] = {}
        self._predecessors: dict[str, list[str]] = {}
        self._limit = asyncio.Semaphore(_READ_CONCURRENCY)

    async def _load_predecessors(self, job_ids: Iterable[str]) -> None:
        async def load(job_id: str) -> None:
            async with self._limit:
                ids = await self._edges.predecessors(self._scheduler, job_id)
            self._predecessors[job_id] = [dep_id for dep_id in ids if dep_id in self._jobs]

        todo: list[str] = []
        for job_id in job_ids:
            if job_id in self._predecessors:
                continue
            inline = self._jobs[job_id].predecessor_ids
            if inline is None:
                todo.append(job_id)
            else:  # the engine sent them with the job: no read
                self._predecessors[job_id] = [dep for dep in inline if dep in self._jobs]
        await asyncio.gather(*(load(job_id) for job_id in todo))

    async def _load_chain(self, roots: Iterable[str]) -> None:
        frontier = {
            job_id for job_id in roots if self._jobs[job_id].status not in FINISHED_STATUSES
        }
        for _ in range(_MAX_DEPTH):
            if not frontier:
                return
            await self._load_predecessors(frontier)
            frontier = {
                pred
                for job_id in frontier
                for pred in self._predecessors.get(job_id, [])
                if pred not in self._predecessors
                and self._jobs[pred].status not in FINISHED_STATUSES
            }

    def _typical(self, job: PlanJob) -> timedelta:
        return job.estimated_duration or timedelta(0)

    def _end(self, job_id: str, depth: int = 0) -> tuple[datetime, str | None, bool]:
        """Expected end, the predecessor that decides it, and whether a failure blocks it."""
        if job_id in self._ends:
            return self._ends[job_id]
        job = self._jobs[job_id]
        blocker: str | None = None
        blocked_by_failure = False
        if job.status in FINISHED_STATUSES and job.status not in (JobStatus.ABEND, JobStatus.FAIL):
            end = job.ended_at or self._now
        elif job.failed:
            # A failed job ends nothing until a person reruns or confirms it.
            end, blocked_by_failure = self._now, True
        elif job.status == JobStatus.EXEC and job.started_at is not None:
            end = max(self._now, job.started_at + self._typical(job))
        else:
            start = max(self._now, job.at_time or self._now)
            if depth < _MAX_DEPTH:
                for pred in self._predecessors.get(job_id, []):
                    pred_end, _, pred_blocked = self._end(pred, depth + 1)
                    pred_job = self._jobs[pred]
                    if pred_job.failed or pred_blocked:
                        blocked_by_failure = True
                        # Name the failed job at the root of the chain, not the waiting link.
                        root = pred_job.name if pred_job.failed else self._failed_roots.get(pred)
                        self._failed_roots.setdefault(job_id, root or pred_job.name)
                        blocker = blocker or pred_job.name
                    if pred_end > start:
                        start, blocker = pred_end, pred_job.name
            end = start + self._typical(job)
        self._ends[job_id] = (end, blocker, blocked_by_failure)
        return self._ends[job_id]

    async def forecast(self, job_ids: Iterable[str] | None = None) -> Forecast:
        """Forecast the jobs with a deadline (all of them, or those given).

        Args:
            job_ids: Restrict to these jobs; default every unfinished job with a deadline.

        Returns:
            The forecast, latest overrun first.
        """
        if job_ids is None:
            job_ids = [job.id for job in self._jobs.values() if is_watched(job, self._now)]
        targets = [job_id for job_id in job_ids if job_id in self._jobs]
        await self._load_chain(targets)
        results: list[JobForecast] = []
        for job_id in targets:
            job = self._jobs[job_id]
            end, blocker, blocked = self._end(job_id)
            overrun = end - job.deadline if job.deadline is not None else None
            late = is_late(job, self._now)
            results.append(
                JobForecast(
                    job=job,
                    expected_end=end,
                    overrun=overrun,
                    late=late,
                    blocked_by=blocker,
                    blocked_by_failure=blocked,
                    failed_root=self._failed_roots.get(job_id),
                )
            )
        results.sort(key=lambda item: item.overrun or timedelta.min, reverse=True)
        return Forecast(now=self._now, jobs=results)

    def watched(self, job_ids: Iterable[str]) -> list[str]:
        """The given jobs that a lateness forecast covers (`is_watched`), in order.

        Args:
            job_ids: Plan job ids.

        Returns:
            Those in this snapshot that are unfinished with a deadline, or failed and late.
        """
        return [
            job_id
            for job_id in job_ids
            if job_id in self._jobs and is_watched(self._jobs[job_id], self._now)
        ]

    def expected_end(self, job_id: str) -> datetime | None:
        """The expected end of a job already forecast (or of one with no predecessors read).

        Args:
            job_id: The job.

        Returns:
            Its expected end, or None when it is not in this snapshot.
        """
        if job_id not in self._jobs:
            return None
        return self._end(job_id)[0]
