"""Button clicks as platform-neutral `Decision` objects.

A click on a `bot.messages.Button` comes back from Slack as a ``block_actions`` payload;
`decision_from_action` turns one action into a `Decision` the agent can act on later (e.g.
runbook approvals resuming an interrupted graph). The model is Slack-free on purpose: it
lives here until Teams needs it too, then it moves to ``bot/decisions.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.messages import Actor, Reply

__all__ = ["Decision", "DecisionHandler", "decision_from_action"]


class Decision(BaseModel):
    """Someone clicked a button.

    Attributes:
        decision_id: The platform's id of the click (dedupe key).
        action_id: The button's action id (what the click means, e.g. ``approval.approve``).
        value: The button's value (opaque; the handler checks it, never trusts it).
        label: What the button said.
        actor: Who clicked.
        channel_id: Where the message is.
        thread_id: Thread of the message (its root), None at top level.
        message_id: The message that held the button (Slack ``ts``).
        decided_at: When the click arrived.
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
        """The last dotted part of the action id: ``approval.approve`` -> ``approve``."""
        return self.action_id.rsplit(".", 1)[-1]


DecisionHandler = Callable[[Decision], Awaitable[Reply | None]]
"""Receives decisions; may return a reply to post in the message's thread."""


def decision_from_action(
    *, payload: dict[str, Any], action: dict[str, Any], actor: Actor
) -> Decision:
    """Build a decision from one action of a Slack ``block_actions`` payload.

    Args:
        payload: The interaction payload.
        action: One element of ``payload["actions"]``.
        actor: The resolved clicker.

    Returns:
        The decision.
    """
    message: dict[str, Any] = payload.get("message") or {}
    container: dict[str, Any] = payload.get("container") or {}
    channel: dict[str, Any] = payload.get("channel") or {}
    label_obj = action.get("text")
    label = str(label_obj.get("text", "")) if isinstance(label_obj, dict) else ""
    message_ts = message.get("ts") or container.get("message_ts")
    return Decision(
        decision_id=f"{payload.get('trigger_id', '')}:{action.get('action_ts', '')}",
        action_id=str(action.get("action_id", "")),
        value=str(action.get("value", "")),
        label=label,
        actor=actor,
        channel_id=str(channel.get("id") or container.get("channel_id") or ""),
        thread_id=message.get("thread_ts") or message_ts,
        message_id=message_ts,
    )
