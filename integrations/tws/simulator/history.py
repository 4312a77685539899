"""Archived runs of past nights, generated lazily per job and day from the seed.

Past nights are ordinary nights except on two counts: on month-end nights (see
`integrations.tws.simulator.month_end`) finance streams run slower by their fixed factor,
and a job the scenario names in ``abend_streak`` ABENDed (then a rerun succeeded) on each of
its last N nights.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from integrations.tws.simulator.month_end import is_month_end, month_end_factor
from integrations.tws.simulator.plan import Plan, SimJob, SimRun, new_uuid
from integrations.tws.simulator.runs import streak_error
from integrations.tws.simulator.scenario import Scenario
from integrations.tws.simulator.stdlist import FAILURES

__all__ = ["HistoryArchive"]


class HistoryArchive:
    """Past runs of every job: one per night (plus a rerun after a failure).

    Each night's runs depend only on the seed, the job and the date, so asking again
    (or asking for more days) gives the same runs.
    """

    def __init__(
        self,
        plan: Plan,
        seed: int,
        max_days: int,
        failure_rate: float = 1.0,
        scenario: Scenario | None = None,
    ) -> None:
        """Create the archive.

        Args:
            plan: The current plan (the archive ends the night before it).
            seed: Random seed.
            max_days: How far back runs exist.
            failure_rate: Tonight's scenario multiplier (past nights were usual ones).
            scenario: Tonight's scenario, for its ``abend_streak`` jobs.
        """
        self._scenario = scenario
        self._plan = plan
        self._seed = seed
        self.max_days = max_days
        self._failure_rate = failure_rate or 1.0
        self._cache: dict[tuple[str, date], list[SimRun]] = {}
        self._runs: dict[str, tuple[SimJob, SimRun]] = {}

    def _night(self, job: SimJob, day: int) -> list[SimRun]:
        plan_start = self._plan.start - timedelta(days=day)
        key = (job.id, plan_start.date())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        rng = random.Random(f"{self._seed}|{job.key}|{plan_start.date().isoformat()}")
        usual = (job.expected_start or job.stream.sched_time) - self._plan.start
        start = plan_start + usual + timedelta(seconds=abs(rng.gauss(0, 120)))
        slower = month_end_factor(job.stream.name) if is_month_end(plan_start.date()) else 1.0
        streak = self._scenario.streak_nights(job.stream.name, job.name) if self._scenario else 0
        runs: list[SimRun] = []
        attempts = 0
        while True:
            duration = max(5.0, rng.gauss(job.mean, job.stddev)) * slower
            error: str | None = None
            if attempts == 0 and rng.random() < job.fail_prob / self._failure_rate * 1.5:
                error = job.profiles[0] if rng.random() < 0.7 else job.profiles[-1]
            if attempts == 0 and day <= streak:
                error = streak_error(job)
            status = "SUCC" if error is None else FAILURES[error].status
            if error is not None:
                duration = 1.0 if status == "FAIL" else duration * rng.uniform(0.15, 0.9)
            rc = 0 if error is None else FAILURES[error].return_code
            run = SimRun(
                run_id=new_uuid(rng),
                start=start,
                end=start + timedelta(seconds=round(duration)),
                status=status,
                outcome=status,
                return_code=rc,
                error=error,
                job_number=rng.randint(10_000, 99_999),
                cpu_ms=int(duration * rng.uniform(20, 400)),
                mem_kb=rng.randint(8_000, 900_000),
            )
            runs.append(run)
            self._runs[run.run_id] = (job, run)
            attempts += 1
            if status == "SUCC" or attempts > 1:
                break
            start = run.end + timedelta(minutes=rng.randint(15, 75))
        runs.reverse()
        self._cache[key] = runs
        return runs

    def runs_for(self, job: SimJob, days: int) -> list[SimRun]:
        """Runs of the last ``days`` nights before the current plan, newest first.

        Args:
            job: The job.
            days: Nights to go back (capped at the archive's depth).

        Returns:
            The runs, newest first.
        """
        out: list[SimRun] = []
        for day in range(1, min(days, self.max_days) + 1):
            out.extend(self._night(job, day))
        return out

    def run(self, run_id: str) -> tuple[SimJob, SimRun] | None:
        """A run already handed out by `runs_for`, by id."""
        return self._runs.get(run_id)

    @staticmethod
    def latest_first(runs: list[SimRun]) -> list[SimRun]:
        """Sort runs newest first."""
        return sorted(runs, key=lambda r: r.start, reverse=True)

    @staticmethod
    def ended_by(runs: list[SimRun], now: datetime) -> list[SimRun]:
        """Keep runs that started by ``now``."""
        return [r for r in runs if r.start <= now]
