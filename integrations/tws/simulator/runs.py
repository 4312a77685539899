"""How long tonight's run of a job lasts and how it ends: drawn from the seed, bent by the scenario.

A run's draws depend only on ``(seed, job, attempt)``, so injecting one job (slower, shorter,
failing) changes nothing else's draws. The first run of a job named by the scenario's
``force_abend``/``force_fail``/``abend_streak``/``slow_jobs``/``short_jobs`` never fails at
random (its story is the injected one); reruns draw normally.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from integrations.tws.simulator.plan import SimJob, SimRun, new_uuid
from integrations.tws.simulator.scenario import ForcedOutcome, Scenario
from integrations.tws.simulator.stdlist import FAILURES

__all__ = ["draw_run", "forced_outcome", "streak_error"]


def streak_error(job: SimJob) -> str:
    """The failure an ABEND-forced job shows when the scenario names none."""
    return next((p for p in job.profiles if FAILURES[p].status == "ABEND"), "segfault")


def forced_outcome(scenario: Scenario, job: SimJob) -> ForcedOutcome | None:
    """How the job's first run tonight must end, if the scenario decides it.

    ``force_abend``/``force_fail`` win; otherwise an ``abend_streak`` job ABENDs the way it
    did on its past nights.
    """
    forced = scenario.forced_for(job.stream.name, job.name)
    if forced is None and scenario.streak_nights(job.stream.name, job.name):
        forced = ForcedOutcome(job=job.key, status="ABEND", error=streak_error(job))
    return forced


def draw_run(
    job: SimJob, scenario: Scenario, seed: int, *, when: datetime, job_number: int
) -> SimRun:
    """Draw the job's next run, starting ``when``.

    Args:
        job: The job (its ``runs`` so far tell which attempt this is).
        scenario: Tonight's scenario (forced outcomes, slow and short jobs).
        seed: The simulator's seed.
        when: Start time.
        job_number: The operating-system job number to show.

    Returns:
        The run, status ``EXEC``; ``end`` and ``outcome`` say how it will end.
    """
    rng = random.Random(f"{seed}|{job.id}|{len(job.runs)}")
    first = not job.runs
    duration = max(5.0, rng.gauss(job.mean, job.stddev)) * job.slowdown
    forced = forced_outcome(scenario, job) if first else None
    slow = scenario.slow_factor(job.stream.name, job.name) if first else None
    short = scenario.short_factor(job.stream.name, job.name) if first else None
    injected = forced is not None or slow is not None or short is not None
    error: str | None = None
    outcome = "SUCC"
    return_code: int | None = 0
    fail_prob = job.fail_prob if first else job.fail_prob / 4
    if forced is not None:
        outcome = forced.status
        error = forced.error or next(
            (p for p in job.profiles if FAILURES[p].status == forced.status),
            "launch_fail" if forced.status == "FAIL" else "segfault",
        )
    elif rng.random() < fail_prob and not injected and not scenario.is_stable(job.stream.name):
        error = job.profiles[0] if rng.random() < 0.7 else job.profiles[-1]
        outcome = FAILURES[error].status
    if error is not None:
        failure = FAILURES[error]
        return_code = failure.return_code
        if forced is not None and forced.return_code is not None and outcome == "ABEND":
            return_code = forced.return_code
        duration = 1.0 if outcome == "FAIL" else duration * rng.uniform(0.15, 0.9)
    else:
        duration *= (slow or 1.0) * (short or 1.0)
    return SimRun(
        run_id=new_uuid(rng),
        start=when,
        end=when + timedelta(seconds=round(duration)),
        status="EXEC",
        outcome=outcome,
        return_code=return_code if outcome != "FAIL" else None,
        error=error,
        job_number=job_number,
        cpu_ms=int(duration * rng.uniform(20, 400)),
        mem_kb=rng.randint(8_000, 900_000),
    )
