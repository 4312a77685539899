"""Handover facts read from one snapshot of the plan: failures, missed deadlines, workstations.

Pure functions over what the engine returned, so the facts are exactly the engine's: a
failure is a job whose status is ABEND/FAIL/ERROR now, or one rerun in this plan (its
current run says whether the rerun succeeded); a deadline is missed when it passed and the
job has not done its work, or when the job ended after it during the shift.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agents.forecast import is_late
from agents.formatting import format_clock, format_status, plural
from agents.handover.model import Deadline, Failure, WorkstationDown
from integrations.tws.models import FINISHED_STATUSES, JobStatus, PlanJob, Workstation

__all__ = ["failures", "missed_deadlines", "workstations_down"]

_SUCCESS = frozenset({JobStatus.SUCC, JobStatus.SUCCP, JobStatus.DONE})


def _state(job: PlanJob) -> str:
    reruns = job.rerun_count
    if job.failed:
        return "still failed" if reruns == 0 else f"failed again after {plural(reruns, 'rerun')}"
    if job.status in _SUCCESS:
        return "rerun succeeded"
    if job.status in FINISHED_STATUSES:
        return f"rerun ended {job.status.value}"
    return "rerun running" if job.started_at and not job.ended_at else "rerun waiting to start"


def failures(jobs: Iterable[PlanJob]) -> list[Failure]:
    """Jobs failed now or rerun in this plan: still failed first, then latest first.

    Args:
        jobs: Every job of the plan.

    Returns:
        One item per job.
    """
    picked = [job for job in jobs if job.failed or job.rerun_count > 0]
    items = [
        Failure(
            name=job.name,
            stream=job.job_stream_name,
            workstation=job.workstation,
            status=format_status(job),
            state=_state(job),
            failed=job.failed,
            recovered=job.status in _SUCCESS,
            ended_at=job.ended_at,
            drill=f"why {job.name}" if job.failed else f"status of {job.name}",
        )
        for job in picked
    ]
    never = datetime.min.replace(tzinfo=UTC)
    items.sort(key=lambda f: f.ended_at or never, reverse=True)
    items.sort(key=lambda f: not f.failed)  # stable: still failed first, each latest first
    return items


def missed_deadlines(
    jobs: Iterable[PlanJob], *, now: datetime, start: datetime, zone: ZoneInfo
) -> list[Deadline]:
    """Deadlines that passed without the job's work done, or that it ended after this shift.

    Args:
        jobs: Every job of the plan.
        now: The engine's clock.
        start: When the shift began (a job that ended late before it is the last shift's).
        zone: Display time zone (for the notes).

    Returns:
        Missed deadlines, earliest deadline first.
    """
    out: list[Deadline] = []
    for job in jobs:
        deadline = job.deadline
        done = job.status in FINISHED_STATUSES and not job.failed
        if not done and is_late(job, now):  # the test "what is late?" uses
            note = f"{format_status(job)}: not done yet"
            end = None
        elif (
            deadline is not None
            and job.ended_at is not None
            and job.ended_at > deadline
            and job.ended_at >= start
        ):
            note = f"ended {format_clock(job.ended_at, zone=zone, today=now)}, late"
            end = job.ended_at
        else:
            continue
        out.append(
            Deadline(
                name=f"{job.job_stream_name}.{job.name}",
                deadline=deadline,
                expected_end=end,
                note=note,
                drill=f"why {job.name}" if job.failed else f"status of {job.name}",
            )
        )
    out.sort(key=lambda d: (d.deadline is None, d.deadline))
    return out


def workstations_down(workstations: Iterable[Workstation]) -> list[WorkstationDown]:
    """Workstations jobs cannot run on (unlinked, stopped, or limit 0), by name.

    Args:
        workstations: Every workstation of the plan.

    Returns:
        One item per unavailable workstation.
    """
    out = []
    for ws in sorted(workstations, key=lambda w: w.name):
        if ws.available:
            continue
        reasons = []
        if not ws.linked:
            reasons.append("unlinked")
        if not ws.running:
            reasons.append("not running")
        if ws.limit is not None and ws.limit <= 0:
            reasons.append("limit 0")
        out.append(
            WorkstationDown(name=ws.name, state=", ".join(reasons), drill=f"is {ws.name} up?")
        )
    return out
