"""Deadline-risk findings: the plan snapshot turned into a Monte Carlo (`agents.watch.risk`).

The graph is the upstream closure of every unfinished job with a deadline; a finished
job ends the closure (its end is known). Durations come from the job's baseline, or the
engine's estimate (with a wide spread) until its history is read. A job that failed never
ends in the simulation (a person must act); a job waiting on a workstation that is down
starts only when it is back (an outage lasts a random time, the same for every job behind
it within one sample, drawn given how long the workstation has been down already).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from agents.watch.detect import display_name
from agents.watch.history import JobHistory
from agents.watch.model import ChartData, Finding, FindingKind, Severity
from integrations.tws.models import FINISHED_STATUSES, JobStatus, PlanJob

# The Monte Carlo (`agents.watch.risk`, numpy: about 50 ms) is imported by the functions
# that run it: every process imports this module (the watch desk), few simulate.
if TYPE_CHECKING:
    from agents.watch.risk import FloatArray, RiskInput

__all__ = ["DeadlineRisk", "closure", "deadline_findings"]

_UNKNOWN_SIGMA: Final = 0.35
# Failed jobs a deadline's finding names (the rest counted): an alert card and its Why? stay
# readable when a bad night leaves dozens of failures upstream of one deadline.
_NAMED_FAILURES: Final = 5
_DEFAULT_MINUTES: Final = 10.0
_CHART_SAMPLES: Final = 200
# How long a workstation outage lasts, from its start: a median of 90 minutes with a wide
# spread (an agent restart takes minutes, a lost server hours). An outage seen for a while
# is drawn given that it lasted so long: "90 more minutes from now" at every cycle would
# push the ETA of everything behind it back cycle after cycle, up to a false alarm just
# before the agent returns.
_OUTAGE_MEDIAN_MIN: Final = 90.0
_OUTAGE_SIGMA: Final = 0.8
_CHART_CAP_MIN: Final = 24 * 60.0
_DONE_OK = frozenset(FINISHED_STATUSES) - {JobStatus.ABEND, JobStatus.FAIL, JobStatus.ERROR}


@dataclass(frozen=True, slots=True)
class DeadlineRisk:
    """One deadline's simulated outcome (also when under the threshold, for "why").

    Attributes:
        job: The job with the deadline.
        probability: Share of samples that miss it.
        finding: The finding (built whatever the probability).
    """

    job: PlanJob
    probability: float
    finding: Finding


def closure(
    targets: list[str], preds: Mapping[str, list[str]], jobs: Mapping[str, PlanJob]
) -> list[str]:
    """Job ids upstream of the targets (targets included), stopping at finished jobs.

    Args:
        targets: Job ids with a deadline.
        preds: Known predecessor ids per job.
        jobs: The plan's jobs by id.

    Returns:
        The ids, in discovery order.
    """
    seen: dict[str, None] = {}
    stack = list(targets)
    while stack:
        job_id = stack.pop()
        if job_id in seen or job_id not in jobs:
            continue
        seen[job_id] = None
        if jobs[job_id].status not in FINISHED_STATUSES:
            stack.extend(preds.get(job_id, []))
    return list(seen)


def _minutes(at: datetime, now: datetime) -> float:
    return (at - now).total_seconds() / 60


def _inputs(
    ids: list[str],
    jobs: Mapping[str, PlanJob],
    histories: Callable[[str], JobHistory | None],
    blocked_ws: set[str],
    now: datetime,
    down_minutes: Mapping[str, float],
) -> RiskInput:
    import numpy as np

    from agents.watch.risk import RiskInput

    n = len(ids)
    floor, fixed, run_start = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    mu, sigma = np.zeros(n), np.full(n, _UNKNOWN_SIGMA)
    outages = {name: i for i, name in enumerate(sorted(blocked_ws))}
    blocked = np.full(n, -1, dtype=np.int64)
    for i, job_id in enumerate(ids):
        job = jobs[job_id]
        history = histories(job_id)
        base = history.baseline if history is not None else None
        if base is not None:
            mu[i], sigma[i] = math.log(max(base.median, 1.0) / 60), base.sigma
        else:
            est = job.estimated_duration.total_seconds() / 60 if job.estimated_duration else 0.0
            mu[i] = math.log(est if est > 0 else _DEFAULT_MINUTES)
        if job.at_time is not None:
            floor[i] = max(0.0, _minutes(job.at_time, now))
        if job.failed:
            fixed[i] = math.inf  # ends nothing until a person reruns or confirms it
        elif job.status in _DONE_OK:
            fixed[i] = _minutes(job.ended_at, now) if job.ended_at else 0.0
        elif job.started_at is not None and job.status == JobStatus.EXEC:
            run_start[i] = min(0.0, _minutes(job.started_at, now))
        elif job.workstation in outages:
            blocked[i] = outages[job.workstation]  # cannot start until its workstation is back
    return RiskInput(
        floor=floor,
        fixed_end=fixed,
        run_start=run_start,
        mu=mu,
        sigma=sigma,
        blocked_by=blocked,
        outage_mu=np.full(len(outages), math.log(_OUTAGE_MEDIAN_MIN)),
        outage_sigma=np.full(len(outages), _OUTAGE_SIGMA),
        outage_elapsed=np.array([down_minutes.get(name, 0.0) for name in outages], dtype=float),
    )


def deadline_findings(
    *,
    jobs: Mapping[str, PlanJob],
    preds: Mapping[str, list[str]],
    histories: Callable[[str], JobHistory | None],
    blocked_ws: set[str],
    now: datetime,
    plan_date: date,
    samples: int,
    seed: int | None,
    only: list[str] | None = None,
    down_minutes: Mapping[str, float] | None = None,
) -> list[DeadlineRisk]:
    """Simulate every unfinished job with a deadline (or those in ``only``).

    Args:
        jobs: The plan's jobs by id.
        preds: Known predecessor ids per job (missing: none known yet).
        histories: The cached history of a job, if read.
        blocked_ws: Names of workstations that are down or unlinked.
        now: The engine's now (minute 0).
        plan_date: Tonight's production day.
        samples: Monte Carlo samples.
        seed: Random seed.
        only: Restrict to these job ids.
        down_minutes: Per workstation in ``blocked_ws``, minutes it has been seen down
            (missing: it just went down).

    Returns:
        One result per deadline job simulated.
    """
    from agents.watch.risk import Graph, critical_chain, simulate

    targets = [
        job_id
        for job_id, job in jobs.items()
        if job.deadline is not None
        and (job.failed or job.status not in FINISHED_STATUSES)
        and (only is None or job_id in only)
    ]
    if not targets:
        return []
    ids = closure(targets, preds, jobs)
    index = {job_id: i for i, job_id in enumerate(ids)}
    pred_idx = [
        [index[p] for p in preds.get(job_id, []) if p in index]
        if jobs[job_id].status not in FINISHED_STATUSES
        else []
        for job_id in ids
    ]
    graph = Graph(pred_idx)
    inp = _inputs(ids, jobs, histories, blocked_ws, now, down_minutes or {})
    sim = simulate(graph, inp, [index[t] for t in targets], samples=samples, seed=seed)
    out: list[DeadlineRisk] = []
    for row, job_id in enumerate(targets):
        job = jobs[job_id]
        assert job.deadline is not None
        deadline = _minutes(job.deadline, now)
        probability = sim.miss_probability(row, deadline)
        chain = [jobs[ids[i]] for i in critical_chain(graph, sim, index[job_id])]
        failed = _failed_upstream(job_id, chain, preds, jobs)
        finding = _finding(
            job, probability, sim.ends[row], deadline, (chain, failed), now, plan_date
        )
        out.append(DeadlineRisk(job=job, probability=probability, finding=finding))
    return out


def _failed_upstream(
    job_id: str, chain: list[PlanJob], preds: Mapping[str, list[str]], jobs: Mapping[str, PlanJob]
) -> list[tuple[PlanJob, list[PlanJob]]]:
    """Every failed job the target waits for, the critical chain's first, each with its path.

    A job blocked by two failures needs both fixed: naming only the critical chain's would
    send the operator to rerun one and find the deadline still lost. The path (failure
    first, target last) shows the streams crossed. Walked only when the chain holds a
    failure (the upstream of a blocked job stops at finished jobs: small).
    """
    first = next((link for link in chain if link.failed), None)
    if first is None:
        return []
    parent: dict[str, str | None] = {job_id: None}  # breadth first: shortest paths
    queue = deque([job_id])
    while queue:
        current = queue.popleft()
        if current != job_id and jobs[current].status in FINISHED_STATUSES:
            continue  # a finished job ends the walk, as in `closure`
        for pred in preds.get(current, []):
            if pred in jobs and pred not in parent:
                parent[pred] = current
                queue.append(pred)

    def path(start: str) -> list[PlanJob]:
        links: list[PlanJob] = []
        at: str | None = start
        while at is not None:
            links.append(jobs[at])
            at = parent[at]
        return links

    others = sorted(
        (i for i in parent if jobs[i].failed and i != first.id), key=lambda i: display_name(jobs[i])
    )
    # The first's path is the critical chain, shown on its own line of the finding.
    return [(first, []), *((jobs[i], path(i)) for i in others)]


def _finding(
    job: PlanJob,
    probability: float,
    ends: FloatArray,
    deadline: float,
    paths: tuple[list[PlanJob], list[tuple[PlanJob, list[PlanJob]]]],
    now: datetime,
    plan_date: date,
) -> Finding:
    """One target's finding; ``paths``: its critical chain, the failures it waits on (paths)."""
    import numpy as np

    assert job.deadline is not None
    median = float(np.median(ends))
    eta = now + timedelta(minutes=median) if math.isfinite(median) else None
    at = job.deadline.strftime("%H:%M UTC")
    lead = deadline
    chain, blockers = paths
    failed = [link for link, _ in blockers]
    if eta is not None:
        expected = f"expected end {eta.strftime('%H:%M UTC')} (median of {ends.size} simulations)"
    elif failed:
        names = [display_name(link) for link in failed[:_NAMED_FAILURES]]
        if len(failed) > len(names):
            names.append(f"{len(failed) - len(names)} more failed jobs")
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        expected = f"it cannot end until {listed} {'is' if len(names) == 1 else 'are'} fixed"
    else:
        expected = "it cannot end while what it waits for is blocked"
    passed = lead < 0
    explanation = f"{probability:.0%} chance to miss {at}; {expected}; " + (
        f"deadline passed {-lead:.0f} min ago" if passed else f"{lead:.0f} min to the deadline"
    )
    evidence = [f"critical chain: {' → '.join(display_name(link) for link in chain)}"]
    for link, route in blockers[:_NAMED_FAILURES]:
        via = f" (waited on by {' → '.join(display_name(r) for r in route[1:])})" if route else ""
        evidence.append(f"{display_name(link)} ended {link.status.value}{via}")
    capped = np.minimum(np.sort(ends), _CHART_CAP_MIN)
    step = max(1, capped.size // _CHART_SAMPLES)
    return Finding(
        kind=FindingKind.DEADLINE_RISK,
        object_id=job.id,
        object_name=display_name(job),
        plan_date=plan_date,
        severity=Severity.CRITICAL if probability >= 0.9 or passed else Severity.WARNING,
        # Past the deadline and unfinished is a miss, not a risk: say so plainly.
        headline=f"{job.name} {'missed' if passed else 'may miss'} its deadline ({at})",
        explanation=explanation,
        evidence=tuple(evidence),
        job_id=job.id,
        probability=probability,
        eta=eta,
        deadline=job.deadline,
        chain=tuple(display_name(link) for link in chain),
        chart=ChartData(
            kind="forecast",
            title=f"{display_name(job)}: expected end vs deadline (min from now)",
            samples=tuple(float(v) for v in capped[::step]),
            deadline=deadline,
            origin=now,
        ),
    )
