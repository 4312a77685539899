"""Run history per job, read from the engine at most once per plan date and capped per cycle.

History reads are the watcher's expensive part (one call per job). They are kept for the
whole production day (past nights do not change during a night) and a cycle reads at
most ``max_reads`` new ones, the most useful first (the caller orders the jobs: running,
finished tonight, on a deadline chain, the rest), so after a few cycles every job that
matters has a baseline while each cycle stays bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from agents.watch.baseline import Baseline, baseline_for
from agents.watch.failrate import FailureRate, assess
from integrations.tws.errors import TWSNotFoundError
from integrations.tws.models import FAILED_STATUSES, JobRun, JobStatus
from integrations.tws.scheduler import Scheduler

__all__ = ["UTC_ZONE", "HistoryCache", "JobHistory", "night_of", "plan_day", "summarise"]

_CONCURRENCY = 8
_OK = frozenset({JobStatus.SUCC, JobStatus.SUCCP})


UTC_ZONE: Final = ZoneInfo("UTC")  # the default site zone


def plan_day(plan_start: datetime, zone: ZoneInfo) -> date:
    """The production day of a plan: its start's date in the site's time zone.

    A plan starting at 23:00 UTC starts at 00:00 in Paris, so it is the next day's plan
    there; the UTC date would name the wrong production day.

    Args:
        plan_start: The plan's start (timezone-aware).
        zone: The site's time zone (``RESYNC_TIMEZONE``).

    Returns:
        The production day.
    """
    return plan_start.astimezone(zone).date()


def night_of(started: datetime, plan_start: datetime, zone: ZoneInfo = UTC_ZONE) -> date:
    """The production day a run belongs to, given tonight's plan start.

    Plans last a day and start at the same time of day, so a run belongs to the plan
    whose start is the latest one before it.

    Args:
        started: When the run started.
        plan_start: Tonight's plan start.
        zone: The site's time zone (a plan's day is its local start date).

    Returns:
        The production day (the start date of its plan).
    """
    offset = (started - plan_start) // timedelta(days=1)
    return plan_day(plan_start, zone) + timedelta(days=offset)


@dataclass(frozen=True, slots=True)
class JobHistory:
    """A job's past nights (tonight excluded) and what they tell.

    Attributes:
        job_id: The plan job id.
        durations: (night, seconds) of successful past runs, oldest first.
        nights: (night, failed) per past night, oldest first.
        baseline: The duration baseline for tonight, None with too few runs.
    """

    job_id: str
    durations: tuple[tuple[date, float], ...]
    nights: tuple[tuple[date, bool], ...]
    baseline: Baseline | None

    def failure_rate(self, tonight: date, failed_tonight: bool | None) -> FailureRate:
        """Past nights plus tonight (when it ran) against the job's longer history."""
        nights = list(self.nights)
        if failed_tonight is not None:
            nights.append((tonight, failed_tonight))
        return assess(nights)

    def recent(self, count: int = 14) -> tuple[tuple[date, float], ...]:
        """The last ``count`` successful runs' (night, minutes), for a chart."""
        return tuple((night, seconds / 60) for night, seconds in self.durations[-count:])


def summarise(
    job_id: str, runs: Iterable[JobRun], plan_start: datetime, zone: ZoneInfo = UTC_ZONE
) -> JobHistory:
    """Turn a job's runs into its past nights and tonight's baseline.

    Args:
        job_id: The job.
        runs: Its runs as the engine listed them (tonight's ones are left out).
        plan_start: Tonight's plan start.
        zone: The site's time zone (nights are local production days).

    Returns:
        The summary.
    """
    tonight = plan_day(plan_start, zone)
    durations: list[tuple[date, float]] = []
    failed: dict[date, bool] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        night = night_of(run.started_at, plan_start, zone)
        if night >= tonight:
            continue
        # A night failed when its first run failed (a rerun that succeeded does not undo it).
        failed.setdefault(night, run.status in FAILED_STATUSES)
        if run.status in _OK and run.duration is not None:
            durations.append((night, run.duration.total_seconds()))
    return JobHistory(
        job_id=job_id,
        durations=tuple(durations),
        nights=tuple(sorted(failed.items())),
        baseline=baseline_for(durations, tonight),
    )


class HistoryCache:
    """Job histories for one production day, read at most ``max_reads`` per cycle."""

    def __init__(self, *, days: int = 90, max_reads: int = 40, zone: ZoneInfo = UTC_ZONE) -> None:
        """Create an empty cache.

        Args:
            days: Nights of history asked per job.
            max_reads: New history reads allowed per cycle.
            zone: The site's time zone (nights are local production days).
        """
        self._zone = zone
        self._days = days
        self._max_reads = max_reads
        self._plan_start: datetime | None = None
        self._by_job: dict[str, JobHistory] = {}

    def get(self, job_id: str) -> JobHistory | None:
        """The cached history of a job, if read for this plan."""
        return self._by_job.get(job_id)

    def _new_plan(self, plan_start: datetime) -> None:
        if self._plan_start != plan_start:
            self._plan_start = plan_start
            self._by_job = {}

    async def read(self, scheduler: Scheduler, job_id: str, plan_start: datetime) -> JobHistory:
        """Read (or reuse) one job's history, outside the per-cycle cap.

        Args:
            scheduler: The engine.
            job_id: The job.
            plan_start: Tonight's plan start.

        Returns:
            The job's history.
        """
        self._new_plan(plan_start)
        cached = self._by_job.get(job_id)
        if cached is None:
            try:
                runs = (await scheduler.job_history(job_id, days=self._days)).value
            except TWSNotFoundError:
                runs = []  # the job left the plan since the query: nothing to learn
            cached = summarise(job_id, runs, plan_start, self._zone)
            self._by_job[job_id] = cached
        return cached

    async def fill(self, scheduler: Scheduler, job_ids: Iterable[str], plan_start: datetime) -> int:
        """Read the histories not cached yet, in the given order, up to the cycle's cap.

        Args:
            scheduler: The engine.
            job_ids: Jobs in priority order (duplicates ignored).
            plan_start: Tonight's plan start (a new one empties the cache).

        Returns:
            How many engine reads were made.
        """
        self._new_plan(plan_start)
        todo = [job_id for job_id in dict.fromkeys(job_ids) if job_id not in self._by_job]
        todo = todo[: self._max_reads]
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def one(job_id: str) -> None:
            async with limit:
                await self.read(scheduler, job_id, plan_start)

        await asyncio.gather(*(one(job_id) for job_id in todo))
        return len(todo)
