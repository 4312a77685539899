"""`RunbookActions`: the write capability runbook steps need, and its adapter over `Scheduler`.

`Scheduler` offers job actions only (``job_action``). Job stream hold / release / cancel and
job stream submit are not in it yet: `RunbookActions` names them so that `TWSClient` can
satisfy the protocol later; `SchedulerActions` reports them unsupported until then, and a
request for such a runbook is refused before anything is queued.
"""

from __future__ import annotations

from typing import Protocol

from agents.runbooks.catalog import ActionKind
from agents.runbooks.errors import UnsupportedActionError
from integrations.tws import paths
from integrations.tws.models import JobAction
from integrations.tws.scheduler import Scheduler

__all__ = ["RunbookActions", "SchedulerActions", "describe_call"]

_JOB_ACTIONS: dict[ActionKind, JobAction] = {
    ActionKind(action.value): action for action in JobAction
}


class RunbookActions(Protocol):
    """What a runbook may do to the plan."""

    def supports(self, action: ActionKind) -> bool:
        """True when this connection can perform ``action``."""
        ...

    async def perform(self, *, action: ActionKind, ref: str) -> None:
        """Perform one action on a plan object (never retried).

        Args:
            action: The action.
            ref: The plan id of the job or job stream (the model id for submit).
        """
        ...


def describe_call(*, action: ActionKind, ref: str) -> str:
    """The exact TWS call an action makes: ``METHOD path``.

    Args:
        action: The action.
        ref: The plan id of the target.

    Returns:
        E.g. ``PUT /twsd/api/v2/plan/job/<id>/action/rerun``.
    """
    job_action = _JOB_ACTIONS.get(action)
    if job_action is not None:
        return f"PUT {paths.job_action(ref, job_action)}"
    if action == ActionKind.STREAM_SUBMIT:
        # TWS-API.md: POST /plan/jobstream/{model_jobstream_id}/submit (doc)
        return f"POST {paths.V2}/plan/jobstream/{ref}/submit"
    verb = action.value.removeprefix("jobstream-")
    # TWS-API.md: PUT /plan/jobstream/{id}/action/{hold,release,cancel} (guess); not in paths.py yet
    return f"PUT {paths.jobstream(ref)}/action/{verb}"


class SchedulerActions:
    """`RunbookActions` over today's `Scheduler`: job actions only."""

    def __init__(self, scheduler: Scheduler) -> None:
        """Wrap a scheduler.

        Args:
            scheduler: Its ``job_action`` performs the job actions.
        """
        self._scheduler = scheduler

    def supports(self, action: ActionKind) -> bool:
        """Job actions only (job stream actions and submit are not in `Scheduler` yet)."""
        return action in _JOB_ACTIONS

    async def perform(self, *, action: ActionKind, ref: str) -> None:
        """Perform a job action through ``Scheduler.job_action``.

        Raises:
            UnsupportedActionError: A job stream action or submit.
        """
        job_action = _JOB_ACTIONS.get(action)
        if job_action is None:
            raise UnsupportedActionError(
                f"{action.value} is not available: the Scheduler interface has no job stream "
                f"actions yet ({describe_call(action=action, ref=ref)})"
            )
        await self._scheduler.job_action(ref, job_action)
