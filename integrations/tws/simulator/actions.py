"""Operator actions on the simulated plan: which action is valid in which state, and its effect.

The rules mirror the engine's: an action that does not fit the object's current status is
refused with AWSBIN076E. The caller (`integrations.tws.simulator.engine.SimState`) syncs
the plan before and after, so the status passed in is current.
"""

from __future__ import annotations

from datetime import datetime

from integrations.tws.simulator.plan import SimJob, SimStream

__all__ = ["ActionError", "apply_job_action", "apply_stream_action", "finish_run"]


class ActionError(Exception):
    """An action not valid in the object's current state (AWSBIN076E)."""


def finish_run(job: SimJob, status: str | None = None) -> None:
    """End the job's current run.

    Args:
        job: A running job (or one an operator confirms).
        status: The final status to record; the run's planned outcome when None.
    """
    run = job.runs[-1]
    run.status = status or run.outcome
    job.phase = "done"
    job.final_status = run.status


def apply_job_action(job: SimJob, action: str, *, status: str, now: datetime) -> None:
    """Apply an operator action to a job.

    Args:
        job: The job.
        action: ``hold``, ``release``, ``rerun``, ``cancel``, ``kill``,
            ``confirm-succ``, ``confirm-abend``, ``release-dependencies``.
        status: The job's internal status now.
        now: The simulated now (a killed or confirmed run ends then).

    Raises:
        ActionError: Not valid in the job's current state.
    """
    waiting = job.phase == "waiting"
    if action == "hold" and waiting:
        job.held = True
    elif action == "release" and waiting and job.held:
        job.held = False
    elif action == "release-dependencies" and waiting:
        job.deps_released = True
    elif action == "rerun" and status in ("ABEND", "ABENP", "FAIL", "SUCC", "SUCCP"):
        job.phase = "waiting"
        job.rerun_pending = True
        job.held = False
        job.rerun_count += 1
    elif action == "cancel" and (waiting or status in ("ABEND", "FAIL")):
        job.phase = "done"
        job.final_status = "CANCL"
        job.held = False
    elif action == "kill" and status == "EXEC":
        run = job.runs[-1]
        run.end, run.outcome, run.error, run.return_code = now, "ABEND", "killed", -1
        finish_run(job)
    elif action == "confirm-succ" and status in ("ABEND", "FAIL", "EXEC"):
        if job.phase == "running":
            job.runs[-1].end = now
        finish_run(job, "SUCC")
    elif action == "confirm-abend" and status in ("SUCC", "FAIL", "EXEC"):
        if job.phase == "running":
            job.runs[-1].end = now
        finish_run(job, "ABEND")
    else:
        raise ActionError(
            f'AWSBIN076E The action "{action}" is not valid for job '
            f'"{job.qualified_name}" in its current state {status}.'
        )


def apply_stream_action(stream: SimStream, action: str, *, state: str) -> None:
    """Apply ``hold``, ``release`` or ``cancel`` to a job stream.

    Args:
        stream: The job stream.
        action: What to do.
        state: The stream's state now.

    Raises:
        ActionError: Not valid in its current state.
    """
    if action == "hold" and state not in ("SUCC", "CANCEL", "ABEND"):
        stream.held = True
    elif action == "release" and stream.held:
        stream.held = False
    elif action == "cancel" and state not in ("SUCC", "CANCEL"):
        stream.cancelled = True
        stream.held = False
        for job in stream.jobs:
            if job.phase == "waiting":
                job.phase, job.final_status = "done", "CANCL"
    else:
        raise ActionError(
            f'AWSBIN076E The action "{action}" is not valid for job stream '
            f'"{stream.workstation}#{stream.name}" in its current state {state}.'
        )
