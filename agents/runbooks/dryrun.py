"""A dry run: what a request's steps would do against the plan as it is now, doing nothing.

It re-reads the plan state (so the approver sees whether it moved since the card was shown)
and lists each step with the exact call it would make. Nothing is journaled or changed.
"""

from __future__ import annotations

from agents.messages import Reply
from agents.runbooks.cards import describe_step, dry_run_reply
from agents.runbooks.catalog import ActionStep, Runbook
from agents.runbooks.journal import RequestRecord
from agents.runbooks.planstate import read_plan_state
from integrations.tws.scheduler import Scheduler

__all__ = ["dry_run"]


async def dry_run(*, record: RequestRecord, runbook: Runbook, scheduler: Scheduler) -> Reply:
    """The dry run's report.

    Args:
        record: The request.
        runbook: Its runbook.
        scheduler: Reads the plan (reads only).

    Returns:
        One line per step, after the plan state now and on the card.
    """
    params = record.resolved()
    plan = await read_plan_state(scheduler=scheduler, params=params)
    notes = [f"plan state now #{plan.digest} (card showed #{record.plan_digest})"]
    for step in runbook.steps:
        what, call = describe_step(step, params)
        notes.append(
            f"{what}: would call {call}" if isinstance(step, ActionStep) else f"{what} ({call})"
        )
    return dry_run_reply(record=record, runbook=runbook, notes=notes)
