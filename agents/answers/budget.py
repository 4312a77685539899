"""A per-question limit on calls to the engine, and the answer when a question reaches it.

Every question is answered through a `BudgetedScheduler` that counts its calls to TWS.
Name lookups need a handful; only the answers that walk the plan (what is late, what
depends on a job) legitimately need hundreds, bounded by their own limits. A question that
goes past its budget is a bug or a plan Resync cannot read (a loop, a name the engine never
returns): it stops with an answer that says so, instead of hammering the master until the
answer time limit and ending in an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from agents.answers.common import Answer
from agents.intents import Intent, IntentKind
from agents.messages import Paragraph, Reply, Tone
from integrations.tws.models import (
    Dependency,
    EngineInfo,
    JobAction,
    JobLog,
    JobRun,
    JobStatus,
    JobStreamAction,
    JobStreamStatus,
    PlanJob,
    PlanJobStream,
    Workstation,
)
from integrations.tws.scheduler import JOB_LOG_WINDOW_BYTES, Scheduler, Snapshot

__all__ = [
    "ENGINE_CALL_BUDGET",
    "PLAN_WALK_CALL_BUDGET",
    "BudgetedScheduler",
    "CallBudgetExceededError",
    "budget_answer",
    "budget_for",
]

ENGINE_CALL_BUDGET: Final = 50
"""Calls to TWS one question may make; a status or "why" question needs at most about 10."""

PLAN_WALK_CALL_BUDGET: Final = 2_000
"""Calls for the answers that walk the plan (one read per job downstream or per watched
job's predecessors). About what fits in the 60 s answer limit at 8 concurrent reads of a
quarter of a second each: past that the answer could not arrive anyway."""


class CallBudgetExceededError(Exception):
    """A question needed more calls to TWS than its budget allows."""

    def __init__(self, *, budget: int) -> None:
        """Record the budget that was spent.

        Args:
            budget: The calls the question was allowed.
        """
        super().__init__(f"more than {budget} calls to the engine")
        self.budget = budget


class BudgetedScheduler:
    """A `Scheduler` that lets one question make at most ``budget`` calls, then refuses."""

    def __init__(self, scheduler: Scheduler, *, budget: int) -> None:
        """Wrap the engine for one question.

        Args:
            scheduler: The engine.
            budget: Calls allowed.
        """
        self._inner = scheduler
        self._budget = budget
        self.calls = 0
        """Calls made so far (refused ones not counted)."""

    @property
    def source(self) -> str:
        """The engine's name."""
        return self._inner.source

    @property
    def budget(self) -> int:
        """Calls allowed."""
        return self._budget

    def _spend(self) -> None:
        if self.calls >= self._budget:
            raise CallBudgetExceededError(budget=self._budget)
        self.calls += 1

    async def query_jobs(
        self,
        *,
        name: str | None = None,
        job_stream: str | None = None,
        workstation: str | None = None,
        statuses: Sequence[JobStatus] | None = None,
        limit: int | None = None,
    ) -> Snapshot[list[PlanJob]]:
        """See `Scheduler.query_jobs`."""
        self._spend()
        return await self._inner.query_jobs(
            name=name,
            job_stream=job_stream,
            workstation=workstation,
            statuses=statuses,
            limit=limit,
        )

    async def get_job(self, job_id: str) -> Snapshot[PlanJob]:
        """See `Scheduler.get_job`."""
        self._spend()
        return await self._inner.get_job(job_id)

    async def job_predecessors(self, job_id: str) -> Snapshot[list[Dependency]]:
        """See `Scheduler.job_predecessors`."""
        self._spend()
        return await self._inner.job_predecessors(job_id)

    async def job_successors(self, job_id: str) -> Snapshot[list[Dependency]]:
        """See `Scheduler.job_successors`."""
        self._spend()
        return await self._inner.job_successors(job_id)

    async def job_history(self, job_id: str, *, days: int = 60) -> Snapshot[list[JobRun]]:
        """See `Scheduler.job_history`."""
        self._spend()
        return await self._inner.job_history(job_id, days=days)

    async def job_log(self, run_id: str) -> Snapshot[str]:
        """See `Scheduler.job_log`."""
        self._spend()
        return await self._inner.job_log(run_id)

    async def job_log_tail(
        self, run_id: str, *, max_bytes: int = JOB_LOG_WINDOW_BYTES
    ) -> Snapshot[JobLog]:
        """See `Scheduler.job_log_tail`."""
        self._spend()
        return await self._inner.job_log_tail(run_id, max_bytes=max_bytes)

    async def query_job_streams(
        self,
        *,
        name: str | None = None,
        workstation: str | None = None,
        statuses: Sequence[JobStreamStatus] | None = None,
        limit: int | None = None,
    ) -> Snapshot[list[PlanJobStream]]:
        """See `Scheduler.query_job_streams`."""
        self._spend()
        return await self._inner.query_job_streams(
            name=name, workstation=workstation, statuses=statuses, limit=limit
        )

    async def get_job_stream(self, job_stream_id: str) -> Snapshot[PlanJobStream]:
        """See `Scheduler.get_job_stream`."""
        self._spend()
        return await self._inner.get_job_stream(job_stream_id)

    async def job_stream_predecessors(self, job_stream_id: str) -> Snapshot[list[Dependency]]:
        """See `Scheduler.job_stream_predecessors`."""
        self._spend()
        return await self._inner.job_stream_predecessors(job_stream_id)

    async def job_stream_successors(self, job_stream_id: str) -> Snapshot[list[Dependency]]:
        """See `Scheduler.job_stream_successors`."""
        self._spend()
        return await self._inner.job_stream_successors(job_stream_id)

    async def workstations(self) -> Snapshot[list[Workstation]]:
        """See `Scheduler.workstations`."""
        self._spend()
        return await self._inner.workstations()

    async def engine_info(self) -> Snapshot[EngineInfo]:
        """See `Scheduler.engine_info`."""
        self._spend()
        return await self._inner.engine_info()

    async def job_action(self, job_id: str, action: JobAction) -> Snapshot[PlanJob]:
        """See `Scheduler.job_action`."""
        self._spend()
        return await self._inner.job_action(job_id, action)

    async def job_stream_action(
        self, job_stream_id: str, action: JobStreamAction
    ) -> Snapshot[PlanJobStream]:
        """See `Scheduler.job_stream_action`."""
        self._spend()
        return await self._inner.job_stream_action(job_stream_id, action)


def budget_answer(intent: Intent, *, calls: int) -> Answer:
    """The answer to a question stopped at its budget: what was looked for, what to try.

    Args:
        intent: The question.
        calls: How many times TWS was asked before stopping.

    Returns:
        The answer (no focus: nothing was established).
    """
    if intent.subject is not None:
        headline = (
            f"I stopped looking up {intent.subject}: TWS did not give me what I needed "
            f"after {calls} requests."
        )
        hint = (
            f"Try the exact name with its job stream (JOB_STREAM.JOB), or a wildcard such as "
            f"{intent.subject[:3]}*; if it keeps happening, tell the Resync administrators."
        )
    else:
        headline = f"I stopped: answering this needed more than {calls} requests to TWS."
        hint = (
            "Try a narrower question (one job, one job stream or one workstation); if it "
            "keeps happening, tell the Resync administrators."
        )
    return Answer(reply=Reply(headline=headline, tone=Tone.WARNING, blocks=(Paragraph(text=hint),)))


def budget_for(kind: IntentKind, *, default: int, plan_walk: int) -> int:
    """The call budget of one kind of question.

    Args:
        kind: The question's kind.
        default: The budget of most questions.
        plan_walk: The budget of the answers that walk the plan.

    Returns:
        The calls allowed.
    """
    # Declaring an incident forecasts the deadlines downstream of its job; an ETA forecasts
    # the chain upstream of its job (one read per unfinished predecessor when the engine
    # does not send them with the plan).
    walks = (IntentKind.LATE, IntentKind.SUCCESSORS, IntentKind.INCIDENT, IntentKind.ETA)
    return plan_walk if kind in walks else default
