"""Exactly-once step execution: a fenced step journal, reconciled against the plan on restart.

For each step ``i`` the executor looks at the journal first: *done* is never redone; *failed*
is not retried (a person decides). An action step

1. reads the target's state (`agents.runbooks.reconcile.snapshot`),
2. writes the audit record of the call it is about to make (``runbook.tws_call`` /
   ``intent``); when the audit log refuses it, the step is journaled *failed* and TWS is
   not called (`agents.runbooks.audit` has the policy),
3. writes *started* with the state before it (fenced by the executor's token),
4. calls TWS once, then writes *done* (or *failed*) and audits the result.

Between steps (and between polls of a wait) the executor renews its drive lease and the holds
on its targets; finding the lease held by another replica means that replica took the run
over, so it stops at once (`FencedOutError`) instead of running a step the other one runs.

When a new executor finds a step *started* but not *done* (the previous one died in between),
it reads the plan and decides: the effect is visible (e.g. ``rerunCount`` went up) → mark done
without calling again; nothing changed → call again (audited again first); cannot tell → stop
and ask a person. Read-only steps are in `agents.runbooks.readsteps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.messages import Reply, Tone
from agents.runbooks.actions import RunbookActions, describe_call
from agents.runbooks.audit import RunbookAudit
from agents.runbooks.cards import describe_step, progress_reply
from agents.runbooks.catalog import (
    ActionStep,
    CheckStep,
    DiagnoseStep,
    MessageStep,
    Runbook,
    Step,
    WaitStep,
)
from agents.runbooks.errors import AuditWriteError, FencedOutError, UnsupportedActionError
from agents.runbooks.journal import RequestJournal, RequestRecord, RequestStatus, StepEntry
from agents.runbooks.params import ResolvedParam
from agents.runbooks.ports import PhaseHook, ProgressSink, post_progress
from agents.runbooks.readsteps import check, diagnose, wait
from agents.runbooks.reconcile import effect_seen, snapshot
from agents.runbooks.targets import TargetClaims, action_targets
from integrations.tws.errors import TWSError, TWSUnavailableError
from integrations.tws.scheduler import Scheduler

__all__ = ["ExecutionResult", "Executor", "unaudited_note"]

_ASK_ADMIN = "Ask an administrator to check the audit store (Resync's log has the error)."


def unaudited_note(*, call: str, changed_before: bool) -> str:
    """What a person is told when a plan change was not made because it could not be audited.

    The audit store's error itself is logged (``runbook.audit_failed``), not shown.

    Args:
        call: The TWS call that was not made.
        changed_before: Whether earlier steps of the run already changed the plan.

    Returns:
        One or two sentences.
    """
    if changed_before:
        return (
            f"{call} was not made: the audit log could not record it; the steps before it "
            f"were done. {_ASK_ADMIN}"
        )
    return f"Nothing was run: the audit log could not record it. {_ASK_ADMIN}"


@dataclass(slots=True)
class ExecutionResult:
    """How a run ended.

    Attributes:
        status: SUCCEEDED, FAILED or NEEDS_PERSON.
        summary: One line.
        lines: One line per step.
    """

    status: RequestStatus
    summary: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _StepResult:
    status: RequestStatus
    note: str = ""
    # Set when the note is the run's outcome as it stands (no "step i (...)" prefix needed).
    final: bool = False


class Executor:
    """Runs a request's steps exactly once."""

    def __init__(
        self,
        *,
        journal: RequestJournal,
        scheduler: Scheduler,
        actions: RunbookActions,
        audit: RunbookAudit,
        progress: ProgressSink | None,
        lease_seconds: float,
        targets: TargetClaims,
        poll_seconds: float = 5.0,
        on_phase: PhaseHook | None = None,
    ) -> None:
        """Wire the executor.

        Args:
            journal: Request records and the step journal.
            scheduler: Reads the plan.
            actions: Acts on the plan.
            audit: Records every TWS call (before it is made, and its result).
            progress: Posts progress in the request's thread.
            lease_seconds: The drive lease's time to live (renewed between polls and steps).
            targets: The holds on the jobs and job streams a run changes (renewed with the
                lease).
            poll_seconds: Pause between reads while waiting for a status.
            on_phase: Test hook at the phases named in `PhaseHook`.
        """
        self._journal = journal
        self._scheduler = scheduler
        self._actions = actions
        self._audit = audit
        self._progress = progress
        self._lease = lease_seconds
        self._targets = targets
        self._poll = poll_seconds
        self._on_phase = on_phase

    async def _phase(self, request_id: str, phase: str) -> None:
        if self._on_phase is not None:
            await self._on_phase(request_id, phase)

    async def _renew(self, record: RequestRecord, runbook: Runbook) -> None:
        """Renew the drive lease and the target holds; stop when another replica took over.

        Raises:
            FencedOutError: Another replica holds the drive lease (it runs the steps now).
        """
        if not await self._journal.take_drive(record.id, ttl_seconds=self._lease):
            raise FencedOutError(f"request {record.id}: another replica holds the drive lease")
        targets = action_targets(runbook=runbook, params=record.resolved())
        await self._targets.renew(request_id=record.id, targets=targets)

    async def run(self, *, record: RequestRecord, runbook: Runbook, token: int) -> ExecutionResult:
        """Run (or continue) every step.

        Args:
            record: The request (approved, binding re-checked).
            runbook: Its runbook.
            token: This executor's fencing token.

        Returns:
            How it ended.

        Raises:
            FencedOutError: A newer executor took over; stop without touching anything.
        """
        params = record.resolved()
        total = len(runbook.steps)
        lines: list[str] = []
        changed = False  # whether a step of this request already changed the plan
        for index, step in enumerate(runbook.steps):
            await self._renew(record, runbook)
            entry = await self._journal.step(record.id, index)
            what, _ = describe_step(step, params)
            if entry is not None and entry.state == "done":
                lines.append(f"{index + 1}. {what}: done{f' ({entry.note})' if entry.note else ''}")
                changed = changed or isinstance(step, ActionStep)
                continue
            if entry is not None and entry.state == "failed":
                lines.append(f"{index + 1}. {what}: failed: {entry.note}")
                return ExecutionResult(RequestStatus.NEEDS_PERSON, entry.note, lines)
            result = await self._step(
                record=record,
                runbook=runbook,
                index=index,
                step=step,
                params=params,
                token=token,
                entry=entry,
                changed_before=changed,
            )
            ok = result.status == RequestStatus.SUCCEEDED
            note = result.note
            lines.append(
                f"{index + 1}. {what}: {'done' if ok else 'failed'}{f': {note}' if note else ''}"
            )
            await post_progress(
                sink=self._progress,
                record=record,
                reply=progress_reply(
                    record=record,
                    index=index,
                    total=total,
                    text=f"{what}: {'done' if ok else 'failed'}{f' ({note})' if note else ''}",
                    tone=Tone.INFO if ok else Tone.ERROR,
                ),
            )
            if not ok:
                summary = note if result.final else f"step {index + 1} ({what}): {note}"
                return ExecutionResult(result.status, summary, lines)
            changed = changed or isinstance(step, ActionStep)
            await self._phase(record.id, f"step_done:{index}")
        return ExecutionResult(RequestStatus.SUCCEEDED, "every step done", lines)

    async def _step(
        self,
        *,
        record: RequestRecord,
        runbook: Runbook,
        index: int,
        step: Step,
        params: dict[str, ResolvedParam],
        token: int,
        entry: StepEntry | None,
        changed_before: bool,
    ) -> _StepResult:
        """Run one step and journal it."""
        if isinstance(step, ActionStep):
            return await self._action(
                record=record,
                index=index,
                step=step,
                param=params[step.target],
                token=token,
                entry=entry,
                changed_before=changed_before,
            )
        note = ""
        if isinstance(step, WaitStep):

            async def renew() -> None:
                await self._renew(record, runbook)

            status, note = await wait(
                scheduler=self._scheduler,
                step=step,
                param=params[step.target],
                poll_seconds=self._poll,
                renew=renew,
            )
        elif isinstance(step, CheckStep):
            status, note = await check(
                scheduler=self._scheduler, step=step, param=params[step.target]
            )
        elif isinstance(step, DiagnoseStep):
            report = await diagnose(scheduler=self._scheduler, param=params[step.target])
            await post_progress(sink=self._progress, record=record, reply=report)
            status = RequestStatus.SUCCEEDED
        elif isinstance(step, MessageStep):
            text = step.text
            for name, param in params.items():
                text = text.replace("{" + name + "}", param.display)
            await post_progress(
                sink=self._progress, record=record, reply=Reply(headline=text, tone=Tone.INFO)
            )
            status = RequestStatus.SUCCEEDED
        else:  # pragma: no cover - the union is exhaustive
            status, note = RequestStatus.FAILED, "unknown step"
        state = "done" if status == RequestStatus.SUCCEEDED else "failed"
        await self._journal.write_step(
            record.id, StepEntry(index=index, state=state, token=token, note=note)
        )
        return _StepResult(status, note)

    async def _write(self, record: RequestRecord, index: int, token: int, **fields: object) -> None:
        await self._journal.write_step(
            record.id, StepEntry.model_validate({"index": index, "token": token, **fields})
        )

    async def _action(
        self,
        *,
        record: RequestRecord,
        index: int,
        step: ActionStep,
        param: ResolvedParam,
        token: int,
        entry: StepEntry | None,
        changed_before: bool,
    ) -> _StepResult:
        call = describe_call(action=step.action, ref=param.ref)
        details: dict[str, object] = {"call": call, "step": index + 1}
        attempt = 1
        if entry is not None:  # started by an executor that died before writing the result
            now = await snapshot(scheduler=self._scheduler, param=param)
            seen = effect_seen(action=step.action, before=entry.before, after=now)
            if seen:
                note = "already done before a restart (the plan shows it); not called again"
                await self._write(
                    record, index, token, state="done", before=entry.before, note=note
                )
                await self._audit.request_event(
                    action="runbook.tws_call",
                    outcome="reconciled",
                    record=record,
                    target=param.display,
                    parameters=details,
                )
                return _StepResult(RequestStatus.SUCCEEDED, note)
            if seen is None or now != entry.before:
                note = (
                    f"a restart interrupted {call}; the plan cannot tell whether it ran "
                    f"({param.display} now {now.get('status')}): check it and finish by hand"
                )
                await self._write(
                    record, index, token, state="failed", before=entry.before, note=note
                )
                return _StepResult(RequestStatus.NEEDS_PERSON, note)
            attempt = entry.attempt + 1  # the call never reached the plan: make it now
        before = await snapshot(scheduler=self._scheduler, param=param)
        try:
            await self._audit.plan_change(
                record=record,
                target=param.display,
                parameters={
                    **details,
                    "attempt": attempt,
                    "approvers": [a.identity for a in record.approvals],
                    "before": before,
                },
            )
        except AuditWriteError:
            # Journaled failed, never started: a restart must not make this call either.
            note = unaudited_note(call=call, changed_before=changed_before)
            await self._write(record, index, token, state="failed", before=before, note=note)
            return _StepResult(RequestStatus.FAILED, note, final=True)
        await self._write(record, index, token, state="started", attempt=attempt, before=before)
        await self._phase(record.id, f"step_started:{index}")
        try:
            await self._actions.perform(action=step.action, ref=param.ref)
        except (TWSError, UnsupportedActionError) as exc:
            maybe = isinstance(exc, TWSUnavailableError)
            note = f"{call} failed: {exc}" + (
                "; the engine may have done it anyway: check before retrying" if maybe else ""
            )
            await self._write(record, index, token, state="failed", before=before, note=note)
            await self._audit.request_event(
                action="runbook.tws_call",
                outcome="failed",
                record=record,
                target=param.display,
                parameters={**details, "error": str(exc)},
            )
            return _StepResult(RequestStatus.NEEDS_PERSON if maybe else RequestStatus.FAILED, note)
        await self._write(record, index, token, state="done", attempt=attempt, before=before)
        await self._audit.request_event(
            action="runbook.tws_call",
            outcome="ok",
            record=record,
            target=param.display,
            parameters={**details, "approvers": [a.identity for a in record.approvals]},
        )
        return _StepResult(RequestStatus.SUCCEEDED)
