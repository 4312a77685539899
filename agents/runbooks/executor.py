"""Exactly-once step execution: a fenced step journal, reconciled against the plan on restart.

For each step ``i`` the executor looks at the journal first: *done* is never redone; *failed*
is not retried (a person decides). An action step writes *started* with the plan state
before it (fenced by the executor's token), calls TWS once, then writes *done*. When a new
executor finds a step *started* but not *done* (the previous one died in between), it reads
the plan and decides: the effect is visible (e.g. ``rerunCount`` went up) → mark done without
calling again; nothing changed → call again; cannot tell → stop and ask a person.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from agents.messages import Fields, Reply, Tone
from agents.runbooks.actions import RunbookActions, describe_call
from agents.runbooks.cards import describe_step, progress_reply
from agents.runbooks.catalog import (
    ActionKind,
    ActionStep,
    CheckStep,
    DiagnoseStep,
    MessageStep,
    ParamType,
    Runbook,
    Step,
    WaitStep,
)
from agents.runbooks.errors import UnsupportedActionError
from agents.runbooks.journal import RequestJournal, RequestRecord, RequestStatus, StepEntry
from agents.runbooks.params import ResolvedParam
from integrations.audit.sink import AuditSink
from integrations.tws.errors import TWSError, TWSUnavailableError
from integrations.tws.models import WAITING_STATUSES
from integrations.tws.scheduler import Scheduler

__all__ = [
    "ExecutionResult",
    "Executor",
    "PhaseHook",
    "ProgressSink",
    "effect_seen",
    "record_audit",
]

log = structlog.get_logger(__name__)

PhaseHook = Callable[[str, str], Awaitable[None]]
"""``hook(request_id, phase)``: called at ``before_recheck``, ``before_execute``,
``step_started:{i}`` (journal written, TWS not called yet) and ``step_done:{i}``."""


class ProgressSink(Protocol):
    """Where progress and outcomes of a request are posted (the chat thread of the request)."""

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        """Post one reply in the request's thread (on the platform it was asked from)."""
        ...


async def record_audit(
    audit: AuditSink | None,
    *,
    action: str,
    outcome: str,
    record: RequestRecord,
    actor_identity: str | None = None,
    actor_id: str | None = None,
    platform: str | None = None,
    target: str | None = None,
    parameters: dict[str, object] | None = None,
) -> None:
    """One audit record about a request (a failing audit log is logged, never fatal here).

    Args:
        audit: The recorder (None: nothing recorded).
        action: E.g. ``runbook.request``, ``runbook.decision``, ``runbook.tws_call``.
        outcome: What happened.
        record: The request.
        actor_identity: Who (default: the requester).
        actor_id: Their platform user id (default: the requester's).
        platform: Their platform (default: the requester's).
        target: The object acted on.
        parameters: Details.
    """
    if audit is None:
        return
    try:
        await audit.record(
            action=action,
            outcome=outcome,
            actor_id=actor_id if actor_id is not None else record.requester_id,
            actor_identity=actor_identity or record.requester_identity,
            platform=platform or record.requester_platform,
            channel=record.channel,
            thread=record.thread,
            target=target,
            parameters={
                "runbook": record.runbook_id,
                "version": record.version,
                **(parameters or {}),
            },
            correlation={"request_id": record.id, "round": str(record.round)},
        )
    except Exception:  # the audit log's own failure must not hide what the run did
        log.exception("runbook.audit_failed", action=action, request_id=record.id)


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


async def _snapshot(scheduler: Scheduler, param: ResolvedParam) -> dict[str, object]:
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
    action: ActionKind, before: Mapping[str, object], after: Mapping[str, object]
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


