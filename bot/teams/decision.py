"""`Decision`: a click on a reply's button, platform-neutral.

Defined here for now; it moves next to `bot.messages` once Slack shares it. A decision is
only built from a button the bot itself rendered: the surface checks the clicked
``action_id`` against the stored reply, so a forged payload cannot invent a button.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.messages import Actor, Reply

__all__ = ["Decision", "DecisionHandler"]


@dataclass(frozen=True, slots=True)
class Decision:
    """Someone clicked a button.

    Attributes:
        action_id: What the click means (the button's ``action_id``, e.g. ``approval.approve``).
        value: The button's payload, as rendered (check it before acting).
        label: The button's label (for the record and the card).
        actor: Who clicked.
        channel_id: The conversation, without ``;messageid=``.
        thread_id: The reply chain, when in one.
        card_id: The id under which the clicked reply is stored.
        activity_id: The platform's id of the click (dedupe key).
        decided_at: Server clock at arrival.
    """

    action_id: str
    value: str
    label: str
    actor: Actor
    channel_id: str
    thread_id: str | None
    card_id: str
    activity_id: str
    decided_at: datetime


class DecisionHandler(Protocol):
    """Acts on decisions (the approval flow); optional for the Teams surface."""

    async def decide(self, decision: Decision) -> Reply | None:
        """Act on one decision; a returned reply is posted in the card's thread."""
        ...
