"""`ApprovalDesk`: a click on an approval card, checked, applied once, and answered.

In order: the button's signature (a forged value is refused and audited); who may decide
(`ApprovalDesk.eligibility`, which may ask a group directory, so it runs before the short
lock is taken); then, under the request's lock, the pure rules of
`agents.runbooks.approvals.transition` and one save. Every decision is audited through
`RunbookAudit.click`.

The click whose approval completes the policy is the only one that runs the request: with a
`agents.tasks.Spawner` the run is started in the background and the clicker is answered at
once (the thread gets progress and the outcome); without one it runs before the answer.
Clicks that arrive while another holds the lock do not wait for it once the request is no
longer pending: they are told it is already running or done.

A click also says where the card is (`Decision.card`); the record keeps it (as does
`ApprovalDesk.card_posted` when a surface posts the card), so the replica that finishes the
run replaces the card, even when the clicked one died. Every answer carries the record's
revision as the card's version. What the clicker reads is words for people; what went wrong
inside (another replica took the run over, the plan could not be read) goes to the log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from agents.messages import Actor
from agents.runbooks.approvals import Follow, Transition, settled_message, transition
from agents.runbooks.audit import RunbookAudit
from agents.runbooks.cards import CardMaker
from agents.runbooks.catalog import Catalog, Runbook
from agents.runbooks.decisions import Decision, DecisionKind, DecisionResult, DecisionStatus
from agents.runbooks.driver import FlowDriver
from agents.runbooks.dryrun import dry_run
from agents.runbooks.errors import FencedOutError
from agents.runbooks.journal import (
    CardPlace,
    LockSkippedError,
    RequestJournal,
    RequestRecord,
    RequestStatus,
)
from agents.runbooks.policy import (
    SELF_APPROVAL,
    ApprovalGroups,
    GroupDirectory,
    check_approver,
    same_person,
)
from agents.runbooks.signing import ButtonSigner, ForgedValueError
from integrations.tws.errors import TWSError
from integrations.tws.scheduler import Scheduler

__all__ = ["STARTED_IN_BACKGROUND", "ApprovalDesk"]

log = structlog.get_logger(__name__)

STARTED_IN_BACKGROUND = (
    "Approved: the run has started. Progress and the outcome are posted in the request's thread."
)
TAKEN_OVER = (
    "Approved. Another Resync server has taken over the run; its progress and the outcome "
    "are posted in the request's thread."
)
PLAN_UNREADABLE = (
    "Approved, but TWS could not be read just now; Resync tries again within a few minutes "
    "and posts progress and the outcome in the request's thread."
)
_CHECK_AGAIN = "the request changed while your click was checked; click again"
_FINISHED_WORDS = {RequestStatus.NEEDS_PERSON: "stopped, a person must look"}


def _finished(record: RequestRecord) -> str:
    words = _FINISHED_WORDS.get(record.status, record.status.value)
    if record.status == RequestStatus.SUCCEEDED or not record.outcome:
        return f"Run finished: {words}."
    return f"Run finished: {words}. {record.outcome}"


class ApprovalDesk:
    """Takes decisions on requests: verify, check eligibility, apply once, answer."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        groups: ApprovalGroups,
        directory: GroupDirectory | None,
        scheduler: Scheduler,
        journal: RequestJournal,
        signer: ButtonSigner,
        audit: RunbookAudit,
        cards: CardMaker,
        driver: FlowDriver,
        clock: Callable[[], datetime],
    ) -> None:
        """Wire the desk.

        Args:
            catalog: The runbooks.
            groups: Approval groups.
            directory: Resolves group references of the policy; None: identities only.
            scheduler: Reads the plan for dry runs.
            journal: Request records and locks.
            signer: Checks button values.
            audit: The runbook audit records.
            cards: Renders the updated card and outcomes.
            driver: Runs the request once approved (inline or in the background).
            clock: Server time (UTC).
        """
        self._catalog = catalog
        self._groups = groups
        self._directory = directory
        self._scheduler = scheduler
        self._journal = journal
        self._signer = signer
        self._audit = audit
        self._cards = cards
        self._driver = driver
        self._clock = clock

    def decision_from_click(
        self,
        *,
        action_id: str,
        value: str,
        actor: Actor,
        received_at: datetime | None = None,
        card: CardPlace | None = None,
    ) -> Decision:
        """See `agents.runbooks.service.RunbookService.decision_from_click`."""
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
            card=card,
        )

    async def card_posted(self, *, action_id: str, value: str, card: CardPlace) -> bool:
        """Remember where a request's card was posted (one of its buttons identifies it).

        Args:
            action_id: A button of the card.
            value: Its signed value.
            card: Where the card is.

        Returns:
            True when the record now points at this card; False for a card of an earlier
            round, an unknown request or a value that does not verify.
        """
        try:
            signed = self._signer.parse(action_id=action_id, value=value)
        except ForgedValueError:
            log.warning("runbook.card_unverified", action_id=action_id)
            return False
        async with self._journal.locked(signed.request_id):
            record = await self._journal.load(signed.request_id)
            if record is None or record.nonce != signed.nonce:
                return False
            if record.card != card:
                record.card = card
                await self._journal.save(record)
        return True

    async def decide(self, decision: Decision) -> DecisionResult:
        """See `agents.runbooks.service.RunbookService.decide`."""
        rid = decision.request_id
        if not self._signer.verify(
            request_id=rid,
            decision=decision.decision,
            nonce=decision.nonce,
            signature=decision.signature,
        ):
            await self._audit.click(decision=decision, outcome="forged", record=None)
            return DecisionResult(
                status=DecisionStatus.REFUSED,
                message="This button is not valid (forged or altered); nothing was done.",
            )
        eligibility = await self.eligibility(decision)
        applied = await self._apply(decision, eligibility)
        if applied is None:
            return DecisionResult(status=DecisionStatus.UNKNOWN, message=f"No request {rid}.")
        step, record, runbook = applied
        await self._audit.click(decision=decision, outcome=step.status.value, record=record)
        if step.status == DecisionStatus.EXPIRED:
            await self._audit.request_event(
                action="runbook.expired", outcome="expired", record=record
            )
        if step.status == DecisionStatus.DRY_RUN:
            report = await dry_run(record=record, runbook=runbook, scheduler=self._scheduler)
            return DecisionResult(
                status=step.status, message="Dry run: nothing was changed.", outcome=report
            )
        if step.follow == Follow.RUN and self._driver.background:
            self._driver.start(rid)
            return DecisionResult(
                status=DecisionStatus.APPROVED,
                message=STARTED_IN_BACKGROUND,
                card=self._cards.card(record=record, runbook=runbook),
                card_version=record.revision,
            )
        return await self._follow(step, record, runbook)

    async def _follow(
        self, step: Transition, record: RequestRecord, runbook: Runbook
    ) -> DecisionResult:
        """Drive the flow inline where the transition asks for it, and answer."""
        status, message = step.status, step.message
        if step.follow in (Follow.RUN, Follow.END):
            try:
                await self._driver.drive(record.id)
            except FencedOutError as exc:  # the other replica posts progress and the outcome
                log.info("runbook.taken_over", request_id=record.id, error=str(exc))
                message = TAKEN_OVER if step.follow == Follow.RUN else message
            except TWSError as exc:  # recover() drives the approved request again
                log.warning("runbook.drive_failed", request_id=record.id, error=str(exc))
                message = PLAN_UNREADABLE if step.follow == Follow.RUN else message
            record = await self._journal.load(record.id) or record
        outcome = None
        card = self._cards.card(record=record, runbook=runbook)
        if step.follow == Follow.RUN and record.status == RequestStatus.PENDING:
            status = DecisionStatus.RECORDED
            message = "The plan or runbook changed since the card was shown: approve the new card."
            card = self._cards.superseded(record=record, runbook=runbook)  # the clicked card
        elif step.follow == Follow.RUN and record.status.final:
            status, message = DecisionStatus.EXECUTED, _finished(record)
            outcome = self._cards.final(record=record, runbook=runbook)
        return DecisionResult(
            status=status,
            message=message,
            card=card,
            outcome=outcome,
            card_version=record.revision,
        )

    async def _apply(
        self, decision: Decision, eligibility: str | None
    ) -> tuple[Transition, RequestRecord, Runbook] | None:
        """Load, transition and save under the request's lock; None for an unknown request."""
        rid = decision.request_id

        async def settled() -> bool:
            current = await self._journal.load(rid)
            return current is not None and current.status != RequestStatus.PENDING

        try:
            async with self._journal.locked(rid, give_up=settled):
                record = await self._journal.load(rid)
                runbook = self._catalog.get(record.runbook_id) if record else None
                if record is None or runbook is None:
                    return None
                step = transition(
                    record=record,
                    decision=decision,
                    policy=runbook.approval,
                    eligibility=eligibility,
                    now=self._clock(),
                )
                saved = step.record
                card = decision.card
                if card is not None and decision.nonce == record.nonce:
                    # The clicked card is this round's: remember where it is (saved with
                    # the decision, before a run starts that may finish on another replica).
                    saved = saved or record
                    if saved.card != card:
                        saved.card = card
                    elif step.record is None:
                        saved = None
                if saved is not None:
                    await self._journal.save(saved)
                    record = saved
                return step, record, runbook
        except LockSkippedError:  # decided meanwhile: answer without waiting for the lock
            record = await self._journal.load(rid)
            runbook = self._catalog.get(record.runbook_id) if record else None
            if record is None or runbook is None:
                return None
            return Transition(DecisionStatus.ALREADY, settled_message(record)), record, runbook

    async def eligibility(self, decision: Decision) -> str | None:
        """Why the clicker may not approve (or reject) this request, or None when they may.

        The requester and the runbook's policy never change for a request, so this is
        decided from a read without the lock. The requester may always reject (withdraw).

        Args:
            decision: The click.

        Returns:
            The reason to refuse, for the clicker; None when they may decide.
        """
        if decision.decision == DecisionKind.DRY_RUN:
            return None
        record = await self._journal.load(decision.request_id)
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
            aliases=(f"{decision.actor_platform}:{decision.actor_user_id}",),
            requester=record.requester_identity,
            spec=spec,
            groups=self._groups,
            directory=self._directory,
        )
