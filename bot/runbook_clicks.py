"""`RunbookDecisions`: the `agents.messages.ClickHandler` for runbook approval cards.

Slack and Teams hand every click on a ``runbook.*`` button here; the `RunbookService`
decides (signature, nonce, policy, expiry, exactly-once execution) and this adapter maps its
answer to what the surface shows::

    Click --decision_from_click--> agents Decision --decide--> DecisionResult
        result.message -> reply_for_clicker   (private: "someone else must approve it", ...)
        result.card    -> updated_message     (the card for everyone: who approved, status)
        dry run        -> thread_reply        (what the run would do)

The clicked card's place goes with the decision, and a card posted by the core is reported
to the service (`card_posted`, a `bot.core.cards.CardWatcher`): the request keeps where its
card is, so whichever replica finishes the run replaces it. The updated card carries the
request's revision (`bot.core.cards.VersionedOutcome`), so it never replaces a newer card.

The run's progress and outcome are posted in the request's thread by the service's progress
sink (`bot.progress.ProgressRouter`), not here. The approval that completes the policy starts
the run in a supervised task (`bot.core.tasks.TaskSupervisor`, handed to the service as its
``spawn``): a click is decided in seconds, never held for a runbook's wait steps. The
`bot.core.dispatcher.Dispatcher` routes ``runbook.*`` clicks here.
"""

from __future__ import annotations

from typing import Final

import structlog

from agents.messages import (
    Actions,
    Click,
    ClickOutcome,
    Platform,
    Reply,
    Tone,
    is_runbook_action,
)
from agents.runbooks.decisions import DecisionResult, DecisionStatus
from agents.runbooks.journal import CardPlace
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ForgedValueError
from bot.core.audit import record_chat_event
from bot.core.cards import VersionedOutcome
from bot.core.port import Posted
from integrations.audit.sink import AuditSink

__all__ = ["FORGED_NOTE", "RunbookDecisions"]

log = structlog.get_logger(__name__)

FORGED_NOTE: Final = "That button was altered; nothing was done."

_TONES: Final = {
    DecisionStatus.REFUSED: Tone.WARNING,
    DecisionStatus.EXPIRED: Tone.WARNING,
    DecisionStatus.UNKNOWN: Tone.WARNING,
    DecisionStatus.ALREADY: Tone.INFO,
    DecisionStatus.REJECTED: Tone.INFO,
    DecisionStatus.APPROVED: Tone.SUCCESS,
    DecisionStatus.EXECUTED: Tone.SUCCESS,
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


class RunbookDecisions:
    """Runbook button clicks, decided by the `RunbookService` (a `ClickHandler`)."""

    def __init__(self, service: RunbookService, *, audit: AuditSink | None = None) -> None:
        """Wrap the service.

        Args:
            service: Decides and runs.
            audit: Where forged clicks are recorded (``runbook.forged_click``); the service
                audits every decision it takes itself, but a value that does not even parse
                never reaches it.
        """
        self._service = service
        self._audit = audit

    async def __call__(self, decision: Click) -> ClickOutcome | None:
        """Decide on one click.

        Args:
            decision: The click, as a surface built it.

        Returns:
            What to show; None for buttons that are not runbook buttons.
        """
        if not is_runbook_action(decision.action_id):
            return None
        card = None
        if decision.message_id:
            card = CardPlace(
                platform=decision.actor.platform.value,
                channel=decision.channel_id,
                message_id=decision.message_id,
                thread=decision.thread_id,
            )
        try:
            click = self._service.decision_from_click(
                action_id=decision.action_id,
                value=decision.value,
                actor=decision.actor,
                received_at=decision.decided_at,
                card=card,
            )
        except ForgedValueError as exc:
            log.warning(
                "runbook.forged_click",
                action_id=decision.action_id,
                actor=decision.actor.identity,
                decision_id=decision.decision_id,
                reason=str(exc)[:200],
            )
            await record_chat_event(
                self._audit,
                platform=decision.actor.platform.value,
                action="runbook.forged_click",
                outcome="refused",
                actor=decision.actor,
                channel=decision.channel_id,
                thread=decision.thread_id,
                parameters={
                    "action_id": decision.action_id,
                    "value": decision.value[:200],
                    "reason": str(exc)[:200],
                },
                correlation={"decision_id": decision.decision_id},
            )
            return ClickOutcome(reply_for_clicker=Reply(headline=FORGED_NOTE, tone=Tone.ERROR))
        result = await self._service.decide(click)
        return self.outcome_of(result)

    async def card_posted(self, *, platform: Platform, reply: Reply, posted: Posted) -> None:
        """Tell the service where an approval card was posted (`bot.core.cards.CardWatcher`).

        Args:
            platform: Where.
            reply: The card (its runbook buttons name the request and the approval round).
            posted: The posted message.
        """
        button = next(
            (
                b
                for block in reply.blocks
                if isinstance(block, Actions)
                for b in block.buttons
                if is_runbook_action(b.action_id)
            ),
            None,
        )
        if button is None:
            return
        place = CardPlace(
            platform=platform.value,
            channel=posted.channel,
            message_id=posted.message_id,
            thread=posted.thread,
        )
        await self._service.card_posted(action_id=button.action_id, value=button.value, card=place)

    @staticmethod
    def outcome_of(result: DecisionResult) -> ClickOutcome:
        """Map the service's answer to what a surface shows.

        Args:
            result: The service's answer.

        Returns:
            The clicker's note, the updated card (none when the click was refused), and a
            dry run's report for the thread.
        """
        note = Reply(
            headline=_sentence(result.message),
            tone=_TONES.get(result.status, Tone.INFO),
        )
        thread = result.outcome if result.status == DecisionStatus.DRY_RUN else None
        # A refused click changed nothing: the card stays as everyone sees it.
        card = None if result.status == DecisionStatus.REFUSED else result.card
        return VersionedOutcome(
            reply_for_clicker=note,
            updated_message=card,
            thread_reply=thread,
            card_version=result.card_version,
        )
