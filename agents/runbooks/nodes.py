"""`FlowNodes`: the bodies of the approval graph's nodes (`agents.runbooks.flow.FlowSteps`).

Each node re-reads the request record from the store first: the record is the truth, and
LangGraph re-runs a node from its top when a graph is resumed, so every body is idempotent.

- `FlowNodes.decided`: pending, approved, or ended (expires an overdue request).
- `FlowNodes.recheck`: holds the request's targets (`agents.runbooks.targets`: a job is
  changed by one request at a time; a request whose target is held is refused, naming the
  holder), then the approval's binding, re-read from the live plan; a difference starts a new
  approval round and posts the new card in the thread.
- `FlowNodes.execute`: takes a fencing token and runs the steps (`Executor`).
- `FlowNodes.finish`: audits and posts the outcome once, replaces the approval card with
  the final one (whichever replica finishes, a recovered run included), gives the targets
  back and closes the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from agents.runbooks.approvals import (
    RESYNC,
    bind,
    binding_holds,
    expire,
    is_expired,
    reopen,
)
from agents.runbooks.audit import RunbookAudit
from agents.runbooks.cards import CardMaker
from agents.runbooks.catalog import Catalog
from agents.runbooks.errors import ParameterError
from agents.runbooks.executor import Executor
from agents.runbooks.journal import HistoryEntry, RequestJournal, RequestStatus
from agents.runbooks.params import resolve_parameters
from agents.runbooks.planstate import read_plan_state
from agents.runbooks.ports import PhaseHook, ProgressSink, post_progress, replace_card
from agents.runbooks.targets import TargetClaims, action_targets
from integrations.tws.errors import TWSError
from integrations.tws.scheduler import Scheduler

__all__ = ["FlowNodes"]


class FlowNodes:
    """What each node of a request's approval graph does."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        scheduler: Scheduler,
        journal: RequestJournal,
        executor: Executor,
        audit: RunbookAudit,
        cards: CardMaker,
        progress: ProgressSink | None,
        clock: Callable[[], datetime],
        targets: TargetClaims,
        on_phase: PhaseHook | None = None,
    ) -> None:
        """Wire the nodes.

        Args:
            catalog: The runbooks.
            scheduler: Reads the plan for the recheck.
            journal: Request records, locks, fencing tokens.
            executor: Runs the steps.
            targets: Holds the jobs and job streams a request changes.
            audit: The runbook audit records.
            cards: Renders the new card of a new approval round and the outcome.
            progress: Posts in the request's thread.
            clock: Server time (UTC).
            on_phase: Test hook (``before_recheck``, ``before_execute``).
        """
        self._catalog = catalog
        self._scheduler = scheduler
        self._journal = journal
        self._executor = executor
        self._audit = audit
        self._cards = cards
        self._progress = progress
        self._clock = clock
        self._targets = targets
        self._on_phase = on_phase

    async def _phase(self, request_id: str, phase: str) -> None:
        if self._on_phase is not None:
            await self._on_phase(request_id, phase)

    async def decided(self, request_id: str) -> str | None:
        """See `agents.runbooks.flow.FlowSteps.decided`."""
        async with self._journal.locked(request_id):
            record = await self._journal.load(request_id)
            if record is None:
                return RequestStatus.FAILED.value
            expired = is_expired(record=record, now=self._clock())
            if record.status == RequestStatus.PENDING and not expired:
                return None
            if expired:
                record = expire(record=record, now=self._clock())
                await self._journal.save(record)
        if expired:
            await self._audit.request_event(
                action="runbook.expired", outcome="expired", record=record
            )
            return RequestStatus.EXPIRED.value
        if record.status in (RequestStatus.APPROVED, RequestStatus.EXECUTING):
            return "approved"
        return record.status.value

    async def recheck(self, request_id: str) -> bool:
        """See `agents.runbooks.flow.FlowSteps.recheck`: the approval's binding, re-read now."""
        await self._phase(request_id, "before_recheck")
        record = await self._journal.load(request_id)
        if record is None or record.status != RequestStatus.APPROVED:
            return record is not None and record.status == RequestStatus.EXECUTING
        runbook = self._catalog.get(record.runbook_id)
        if runbook is None:
            await self.close(
                request_id,
                status=RequestStatus.FAILED,
                outcome=f"runbook {record.runbook_id} is no longer in the catalog",
            )
            return False
        # Held before the plan is read: a request that gets the hold after another one ran
        # sees the plan moved, and is sent back to approval instead of running again.
        targets = action_targets(runbook=runbook, params=record.resolved())
        busy = await self._targets.claim(request_id=request_id, targets=targets)
        if busy is not None:
            outcome = await self._targets.refusal(busy)
            await self.close(request_id, status=RequestStatus.FAILED, outcome=outcome)
            return False
        try:
            params = await resolve_parameters(
                runbook=runbook, values=record.values, scheduler=self._scheduler
            )
        except ParameterError as exc:
            await self.close(
                request_id,
                status=RequestStatus.FAILED,
                outcome=f"the parameters no longer match the plan: {exc}",
            )
            return False
        plan = await read_plan_state(scheduler=self._scheduler, params=params)
        if binding_holds(
            record=record, runbook=runbook, current=bind(runbook=runbook, params=params, plan=plan)
        ):
            return True
        if (runbook.version, runbook.digest) != (record.version, record.digest):
            reason = f"the runbook changed (now v{runbook.version})"
        elif plan.digest != record.plan_digest:
            reason = "the plan state changed since approval"
        else:
            reason = "the parameters changed since approval"
        async with self._journal.locked(request_id):
            current = await self._journal.load(request_id)
            if current is None or current.status != RequestStatus.APPROVED:
                return False
            current = reopen(
                record=current,
                runbook=runbook,
                params=params,
                plan=plan,
                reason=reason,
                now=self._clock(),
            )
            await self._journal.save(current)
        await self._targets.release(request_id=request_id, targets=targets)
        await self._audit.request_event(
            action="runbook.reapproval",
            outcome="pending",
            record=current,
            parameters={"reason": reason},
        )
        # The approved card loses its status and buttons; the new round's card is posted
        # next, and the record follows it there once the surface reports where it went.
        superseded = self._cards.superseded(record=current, runbook=runbook)
        await replace_card(sink=self._progress, record=current, card=superseded)
        await post_progress(
            sink=self._progress,
            record=current,
            reply=self._cards.card(record=current, runbook=runbook),
        )
        return False

    async def close(self, request_id: str, *, status: RequestStatus, outcome: str) -> None:
        """End a request that is not final yet with ``status`` and one line saying why.

        Args:
            request_id: The request.
            status: FAILED or NEEDS_PERSON.
            outcome: Why, for the person.
        """
        async with self._journal.locked(request_id):
            record = await self._journal.load(request_id)
            if record is None or record.status.final:
                return
            record.status = status
            record.outcome = outcome
            record.history.append(HistoryEntry(at=self._clock(), who=RESYNC, what=outcome))
            await self._journal.save(record)

    async def execute(self, request_id: str) -> str:
        """See `agents.runbooks.flow.FlowSteps.execute`: exactly once, fenced."""
        await self._phase(request_id, "before_execute")
        held = await self._journal.load(request_id)
        # The approved version (by digest), never one a reload put in force since.
        runbook = self._catalog.bound(held.runbook_id, held.digest) if held else None
        if held is not None and runbook is not None and not held.status.final:
            # Taken in recheck; renewed here (a run resumed after a restart skips recheck).
            targets = action_targets(runbook=runbook, params=held.resolved())
            busy = await self._targets.claim(request_id=request_id, targets=targets)
            if busy is not None:
                outcome = await self._targets.refusal(busy)
                await self.close(request_id, status=RequestStatus.NEEDS_PERSON, outcome=outcome)
                return RequestStatus.NEEDS_PERSON.value
        token = await self._journal.next_token(request_id)
        async with self._journal.locked(request_id):
            record = await self._journal.load(request_id)
            if record is None:
                return RequestStatus.FAILED.value
            if record.status not in (RequestStatus.APPROVED, RequestStatus.EXECUTING):
                return record.status.value
            record.exec_token = token
            if record.status == RequestStatus.APPROVED:
                record.history.append(
                    HistoryEntry(at=self._clock(), who=RESYNC, what="execution started")
                )
            record.status = RequestStatus.EXECUTING
            await self._journal.save(record)
        runbook = self._catalog.bound(record.runbook_id, record.digest)
        if runbook is None:
            await self.close(
                request_id,
                status=RequestStatus.NEEDS_PERSON,
                outcome="runbook vanished during the run",
            )
            return RequestStatus.NEEDS_PERSON.value
        try:
            result = await self._executor.run(record=record, runbook=runbook, token=token)
        except TWSError as exc:
            await self.close(
                request_id,
                status=RequestStatus.NEEDS_PERSON,
                outcome=f"TWS could not be read during the run ({exc.summary}); check the "
                "plan before asking again",
            )
            return RequestStatus.NEEDS_PERSON.value
        async with self._journal.locked(request_id):
            current = await self._journal.check_token(request_id, token)
            current.status = result.status
            current.outcome = result.summary
            current.report = result.lines
            current.history.append(
                HistoryEntry(at=self._clock(), who=RESYNC, what=result.status.value)
            )
            await self._journal.save(current)
        return result.status.value

    async def finish(self, request_id: str, *, outcome: str) -> None:
        """See `agents.runbooks.flow.FlowSteps.finish`: outcome posted and audited once."""
        record = await self._journal.load(request_id)
        if record is None:
            return
        runbook = self._catalog.bound(record.runbook_id, record.digest)
        if runbook is not None:
            # Outside the once-guard: a replica that died between the outcome and the card
            # leaves the card to whoever finishes after it (an equal version is not resent).
            card = self._cards.card(record=record, runbook=runbook)
            await replace_card(sink=self._progress, record=record, card=card)
        if await self._journal.once(request_id, "finish"):
            await self._audit.request_event(
                action="runbook.outcome",
                outcome=record.status.value,
                record=record,
                parameters={"summary": record.outcome or outcome, "steps": record.report},
            )
            if runbook is not None:
                await post_progress(
                    sink=self._progress,
                    record=record,
                    reply=self._cards.final(record=record, runbook=runbook),
                )
        if runbook is not None:  # a vanished runbook's holds lapse after HOLD_SECONDS
            targets = action_targets(runbook=runbook, params=record.resolved())
            await self._targets.release(request_id=request_id, targets=targets)
        await self._journal.set_active(request_id, active=False)
