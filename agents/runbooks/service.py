"""`RunbookService`: request a runbook, decide on it, run it exactly once, recover after a restart.

What the bot wires::

    service.request_text(text="/tws run rerun-abended-job job=PAYROLL_DAILY.PAYROLL_EXTRACT",
                         actor=event.actor, channel=..., thread=...)   -> RequestResult (card)
    decision = service.decision_from_click(action_id=..., value=..., actor=actor)
    service.decide(decision)                                          -> DecisionResult
    service.recover()                                                 at start-up
    progress sink: posts step progress and the outcome in the request's thread

Several replicas share requests through the `Store` (Redis) and one checkpointer; the
replica whose click completes the approval drives the run, under the drive lease.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from langgraph.types import Command

from agents.forecast import Forecaster
from agents.messages import Actor, Paragraph, Reply, Tone
from agents.runbooks.actions import RunbookActions, SchedulerActions
from agents.runbooks.cards import approval_card, describe_step, dry_run_reply, outcome_reply
from agents.runbooks.catalog import ActionStep, Catalog, CheckStep, ParamType, Runbook
from agents.runbooks.decisions import Decision, DecisionKind, DecisionResult, DecisionStatus
from agents.runbooks.errors import FencedOutError, ParameterError
from agents.runbooks.executor import Executor, PhaseHook, ProgressSink, record_audit
from agents.runbooks.flow import build_flow
from agents.runbooks.journal import (
    Approval,
    HistoryEntry,
    LockSkippedError,
    RequestJournal,
    RequestRecord,
    RequestStatus,
)
from agents.runbooks.params import ResolvedParam, parse_command, resolve_parameters
from agents.runbooks.planstate import binding_hash, read_plan_state
from agents.runbooks.policy import (
    SELF_APPROVAL,
    ApprovalGroups,
    GroupDirectory,
    check_approver,
    same_person,
)
from agents.runbooks.signing import ButtonSigner
from integrations.audit.sink import AuditSink
from integrations.store.base import Store
from integrations.tws.errors import TWSError
from integrations.tws.scheduler import Scheduler

__all__ = ["RequestResult", "RunbookService"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RequestResult:
    """The answer to a request.

    Attributes:
        accepted: True when a request was created (an approval card, or a read-only run).
        request_id: Its id, when created.
        reply: The approval card, the read-only run's outcome, or why nothing was queued.
    """

    accepted: bool
    request_id: str | None
    reply: Reply


_CHECK_AGAIN = "the request changed while your click was checked; click again"


def _refusal(headline: str, problems: list[str]) -> Reply:
    return Reply(
        headline=headline,
        tone=Tone.ERROR,
        blocks=(Paragraph(text="\n".join(f"- {p}" for p in problems) + "\nNothing was queued."),),
    )


class RunbookService:
    """Runbook requests, approvals and exactly-once execution."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        groups: ApprovalGroups,
        scheduler: Scheduler,
        store: Store,
        checkpointer: Any,
        signer: ButtonSigner,
        actions: RunbookActions | None = None,
        audit: AuditSink | None = None,
        progress: ProgressSink | None = None,
        namespace: str = "rb:",
        lease_seconds: float = 30.0,
        poll_seconds: float = 5.0,
        clock: Callable[[], datetime] | None = None,
        on_phase: PhaseHook | None = None,
        directory: GroupDirectory | None = None,
    ) -> None:
        """Wire the service.

        Args:
            catalog: The validated runbooks.
            groups: Approval groups.
            scheduler: The engine (reads; job actions unless ``actions`` is given).
            store: Shared state (Redis for several replicas).
            checkpointer: LangGraph checkpointer shared by the replicas.
            signer: Signs and checks button values (same key on every replica).
            actions: What steps may do; default `SchedulerActions` over ``scheduler``.
            audit: The audit log.
            progress: Posts progress and outcomes in the request's thread.
            namespace: Key prefix in the store.
            lease_seconds: Drive lease; a replica that dies is replaced after this long.
            poll_seconds: Pause between reads in wait steps.
            clock: Server time (UTC), injectable for expiry tests.
            on_phase: Test hook (see `agents.runbooks.executor.PhaseHook`).
            directory: Resolves group references of the policy (``slack-usergroup:S…``)
                when checking who may decide; None: only listed identities are eligible.
        """
        self._catalog = catalog
        self._groups = groups
        self._directory = directory
        self._scheduler = scheduler
        self._actions = actions or SchedulerActions(scheduler)
        self._signer = signer
        self._audit = audit
        self._progress = progress
        self._lease = lease_seconds
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_phase = on_phase
        self.journal = RequestJournal(store=store, namespace=namespace)
        self._executor = Executor(
            journal=self.journal,
            scheduler=scheduler,
            actions=self._actions,
            audit=audit,
            progress=progress,
            lease_seconds=lease_seconds,
            poll_seconds=poll_seconds,
            on_phase=on_phase,
        )
        self._graph = build_flow(self, checkpointer=checkpointer)
        self._tokens: dict[str, int] = {}

    @property
    def catalog(self) -> Catalog:
        """The catalog."""
        return self._catalog

    # --- requests ------------------------------------------------------------------------

    async def request_text(
        self, *, text: str, actor: Actor, channel: str | None = None, thread: str | None = None
    ) -> RequestResult:
        """Request a run from ``/tws run RUNBOOK key=value ...``.

        Args:
            text: The command.
            actor: Who asks.
            channel: Where (for progress posts).
            thread: The thread.

        Returns:
            The card, or why nothing was queued.
        """
        try:
            parsed = parse_command(text)
        except ParameterError as exc:
            return RequestResult(
                False, None, _refusal("Cannot read that run command", exc.problems)
            )
        return await self.request(
            runbook_id=parsed.runbook_id,
            values=parsed.values,
            actor=actor,
            channel=channel,
            thread=thread,
        )

    async def request(
        self,
        *,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None = None,
        thread: str | None = None,
    ) -> RequestResult:
        """Request a run: validate against the live plan, then show the approval card.

        Args:
            runbook_id: The runbook.
            values: Its parameters as typed.
            actor: Who asks.
            channel: Where (for progress posts).
            thread: The thread.

        Returns:
            The card (or a read-only run's outcome), or why nothing was queued.
        """
        runbook = self._catalog.get(runbook_id)
        if runbook is None:
            known = ", ".join(r.id for r in self._catalog.all())
            return RequestResult(
                False, None, _refusal(f"No runbook {runbook_id!r}", [f"known runbooks: {known}"])
            )
        missing = [
            step.action.value
            for step in runbook.steps
            if isinstance(step, ActionStep) and not self._actions.supports(step.action)
        ]
        if missing:
            return RequestResult(
                False,
                None,
                _refusal(
                    f"{runbook.id} cannot run on this engine connection yet",
                    [
                        f"action {a} is not available through the Scheduler interface"
                        for a in missing
                    ],
                ),
            )
        try:
            params = await resolve_parameters(
                runbook=runbook, values=values, scheduler=self._scheduler
            )
        except ParameterError as exc:
            await self._audit_invalid(runbook, values, actor, channel, thread, exc.problems)
            return RequestResult(
                False,
                None,
                _refusal(f"Cannot run {runbook.id} with these parameters", exc.problems),
            )
        plan = await read_plan_state(scheduler=self._scheduler, params=params)
        unmet = _unmet_preconditions(runbook, params, plan.items)
        if unmet:
            # Asking colleagues to approve what the plan already rules out wastes their time.
            await self._audit_invalid(runbook, values, actor, channel, thread, unmet)
            return RequestResult(
                False, None, _refusal(f"{runbook.id} does not apply right now", unmet)
            )
        now = self._clock()
        expires = now + timedelta(
            minutes=runbook.approval.expires_minutes if runbook.approval else 5
        )
        record = RequestRecord(
            id=secrets.token_hex(6),
            runbook_id=runbook.id,
            version=runbook.version,
            digest=runbook.digest,
            values=dict(values),
            params={name: p.as_dict() for name, p in params.items()},
            requester_identity=actor.identity,
            requester_id=actor.user_id,
            requester_platform=actor.platform.value,
            requester_name=actor.display_name,
            channel=channel,
            thread=thread,
            created_at=now,
            expires_at=expires,
            status=RequestStatus.PENDING if runbook.changes_plan else RequestStatus.APPROVED,
            plan_digest=plan.digest,
            plan_items=plan.items,
            binding=binding_hash(
                runbook_id=runbook.id,
                version=runbook.version,
                digest=runbook.digest,
                params=params,
                plan=plan.digest,
            ),
            impact=await self._impact(params),
            history=[
                HistoryEntry(at=now, who=actor.display_name or actor.identity, what="requested")
            ],
        )
        async with self.journal.locked(record.id):
            await self.journal.save(record)
        await self.journal.set_active(record.id, active=True)
        await record_audit(
            self._audit,
            action="runbook.request",
            outcome="pending" if runbook.changes_plan else "read-only",
            record=record,
            target=", ".join(p.display for p in params.values()),
            parameters={"values": dict(values), "plan_state": plan.digest},
        )
        if not runbook.changes_plan:
            await self._drive(record.id)
            done = await self.journal.load(record.id)
            return RequestResult(True, record.id, await self._final_reply(done or record, runbook))
        await self._drive(record.id)  # runs to interrupt(): the request waits for approval
        current = await self.journal.load(record.id) or record
        return RequestResult(True, record.id, self._card(current, runbook))

    async def card(self, request_id: str) -> Reply | None:
        """The request's card as it stands now, or None for an unknown request."""
        record = await self.journal.load(request_id)
        if record is None:
            return None
        runbook = self._catalog.get(record.runbook_id)
        if runbook is None:
            return Reply(
                headline=f"Request {request_id}: runbook {record.runbook_id} is gone",
                tone=Tone.ERROR,
            )
        return self._card(record, runbook)

    def _card(self, record: RequestRecord, runbook: Runbook) -> Reply:
        return approval_card(
            record=record, runbook=runbook, groups=self._groups, signer=self._signer
        )

    async def _final_reply(self, record: RequestRecord, runbook: Runbook) -> Reply:
        if record.status in (RequestStatus.REJECTED, RequestStatus.EXPIRED):
            return self._card(record, runbook)
        return outcome_reply(record=record, runbook=runbook, lines=record.report)

    async def _impact(self, params: Mapping[str, ResolvedParam]) -> dict[str, list[str]]:
        successors: list[str] = []
        ids: list[str] = []
        for param in params.values():
            if param.type == ParamType.JOB:
                deps = (await self._scheduler.job_successors(param.ref)).value
                successors.extend(
                    f"{d.job_stream_name}.{d.name}" if d.kind == "job" else d.name for d in deps
                )
                ids.extend(d.id for d in deps if d.kind == "job")
            elif param.type == ParamType.JOB_STREAM:
                deps = (await self._scheduler.job_stream_successors(param.ref)).value
                successors.extend(d.name for d in deps)
        at_risk: list[str] = []
        if ids:
            snap = await self._scheduler.query_jobs()
            forecast = await Forecaster(
                scheduler=self._scheduler, jobs=snap.value, now=snap.as_of
            ).forecast(ids)
            at_risk = [
                f"{item.job.qualified_name} (deadline {item.job.deadline:%H:%M} UTC)"
                for item in forecast.jobs
                if item.job.deadline is not None and item.at_risk
            ]
        return {"successors": successors, "at_risk": at_risk}

    async def _audit_invalid(
        self,
        runbook: Runbook,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None,
        thread: str | None,
        problems: list[str],
    ) -> None:
        if self._audit is None:
            return
        try:
            await self._audit.record(
                action="runbook.request",
                outcome="invalid",
                actor_id=actor.user_id,
                actor_identity=actor.identity,
                platform=actor.platform.value,
                channel=channel,
                thread=thread,
                target=runbook.id,
                parameters={"runbook": runbook.id, "values": dict(values), "problems": problems},
            )
        except Exception:
            log.exception("runbook.audit_failed", action="runbook.request")

    # --- decisions -----------------------------------------------------------------------

    def decision_from_click(
        self, *, action_id: str, value: str, actor: Actor, received_at: datetime | None = None
    ) -> Decision:
        """Turn a button click into a `Decision` (adapters call this).

        Args:
            action_id: The button's action id.
            value: The button's value as the platform returned it.
            actor: Who clicked (resolved by the adapter).
            received_at: When (default now).

        Returns:
            The decision, signature already checked once (`decide` checks again).

        Raises:
            ForgedValueError: A forged or altered value.
        """
        signed = self._signer.parse(action_id=action_id, value=value)
        return Decision(
            request_id=signed.request_id,
            decision=signed.decision,
            actor_identity=actor.identity,
            actor_user_id=actor.user_id,
            actor_platform=actor.platform.value,
            actor_name=actor.display_name,
            nonce=signed.nonce,
            signature=signed.signature,
            received_at=received_at or self._clock(),
        )

    async def decide(self, decision: Decision) -> DecisionResult:
        """Take one decision (approve, reject, dry run) on a request, safely and once.

        Args:
            decision: The click.

        Returns:
            What to tell the clicker, the updated card, and the outcome when this click ran it.
        """
        rid = decision.request_id
        if not self._signer.verify(
            request_id=rid,
            decision=decision.decision,
            nonce=decision.nonce,
            signature=decision.signature,
        ):
            await self._audit_decision(decision, "forged", None)
            return DecisionResult(
                status=DecisionStatus.REFUSED,
                message="This button is not valid (forged or altered); nothing was done.",
            )

        async def settled() -> bool:
            current = await self.journal.load(rid)
            return current is not None and current.status != RequestStatus.PENDING

        # Eligibility may ask a directory (Slack): done before the short lock is taken.
        refusal = await self._refusal(decision)
        try:
            status, message, winner, ended, record, runbook = await self._decide_locked(
                decision, settled, refusal
            )
        except LockSkippedError:  # decided meanwhile: answer without waiting for the lock
            record = await self.journal.load(rid)
            runbook = self._catalog.get(record.runbook_id) if record else None
            if record is None or runbook is None:
                return DecisionResult(status=DecisionStatus.UNKNOWN, message=f"No request {rid}.")
            status, winner, ended = DecisionStatus.ALREADY, False, False
            message = (
                f"This request is already {record.status.value}."
                if record.status.final
                else "Already approved: the run is in progress (or done)."
            )
        if record is None or runbook is None:
            return DecisionResult(status=DecisionStatus.UNKNOWN, message=f"No request {rid}.")
        await self._audit_decision(decision, status.value, record)
        if status == DecisionStatus.EXPIRED:
            await record_audit(
                self._audit, action="runbook.expired", outcome="expired", record=record
            )
        if status == DecisionStatus.DRY_RUN:
            return DecisionResult(
                status=status,
                message="Dry run: nothing was changed.",
                outcome=await self._dry_run(record, runbook),
            )
        if winner or ended:
            try:
                await self._drive(rid)
            except (FencedOutError, TWSError) as exc:
                log.warning("runbook.drive_failed", request_id=rid, error=str(exc))
                message += f" ({exc})"
            record = await self.journal.load(rid) or record
        outcome = (
            await self._final_reply(record, runbook) if winner and record.status.final else None
        )
        if winner and record.status == RequestStatus.PENDING:
            status, message = (
                DecisionStatus.RECORDED,
                "The plan or runbook changed since the card was shown: approve the new card.",
            )
        elif winner and record.status.final:
            status, message = DecisionStatus.EXECUTED, f"Run finished: {record.status.value}."
        return DecisionResult(
            status=status, message=message, card=self._card(record, runbook), outcome=outcome
        )

    async def _refusal(self, decision: Decision) -> str | None:
        """Why the clicker may not approve (or reject) this request, or None when they may.

        The requester and the runbook's policy never change for a request, so this is
        decided from a read without the lock. The requester may always reject (withdraw).
        """
        if decision.decision == DecisionKind.DRY_RUN:
            return None
        record = await self.journal.load(decision.request_id)
        runbook = self._catalog.get(record.runbook_id) if record else None
        if record is None or runbook is None:
            return None  # answered as unknown under the lock
        if record.status != RequestStatus.PENDING:
            # Answered as "already …" under the lock, without asking a directory. Should the
            # request be pending again by then, this click is from an older card anyway.
            return _CHECK_AGAIN
        spec = runbook.approval
        requester = same_person(
            identity=decision.actor_identity,
            platform=decision.actor_platform,
            user_id=decision.actor_user_id,
            other_identity=record.requester_identity,
            other_platform=record.requester_platform,
            other_user_id=record.requester_id,
        )
        if decision.decision == DecisionKind.REJECT:
            if spec is None or requester:
                return None
        elif spec is None:
            return "this runbook needs no approval"
        elif requester:
            return SELF_APPROVAL
        return await check_approver(
            identity=decision.actor_identity,
            requester=record.requester_identity,
            spec=spec,
            groups=self._groups,
            directory=self._directory,
        )

    async def _decide_locked(
        self,
        decision: Decision,
        settled: Callable[[], Awaitable[bool]],
        refusal: str | None,
    ) -> tuple[DecisionStatus, str, bool, bool, RequestRecord | None, Runbook | None]:
        rid = decision.request_id
        who = decision.actor_name or decision.actor_identity
        winner = ended = False
        status = DecisionStatus.RECORDED
        message = ""
        async with self.journal.locked(rid, give_up=settled):
            record = await self.journal.load(rid)
            runbook = self._catalog.get(record.runbook_id) if record else None
            if record is None or runbook is None:
                return DecisionStatus.UNKNOWN, f"No request {rid}.", False, False, None, None
            now = self._clock()
            if record.status.final:
                status, message = (
                    DecisionStatus.ALREADY,
                    f"This request is already {record.status.value}.",
                )
            elif record.status in (RequestStatus.APPROVED, RequestStatus.EXECUTING):
                status, message = (
                    DecisionStatus.ALREADY,
                    "Already approved: the run is in progress (or done).",
                )
            elif decision.nonce != record.nonce:
                status = DecisionStatus.REFUSED
                message = "This card is out of date (the request changed); use the latest card."
            elif now >= record.expires_at:
                record.status = RequestStatus.EXPIRED
                record.history.append(HistoryEntry(at=now, who="resync", what="expired"))
                await self.journal.save(record)
                status, message, ended = (
                    DecisionStatus.EXPIRED,
                    "This request expired; ask again.",
                    True,
                )
            elif decision.decision == DecisionKind.DRY_RUN:
                status = DecisionStatus.DRY_RUN
            elif decision.decision == DecisionKind.REJECT:
                if refusal is not None:
                    status, message = (
                        DecisionStatus.REFUSED,
                        f"you may not reject this request: {refusal}",
                    )
                else:
                    record.status = RequestStatus.REJECTED
                    record.history.append(HistoryEntry(at=now, who=who, what="rejected"))
                    await self.journal.save(record)
                    status, message, ended = (
                        DecisionStatus.REJECTED,
                        "Rejected; nothing will run.",
                        True,
                    )
            else:
                spec = runbook.approval
                if refusal is not None:
                    status, message = DecisionStatus.REFUSED, refusal
                elif any(
                    same_person(
                        identity=decision.actor_identity,
                        platform=decision.actor_platform,
                        user_id=decision.actor_user_id,
                        other_identity=a.identity,
                        other_platform=a.platform,
                        other_user_id=a.user_id,
                    )
                    for a in record.approvals
                ):
                    status, message = DecisionStatus.ALREADY, "Your approval is already counted."
                else:
                    record.approvals.append(
                        Approval(
                            identity=decision.actor_identity.lower(),
                            user_id=decision.actor_user_id,
                            platform=decision.actor_platform,
                            name=who,
                            at=now,
                            binding=record.binding,
                        )
                    )
                    record.history.append(HistoryEntry(at=now, who=who, what="approved"))
                    needed = spec.min_approvers if spec else 1
                    if len({a.identity for a in record.approvals}) >= needed:
                        record.status = RequestStatus.APPROVED
                        status, message, winner = (
                            DecisionStatus.APPROVED,
                            "Approved: running now.",
                            True,
                        )
                    else:
                        left = needed - len(record.approvals)
                        message = f"Approval recorded; {left} more distinct approver(s) needed."
                    await self.journal.save(record)
        return status, message, winner, ended, record, runbook

    async def _audit_decision(
        self, decision: Decision, outcome: str, record: RequestRecord | None
    ) -> None:
        if self._audit is None:
            return
        try:
            await self._audit.record(
                action="runbook.decision",
                outcome=outcome,
                actor_id=decision.actor_user_id,
                actor_identity=decision.actor_identity,
                platform=decision.actor_platform,
                channel=record.channel if record else None,
                thread=record.thread if record else None,
                target=record.runbook_id if record else None,
                parameters={"decision": decision.decision.value},
                correlation={"request_id": decision.request_id},
            )
        except Exception:
            log.exception("runbook.audit_failed", action="runbook.decision")

    async def _dry_run(self, record: RequestRecord, runbook: Runbook) -> Reply:
        params = record.resolved()
        plan = await read_plan_state(scheduler=self._scheduler, params=params)
        notes = [f"plan state now #{plan.digest} (card showed #{record.plan_digest})"]
        for step in runbook.steps:
            what, call = describe_step(step, params)
            notes.append(
                f"{what}: would call {call}" if isinstance(step, ActionStep) else f"{what} ({call})"
            )
        return dry_run_reply(record=record, runbook=runbook, notes=notes)

    # --- driving the flow ----------------------------------------------------------------

    async def _drive(self, request_id: str) -> bool:
        """Advance the request's graph under the drive lease; False when another replica drives."""
        if not await self.journal.take_drive(request_id, ttl_seconds=self._lease):
            return False
        config = {"configurable": {"thread_id": request_id}}
        try:
            state = await self._graph.aget_state(config)
            if state.interrupts:
                await self._graph.ainvoke(Command(resume={"request_id": request_id}), config)
            elif state.next:
                await self._graph.ainvoke(None, config)
            elif not state.values:
                await self._graph.ainvoke({"request_id": request_id}, config)
        finally:
            await self.journal.drop_drive(request_id)
        return True

    async def recover(self) -> list[str]:
        """Continue what a restart interrupted; expire overdue requests.

        Call at start-up (and now and then). A request approved but not finished is driven
        on from its checkpoint; the step journal makes sure no step runs twice.

        Returns:
            The ids of the requests this replica drove.
        """
        driven: list[str] = []
        for rid in await self.journal.active():
            record = await self.journal.load(rid)
            if record is None:
                await self.journal.set_active(rid, active=False)
                continue
            overdue = record.status == RequestStatus.PENDING and self._clock() >= record.expires_at
            if (
                record.status in (RequestStatus.APPROVED, RequestStatus.EXECUTING)
                or overdue
                or record.status.final
            ):
                try:
                    if await self._drive(rid):
                        driven.append(rid)
                except (FencedOutError, TWSError) as exc:
                    log.warning("runbook.recover_failed", request_id=rid, error=str(exc))
        return driven

    # --- FlowSteps -----------------------------------------------------------------------

    async def decided(self, request_id: str) -> str | None:
        """See `agents.runbooks.flow.FlowSteps.decided`."""
        async with self.journal.locked(request_id):
            record = await self.journal.load(request_id)
            if record is None:
                return RequestStatus.FAILED.value
            if record.status == RequestStatus.PENDING:
                if self._clock() < record.expires_at:
                    return None
                record.status = RequestStatus.EXPIRED
                record.history.append(HistoryEntry(at=self._clock(), who="resync", what="expired"))
                await self.journal.save(record)
                expired = True
            else:
                expired = False
        if expired:
            await record_audit(
                self._audit, action="runbook.expired", outcome="expired", record=record
            )
            return RequestStatus.EXPIRED.value
        if record.status in (RequestStatus.APPROVED, RequestStatus.EXECUTING):
            return "approved"
        return record.status.value

    async def recheck(self, request_id: str) -> bool:
        """See `agents.runbooks.flow.FlowSteps.recheck`: the approval's binding, re-read now."""
        if self._on_phase is not None:
            await self._on_phase(request_id, "before_recheck")
        record = await self.journal.load(request_id)
        if record is None or record.status != RequestStatus.APPROVED:
            return record is not None and record.status == RequestStatus.EXECUTING
        runbook = self._catalog.get(record.runbook_id)
        reason = ""
        new_params: dict[str, ResolvedParam] | None = None
        if runbook is None:
            reason = f"runbook {record.runbook_id} is no longer in the catalog"
        else:
            if (runbook.version, runbook.digest) != (record.version, record.digest):
                reason = f"the runbook changed (now v{runbook.version})"
            try:
                new_params = await resolve_parameters(
                    runbook=runbook, values=record.values, scheduler=self._scheduler
                )
            except ParameterError as exc:
                reason = f"the parameters no longer match the plan: {exc}"
        if runbook is None or new_params is None:
            await self._close(request_id, RequestStatus.FAILED, reason)
            return False
        plan = await read_plan_state(scheduler=self._scheduler, params=new_params)
        binding = binding_hash(
            runbook_id=runbook.id,
            version=runbook.version,
            digest=runbook.digest,
            params=new_params,
            plan=plan.digest,
        )
        approved_binding = (
            {a.binding for a in record.approvals} if runbook.changes_plan else {record.binding}
        )
        stored = binding_hash(
            runbook_id=record.runbook_id,
            version=record.version,
            digest=record.digest,
            params=record.resolved(),
            plan=record.plan_digest,
        )
        if not reason and binding == record.binding == stored and approved_binding == {binding}:
            return True
        if not reason:
            reason = (
                "the plan state changed since approval"
                if plan.digest != record.plan_digest
                else "the parameters changed since approval"
            )
        async with self.journal.locked(request_id):
            current = await self.journal.load(request_id)
            if current is None or current.status != RequestStatus.APPROVED:
                return False
            now = self._clock()
            current.round += 1
            current.nonce = secrets.token_hex(8)
            current.approvals = []
            current.status = RequestStatus.PENDING
            current.version, current.digest = runbook.version, runbook.digest
            current.params = {name: p.as_dict() for name, p in new_params.items()}
            current.plan_digest, current.plan_items = plan.digest, plan.items
            current.binding = binding
            current.expires_at = now + timedelta(
                minutes=runbook.approval.expires_minutes if runbook.approval else 5
            )
            current.history.append(
                HistoryEntry(at=now, who="resync", what=f"{reason}: approve again")
            )
            await self.journal.save(current)
        await record_audit(
            self._audit,
            action="runbook.reapproval",
            outcome="pending",
            record=current,
            parameters={"reason": reason},
        )
        if self._progress is not None:
            await self._progress(
                self._card(current, runbook),
                request_id=request_id,
                platform=current.requester_platform,
                channel=current.channel,
                thread=current.thread,
            )
        return False

    async def _close(self, request_id: str, status: RequestStatus, outcome: str) -> None:
        async with self.journal.locked(request_id):
            record = await self.journal.load(request_id)
            if record is None or record.status.final:
                return
            record.status = status
            record.outcome = outcome
            record.history.append(HistoryEntry(at=self._clock(), who="resync", what=outcome))
            await self.journal.save(record)

    async def execute(self, request_id: str) -> str:
        """See `agents.runbooks.flow.FlowSteps.execute`: exactly once, fenced."""
        if self._on_phase is not None:
            await self._on_phase(request_id, "before_execute")
        token = await self.journal.next_token(request_id)
        async with self.journal.locked(request_id):
            record = await self.journal.load(request_id)
            if record is None:
                return RequestStatus.FAILED.value
            if record.status not in (RequestStatus.APPROVED, RequestStatus.EXECUTING):
                return record.status.value
            record.exec_token = token
            if record.status == RequestStatus.APPROVED:
                record.history.append(
                    HistoryEntry(at=self._clock(), who="resync", what="execution started")
                )
            record.status = RequestStatus.EXECUTING
            await self.journal.save(record)
        runbook = self._catalog.get(record.runbook_id)
        if runbook is None:
            await self._close(
                request_id, RequestStatus.NEEDS_PERSON, "runbook vanished during the run"
            )
            return RequestStatus.NEEDS_PERSON.value
        try:
            result = await self._executor.run(record=record, runbook=runbook, token=token)
        except TWSError as exc:
            await self._close(
                request_id, RequestStatus.NEEDS_PERSON, f"reading the plan failed: {exc}"
            )
            return RequestStatus.NEEDS_PERSON.value
        async with self.journal.locked(request_id):
            current = await self.journal.check_token(request_id, token)
            current.status = result.status
            current.outcome = result.summary
            current.report = result.lines
            current.history.append(
                HistoryEntry(at=self._clock(), who="resync", what=result.status.value)
            )
            await self.journal.save(current)
        return result.status.value

    async def finish(self, request_id: str, outcome: str) -> None:
        """See `agents.runbooks.flow.FlowSteps.finish`: outcome posted and audited once."""
        record = await self.journal.load(request_id)
        if record is None:
            return
        runbook = self._catalog.get(record.runbook_id)
        if await self.journal.once(request_id, "finish"):
            await record_audit(
                self._audit,
                action="runbook.outcome",
                outcome=record.status.value,
                record=record,
                parameters={"summary": record.outcome or outcome, "steps": record.report},
            )
            if self._progress is not None and runbook is not None:
                await self._progress(
                    await self._final_reply(record, runbook),
                    request_id=request_id,
                    platform=record.requester_platform,
                    channel=record.channel,
                    thread=record.thread,
                )
        await self.journal.set_active(request_id, active=False)


def _unmet_preconditions(
    runbook: Runbook,
    params: Mapping[str, ResolvedParam],
    items: Mapping[str, Mapping[str, object]],
) -> list[str]:
    """Status checks before the first action that the live plan already fails.

    Only checks that stop the run count (``on_fail: stop``); the executor re-checks every one
    at run time, since the plan moves while a request waits for approval.
    """
    problems: list[str] = []
    for step in runbook.steps:
        if isinstance(step, ActionStep):
            break
        if not isinstance(step, CheckStep) or not step.status or step.on_fail != "stop":
            continue
        status = items.get(step.target, {}).get("status")
        if status is not None and status not in step.status:
            shown = params[step.target].display if step.target in params else step.target
            problems.append(f"{shown} is {status}; this runbook needs {' or '.join(step.status)}")
    return problems
