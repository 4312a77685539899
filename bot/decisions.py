"""Button clicks, platform-neutral: one `Decision` in, one `DecisionOutcome` out.

Every chat surface (Slack, Teams) turns a click on a `bot.messages.Button` into a `Decision`
and hands it to a `DecisionHandler`. The handler decides what the click means (e.g. the
runbook service for ``runbook.*`` buttons, see `bot.runbook_clicks.RunbookDecisions`) and
answers with a `DecisionOutcome`: a private note for the clicker, the message that replaces
the clicked card for everyone, and a reply for the card's thread. The surface delivers each
part in its platform's way; it never changes the card on its own for ``runbook.*`` buttons.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from bot.messages import Actor, Reply

__all__ = [
    "RUNBOOK_ACTION_PREFIX",
    "Decision",
    "DecisionHandler",
    "DecisionOutcome",
    "is_runbook_action",
]

RUNBOOK_ACTION_PREFIX: Final = "runbook."
"""Buttons whose action id starts with this are decided by the handler, click by click."""


def is_runbook_action(action_id: str) -> bool:
    """Whether a button belongs to the runbook approval flow.

    Such clicks are never "first click wins": every distinct click reaches the handler, and
    only the handler's answer changes the card.

    Args:
        action_id: The clicked button's action id.

    Returns:
        True for ``runbook.approve``, ``runbook.reject``, ``runbook.dry_run`` (and any other
        ``runbook.*`` id).
    """
    return action_id.startswith(RUNBOOK_ACTION_PREFIX)


class Decision(BaseModel):
    """Someone clicked a button.

    Attributes:
        decision_id: The platform's id of the click (dedupe key: Slack trigger and action
            timestamp, Teams activity id).
        action_id: The button's action id (what the click means, e.g. ``runbook.approve``).
        value: The button's value (opaque; the handler checks it, never trusts it).
        label: What the button said.
        actor: Who clicked.
        channel_id: Where the message is (Teams: the conversation id without
            ``;messageid=``).
        thread_id: Thread of the message (its root), None at top level.
        message_id: The message that held the button (Slack ``ts``, Teams activity id).
        decided_at: When the click arrived (server clock).
    """

    model_config = ConfigDict(frozen=True)

    decision_id: str
    action_id: str
    value: str
    label: str
    actor: Actor
    channel_id: str
    thread_id: str | None = None
    message_id: str | None = None
    decided_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def verb(self) -> str:
        """The last dotted part of the action id: ``runbook.approve`` -> ``approve``."""
        return self.action_id.rsplit(".", 1)[-1]


class DecisionOutcome(BaseModel):
    """What a surface shows after a click; every part is optional.

    Attributes:
        reply_for_clicker: A note only the clicker sees (Slack ephemeral message, Teams
            invoke response), e.g. "You cannot approve your own request".
        updated_message: Replaces the clicked card for everyone (Slack ``chat.update``,
            Teams invoke response and activity update).
        thread_reply: Posted in the card's thread for everyone.
    """

    model_config = ConfigDict(frozen=True)

    reply_for_clicker: Reply | None = None
    updated_message: Reply | None = None
    thread_reply: Reply | None = None


DecisionHandler = Callable[[Decision], Awaitable[DecisionOutcome | None]]
"""Receives decisions; None means "nothing to show"."""
