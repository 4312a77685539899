"""`RunbookActions`: the write capability runbook steps need, and its adapter over `Scheduler`.

`Scheduler` offers job actions (``job_action``) and job stream hold / release / cancel
(``job_stream_action``). Job stream submit is not in it yet: `SchedulerActions` reports it
unsupported, and a request for such a runbook is refused before anything is queued.
"""

from __future__ import annotations

from typing import Protocol

from agents.runbooks.catalog import ActionKind
from agents.runbooks.errors import UnsupportedActionError
from integrations.tws import paths
from integrations.tws.models import JobAction, JobStreamAction
from integrations.tws.scheduler import Scheduler

__all__ = ["RunbookActions", "SchedulerActions", "describe_call"]

_JOB_ACTIONS: dict[ActionKind, JobAction] = {
    ActionKind(action.value): action for action in JobAction
}
_STREAM_ACTIONS: dict[ActionKind, JobStreamAction] = {
    ActionKind(f"jobstream-{action.value}"): action for action in JobStreamAction
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
    stream_action = _STREAM_ACTIONS.get(action)
    if stream_action is not None:
        return f"PUT {paths.jobstream_action(ref, stream_action)}"
    raise ValueError(f"no TWS call known for {action.value}")


class SchedulerActions:
    """`RunbookActions` over `Scheduler`: job and job stream actions (not submit yet)."""

    def __init__(self, scheduler: Scheduler) -> None:
        """Wrap a scheduler.

        Args:
            scheduler: Its ``job_action`` performs the job actions.
        """
        self._scheduler = scheduler

    def supports(self, action: ActionKind) -> bool:
        """Job and job stream actions (job stream submit is not in `Scheduler` yet)."""
        return action in _JOB_ACTIONS or action in _STREAM_ACTIONS

    async def perform(self, *, action: ActionKind, ref: str) -> None:
        """Perform a job or job stream action through the `Scheduler`.

        Raises:
            UnsupportedActionError: Job stream submit.
        """
        job_action = _JOB_ACTIONS.get(action)
        if job_action is not None:
            await self._scheduler.job_action(ref, job_action)
            return
        stream_action = _STREAM_ACTIONS.get(action)
        if stream_action is not None:
            await self._scheduler.job_stream_action(ref, stream_action)
            return
        raise UnsupportedActionError(
            f"{action.value} is not available: the Scheduler interface has no job stream "
            f"submit yet (POST {paths.V2}/plan/jobstream/{ref}/submit)"
        )
