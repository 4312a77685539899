"""Slack button clicks as platform-neutral `agents.messages.Click` objects.

A click on a `agents.messages.Button` comes back from Slack as a ``block_actions`` payload;
`decision_from_action` turns one action into a `Click`. The model itself lives in
`agents.messages` (shared with Teams); it is re-exported here for older imports.
"""

from __future__ import annotations

from typing import Any

from agents.messages import Actor, Click, ClickHandler, ClickOutcome

__all__ = ["Click", "ClickHandler", "ClickOutcome", "decision_from_action"]


def decision_from_action(*, payload: dict[str, Any], action: dict[str, Any], actor: Actor) -> Click:
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
    return Click(
        decision_id=f"{payload.get('trigger_id', '')}:{action.get('action_ts', '')}",
        action_id=str(action.get("action_id", "")),
        value=str(action.get("value", "")),
        label=label,
        actor=actor,
        channel_id=str(channel.get("id") or container.get("channel_id") or ""),
        thread_id=message.get("thread_ts") or message_ts,
        message_id=message_ts,
    )