class Executor:
    """Runs a request's steps exactly once."""

    def __init__(
        self,
        *,
        journal: RequestJournal,
        scheduler: Scheduler,
        actions: RunbookActions,
        audit: AuditSink | None,
        progress: ProgressSink | None,
        lease_seconds: float,
        poll_seconds: float = 5.0,
        on_phase: PhaseHook | None = None,
    ) -> None:
        """Wire the executor.

        Args:
            journal: Request records and the step journal.
            scheduler: Reads the plan.
            actions: Acts on the plan.
            audit: Records every TWS call.
            progress: Posts progress in the request's thread.
            lease_seconds: The drive lease's time to live (renewed between polls and steps).
            poll_seconds: Pause between reads while waiting for a status.
            on_phase: Test hook at the phases named in `PhaseHook`.
        """
        self._journal = journal
        self._scheduler = scheduler
        self._actions = actions
        self._audit = audit
        self._progress = progress
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._on_phase = on_phase

    async def _phase(self, request_id: str, phase: str) -> None:
        if self._on_phase is not None:
            await self._on_phase(request_id, phase)

    async def _post(self, record: RequestRecord, reply: Reply) -> None:
        if self._progress is not None:
            await self._progress(
                reply,
                request_id=record.id,
                platform=record.requester_platform,
                channel=record.channel,
                thread=record.thread,
            )

    async def _renew(self, request_id: str) -> None:
        await self._journal.take_drive(request_id, ttl_seconds=self._lease)

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
        for index, step in enumerate(runbook.steps):
            await self._renew(record.id)
            entry = await self._journal.step(record.id, index)
            what, _ = describe_step(step, params)
            if entry is not None and entry.state == "done":
                lines.append(f"{index + 1}. {what}: done{f' ({entry.note})' if entry.note else ''}")
                continue
            if entry is not None and entry.state == "failed":
                lines.append(f"{index + 1}. {what}: failed: {entry.note}")
                return ExecutionResult(RequestStatus.NEEDS_PERSON, entry.note, lines)
            status, note = await self._step(
                record=record, index=index, step=step, params=params, token=token, entry=entry
            )
            ok = status == RequestStatus.SUCCEEDED
            lines.append(
                f"{index + 1}. {what}: {'done' if ok else 'failed'}{f': {note}' if note else ''}"
            )
            await self._post(
                record,
                progress_reply(
                    record=record,
                    index=index,
                    total=total,
                    text=f"{what}: {'done' if ok else 'failed'}{f' ({note})' if note else ''}",
                    tone=Tone.INFO if ok else Tone.ERROR,
                ),
            )
            if not ok:
                return ExecutionResult(status, f"step {index + 1} ({what}): {note}", lines)
            await self._phase(record.id, f"step_done:{index}")
        return ExecutionResult(RequestStatus.SUCCEEDED, "every step done", lines)

    async def _step(
        self,
        *,
        record: RequestRecord,
        index: int,
        step: Step,
        params: dict[str, ResolvedParam],
        token: int,
        entry: StepEntry | None,
    ) -> tuple[RequestStatus, str]:
        """Run one step; journal it. Returns (SUCCEEDED | FAILED | NEEDS_PERSON, note)."""
        if isinstance(step, ActionStep):
            return await self._action(
                record=record,
                index=index,
                step=step,
                param=params[step.target],
                token=token,
                entry=entry,
            )
        if isinstance(step, WaitStep):
            status, note = await self._wait(record=record, step=step, param=params[step.target])
        elif isinstance(step, CheckStep):
            status, note = await self._check(step=step, param=params[step.target])
        elif isinstance(step, DiagnoseStep):
            await self._post(record, await self._diagnose(params[step.target]))
            status, note = RequestStatus.SUCCEEDED, ""
        elif isinstance(step, MessageStep):
            text = step.text
            for name, param in params.items():
                text = text.replace("{" + name + "}", param.display)
            await self._post(record, Reply(headline=text, tone=Tone.INFO))
            status, note = RequestStatus.SUCCEEDED, ""
        else:  # pragma: no cover - the union is exhaustive
            status, note = RequestStatus.FAILED, "unknown step"
        state = "done" if status == RequestStatus.SUCCEEDED else "failed"
        await self._journal.write_step(
            record.id, StepEntry(index=index, state=state, token=token, note=note)
        )
        return status, note

    async def _action(
        self,
        *,
        record: RequestRecord,
        index: int,
        step: ActionStep,
        param: ResolvedParam,
        token: int,
        entry: StepEntry | None,
    ) -> tuple[RequestStatus, str]:
        call = describe_call(action=step.action, ref=param.ref)
        attempt = 1
        if entry is not None:  # started by an executor that died before writing the result
            now = await _snapshot(self._scheduler, param)
            seen = effect_seen(step.action, entry.before, now)
            if seen:
                note = "already done before a restart (the plan shows it); not called again"
                await self._journal.write_step(
                    record.id,
                    StepEntry(
                        index=index, state="done", token=token, before=entry.before, note=note
                    ),
                )
                await record_audit(
                    self._audit,
                    action="runbook.tws_call",
                    outcome="reconciled",
                    record=record,
                    target=param.display,
                    parameters={"call": call, "step": index + 1},
                )
                return RequestStatus.SUCCEEDED, note
            if seen is None or now != entry.before:
                note = (
                    f"a restart interrupted {call}; the plan cannot tell whether it ran "
                    f"({param.display} now {now.get('status')}): check it and finish by hand"
                )
                await self._journal.write_step(
                    record.id,
                    StepEntry(
                        index=index, state="failed", token=token, before=entry.before, note=note
                    ),
                )
                return RequestStatus.NEEDS_PERSON, note
            attempt = entry.attempt + 1  # the call never reached the plan: make it now
        before = await _snapshot(self._scheduler, param)
        await self._journal.write_step(
            record.id,
            StepEntry(index=index, state="started", token=token, attempt=attempt, before=before),
        )
        await self._phase(record.id, f"step_started:{index}")
        try:
            await self._actions.perform(action=step.action, ref=param.ref)
        except (TWSError, UnsupportedActionError) as exc:
            maybe = isinstance(exc, TWSUnavailableError)
            note = f"{call} failed: {exc}" + (
                "; the engine may have done it anyway: check before retrying" if maybe else ""
            )
            await self._journal.write_step(
                record.id,
                StepEntry(index=index, state="failed", token=token, before=before, note=note),
            )
            await record_audit(
                self._audit,
                action="runbook.tws_call",
                outcome="failed",
                record=record,
                target=param.display,
                parameters={"call": call, "step": index + 1, "error": str(exc)},
            )
            return (RequestStatus.NEEDS_PERSON if maybe else RequestStatus.FAILED), note
        await self._journal.write_step(
            record.id,
            StepEntry(index=index, state="done", token=token, attempt=attempt, before=before),
        )
        await record_audit(
            self._audit,
            action="runbook.tws_call",
            outcome="ok",
            record=record,
            target=param.display,
            parameters={
                "call": call,
                "step": index + 1,
                "approvers": [a.identity for a in record.approvals],
            },
        )
        return RequestStatus.SUCCEEDED, ""

    async def _wait(
        self, *, record: RequestRecord, step: WaitStep, param: ResolvedParam
    ) -> tuple[RequestStatus, str]:
        wanted = {status.value for status in step.status}
        deadline = time.monotonic() + step.timeout_seconds
        while True:
            if step.scope == "successors":
                deps = (await self._scheduler.job_successors(param.ref)).value
                states = {
                    f"{d.job_stream_name}.{d.name}": d.status for d in deps if d.kind == "job"
                }
            else:
                job = (await self._scheduler.get_job(param.ref)).value
                states = {param.display: job.status.value}
            if all(state in wanted for state in states.values()):
                return RequestStatus.SUCCEEDED, ""
            if time.monotonic() >= deadline:
                pending = ", ".join(f"{n} {s}" for n, s in states.items() if s not in wanted)
                return (
                    RequestStatus.NEEDS_PERSON,
                    f"waited {step.timeout_seconds:g} s for {'|'.join(sorted(wanted))}; still {pending}",
                )
            await self._renew(record.id)
            await asyncio.sleep(self._poll)

    async def _check(self, *, step: CheckStep, param: ResolvedParam) -> tuple[RequestStatus, str]:
        if step.workstation_available is not None:
            found = [w for w in (await self._scheduler.workstations()).value if w.name == param.ref]
            available = bool(found) and found[0].available
            ok = available == step.workstation_available
            seen = f"{param.display} is {'available' if available else 'not available'}"
        else:
            status = (await _snapshot(self._scheduler, param))["status"]
            ok = status in step.status
            seen = f"{param.display} is {status}, expected {'|'.join(step.status)}"
        if ok:
            return RequestStatus.SUCCEEDED, ""
        if step.on_fail == "warn":
            return RequestStatus.SUCCEEDED, f"warning: {seen}"
        return RequestStatus.FAILED, f"check failed: {seen}; nothing was changed by this step"

    async def _diagnose(self, param: ResolvedParam) -> Reply:
        found = [w for w in (await self._scheduler.workstations()).value if w.name == param.ref]
        if not found:
            return Reply(headline=f"Workstation {param.ref} is not in the plan", tone=Tone.ERROR)
        ws = found[0]
        jobs = (await self._scheduler.query_jobs(workstation=ws.name)).value
        waiting = [j for j in jobs if j.status in WAITING_STATUSES]
        ready = [j.qualified_name for j in waiting if j.status.value == "READY"]
        return Reply(
            headline=f"Workstation {ws.name}: {'available' if ws.available else 'NOT available'}",
            tone=Tone.SUCCESS if ws.available else Tone.WARNING,
            blocks=(
                Fields(
                    items=(
                        ("Linked", "yes" if ws.linked else "no"),
                        ("Running", "yes" if ws.running else "no"),
                        ("Limit", str(ws.limit) if ws.limit is not None else "-"),
                        ("Fence", str(ws.fence) if ws.fence is not None else "-"),
                        ("State", ws.status_text or "-"),
                        ("Jobs waiting there", str(len(waiting))),
                        ("READY but not started", ", ".join(ready[:10]) or "none"),
                    )
                ),
            ),
        )
