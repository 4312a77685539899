"""What the plan shows about an action's target, and whether an action's effect is visible.

The executor writes the target's state to the step journal before a TWS call (`snapshot`).
After a restart finds a step *started* but not *done*, `effect_seen` compares that state with
the plan now to tell "it happened" from "it never reached TWS" from "cannot tell".
"""

from __future__ import annotations

from collections.abc import Mapping

from agents.runbooks.catalog import ActionKind, ParamType
from agents.runbooks.params import ResolvedParam
from integrations.tws.scheduler import Scheduler

__all__ = ["effect_seen", "snapshot"]


async def snapshot(*, scheduler: Scheduler, param: ResolvedParam) -> dict[str, object]:
    """The target's state as far as actions can change it.

    Args:
        scheduler: The engine.
        param: A job or job stream parameter.

    Returns:
        For a job: status, run id, rerun count, held; for a job stream: its status.
    """
    if param.type == ParamType.JOB_STREAM:
        stream = (await scheduler.get_job_stream(param.ref)).value
        return {"status": stream.status.value}
    job = (await scheduler.get_job(param.ref)).value
    return {
        "status": job.status.value,
        "run": job.run_id,
        "reruns": job.rerun_count,
        "held": job.priority == 0,
    }


def effect_seen(
    *, action: ActionKind, before: Mapping[str, object], after: Mapping[str, object]
) -> bool | None:
    """Whether an action's effect shows in the plan (None: the plan cannot tell).

    Args:
        action: The action.
        before: The target's state written to the journal before the call.
        after: Its state now.

    Returns:
        True when it happened, False when not, None when unknowable.
    """
    status = after.get("status")
    was = before.get("status")
    if action == ActionKind.RERUN:
        return after.get("reruns") != before.get("reruns") or after.get("run") != before.get("run")
    if action == ActionKind.HOLD:
        return bool(after.get("held")) and not before.get("held")
    if action == ActionKind.RELEASE:
        return bool(before.get("held")) and not after.get("held")
    if action == ActionKind.CANCEL:
        return status == "CANCL" and was != "CANCL"
    if action == ActionKind.KILL:
        return was == "EXEC" and status in ("ABEND", "ABENP")
    if action == ActionKind.CONFIRM_SUCC:
        return status in ("SUCC", "SUCCP") and was not in ("SUCC", "SUCCP")
    if action == ActionKind.CONFIRM_ABEND:
        return status in ("ABEND", "ABENP") and was not in ("ABEND", "ABENP")
    if action == ActionKind.STREAM_HOLD:
        return status == "HOLD" and was != "HOLD"
    if action == ActionKind.STREAM_RELEASE:
        return was == "HOLD" and status != "HOLD"
    if action == ActionKind.STREAM_CANCEL:
        return status == "CANCEL" and was != "CANCEL"
    return None  # release-dependencies, submit: nothing in the plan shows it reliably
