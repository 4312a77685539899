"""Ground truth for evaluating detectors: what the scenario injected, what failed, which deadlines held.

Served as ``GET /_sim/truth`` (control mode only), as of the simulated clock::

    {"injected": [{"kind", "object", "job_id", "detail"}],
     "failures": [{"job_id", "name", "run_id", "status", "at"}],
     "deadlines": [{"job_id", "name", "deadline", "ended", "missed"}]}

``injected`` lists every injection the scenario (or a control call) made, whether or not it
took effect yet. ``failures`` lists every run of tonight's plan that ended ABEND or FAIL by
now (injected or random). ``deadlines`` lists every job with a deadline: ``ended`` is when it
finished successfully (SUCC or another status that releases successors), ``missed`` is true
once it ended after its deadline or the deadline passed without it finishing, false once it
ended in time, null while that is not decided.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from integrations.tws.simulator.plan import Plan, SimJob
from integrations.tws.simulator.runs import forced_outcome
from integrations.tws.simulator.scenario import Scenario
from integrations.tws.simulator.statuses import SATISFIED
from integrations.tws.wire import format_time

__all__ = ["ManualOutage", "truth"]

ManualOutage = tuple[str, datetime, bool]
"""``(workstation, when, up)``: a ``/_sim/workstation/{name}/{up|down}`` call."""


def _injected(scenario: Scenario, plan: Plan, manual: list[ManualOutage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in scenario.outages:
        detail: dict[str, Any] = {
            "at": format_time(plan.start + timedelta(minutes=spec.at_minutes)),
            "for_minutes": spec.for_minutes,
        }
        out.append(_entry("workstation_down", spec.workstation, None, detail))
    for name, when, up in manual:
        if not up:
            detail = {"at": format_time(when), "for_minutes": None, "source": "control"}
            out.append(_entry("workstation_down", name, None, detail))
    for job in plan.jobs:
        out.extend(_job_injections(scenario, job))
    return out


def _job_injections(scenario: Scenario, job: SimJob) -> list[dict[str, Any]]:
    stream, name = job.stream.name, job.name
    out: list[dict[str, Any]] = []
    slow = scenario.slow_factor(stream, name)
    short = scenario.short_factor(stream, name)
    nights = scenario.streak_nights(stream, name)
    forced = scenario.forced_for(stream, name)
    if forced is not None:
        kind = "force_abend" if forced.status == "ABEND" else "force_fail"
        actual = forced_outcome(scenario, job)
        error = actual.error if actual is not None else None
        detail: dict[str, Any] = {"rc": forced.return_code, "error": forced.error or error}
        out.append(_entry(kind, job.key, job.id, detail))
    if nights:
        out.append(_entry("abend_streak", job.key, job.id, {"nights": nights}))
    if slow is not None and forced is None and not nights:
        detail = {"factor": slow, "usual_seconds": job.mean}
        out.append(_entry("slow", job.key, job.id, detail))
    if short is not None and forced is None and not nights:
        detail = {"factor": short, "usual_seconds": job.mean}
        out.append(_entry("short", job.key, job.id, detail))
    return out


def _entry(kind: str, obj: str, job_id: str | None, detail: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "object": obj, "job_id": job_id, "detail": detail}


def _failures(plan: Plan) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for job in plan.jobs:
        for run in job.runs:
            if run.status in ("ABEND", "FAIL"):
                out.append(
                    {
                        "job_id": job.id,
                        "name": job.key,
                        "run_id": run.run_id,
                        "status": run.status,
                        "at": format_time(run.end),
                    }
                )
    out.sort(key=lambda f: (f["at"], f["name"]))
    return out


def _deadlines(plan: Plan, now: datetime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for job in plan.jobs:
        if job.deadline is None:
            continue
        finished = job.phase == "done" and job.final_status in SATISFIED and bool(job.runs)
        ended = job.runs[-1].end if finished else None
        missed: bool | None
        if ended is not None:
            missed = ended > job.deadline
        elif now > job.deadline:
            missed = True
        else:
            missed = None
        out.append(
            {
                "job_id": job.id,
                "name": job.key,
                "deadline": format_time(job.deadline),
                "ended": format_time(ended),
                "missed": missed,
            }
        )
    return out


def truth(
    scenario: Scenario, plan: Plan, now: datetime, manual: list[ManualOutage]
) -> dict[str, Any]:
    """The ground truth of the night as of ``now`` (the state must be synced to it).

    Args:
        scenario: Tonight's scenario (what it injects).
        plan: The plan, synced to ``now``.
        now: The simulated now.
        manual: Workstation outages and recoveries made through the control endpoints.

    Returns:
        ``{"injected": [...], "failures": [...], "deadlines": [...]}`` (module docstring).
    """
    return {
        "injected": _injected(scenario, plan, manual),
        "failures": _failures(plan),
        "deadlines": _deadlines(plan, now),
    }
