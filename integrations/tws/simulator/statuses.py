"""How a simulated job or job stream looks from outside: its status and its lateness.

Pure functions of the plan objects and the simulated time the state was synced to, so
the state machine (`integrations.tws.simulator.engine`) only moves things and the
views only read them.
"""

from __future__ import annotations

from datetime import datetime

from integrations.tws.simulator.plan import SimJob, SimStream

__all__ = ["SATISFIED", "common_of", "common_status", "is_late", "job_status", "stream_status"]

SATISFIED = frozenset({"SUCC", "SUCCP", "CANCL", "SUPPR"})
"""Final statuses that release a successor."""

_COMMON = {
    "SUCC": "SUCCESSFUL",
    "SUCCP": "SUCCESSFUL",
    "ABEND": "ERROR",
    "ABENP": "ERROR",
    "FAIL": "ERROR",
    "EXEC": "RUNNING",
    "READY": "READY",
    "SCHED": "WAITING",
    "CANCL": "CANCELED",
    "SUPPR": "SUPPRESSED",
}


def job_status(job: SimJob, sim_time: datetime) -> str:
    """The job's internal status.

    Args:
        job: The job.
        sim_time: The simulated time the state was last synced to.

    Returns:
        ``EXEC``, ``HOLD``, ``READY``, ``SCHED`` or the final status of its last run.
    """
    if job.phase == "running":
        return "EXEC"
    if job.phase == "done":
        return job.final_status or "SUCC"
    if job.held or job.stream.held:
        return "HOLD"
    if job.rerun_pending:
        return "READY"
    if (job.at_time or job.stream.sched_time) > sim_time:
        return "SCHED"
    if not job.deps_released and any(
        p.phase != "done" or p.final_status not in SATISFIED for p in job.preds
    ):
        return "HOLD"
    return "READY"


def common_status(job: SimJob, sim_time: datetime) -> str:
    """The console's status group for the job (``HELD``, ``WAITING``, ``ERROR``, ...).

    Args:
        job: The job.
        sim_time: The simulated time the state was last synced to.

    Returns:
        The common status.
    """
    return common_of(job, job_status(job, sim_time))


def common_of(job: SimJob, status: str) -> str:
    """The console's status group for a job whose internal status is already known.

    Args:
        job: The job.
        status: Its internal status (`job_status`).

    Returns:
        The common status.
    """
    if status == "HOLD":
        return "HELD" if (job.held or job.stream.held) else "WAITING"
    return _COMMON.get(status, "WAITING")


def is_late(job: SimJob, sim_time: datetime) -> bool:
    """Whether the job's deadline passed while it was not finished.

    Args:
        job: The job.
        sim_time: The simulated time the state was last synced to.

    Returns:
        True when late.
    """
    if job.deadline is None:
        return False
    if job.phase == "done" and job.final_status in SATISFIED and job.runs:
        return job.runs[-1].end > job.deadline
    return sim_time > job.deadline


def stream_status(stream: SimStream, sim_time: datetime) -> str:
    """The job stream's state, derived from its jobs.

    Args:
        stream: The job stream.
        sim_time: The simulated time the state was last synced to.

    Returns:
        ``CANCEL``, ``HOLD``, ``SUCC``, ``ABEND``, ``EXEC``, ``STUCK`` or ``READY``.
    """
    if stream.cancelled:
        return "CANCEL"
    if stream.held:
        return "HOLD"
    statuses = [job_status(j, sim_time) for j in stream.jobs]
    failed = any(s in ("ABEND", "FAIL") for s in statuses)
    if all(j.phase == "done" for j in stream.jobs):
        return "ABEND" if failed else "SUCC"
    if "EXEC" in statuses:
        return "EXEC"
    if failed:
        return "STUCK"
    if any(j.phase == "done" for j in stream.jobs):
        return "EXEC"
    if stream.sched_time > sim_time:
        return "HOLD"
    return "READY"
