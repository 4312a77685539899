"""The shape of Slack's payloads: what Resync reads, with the types it expects.

Slack signs what it sends, but a payload that parses and still has a field of another type
(``"actions": 5``, ``"user": "x"``) must not fail later in the translation or the core's
background work with a traceback. `malformed` checks the fields Resync reads, before
anything is handed over; a bad delivery is refused as a whole (HTTP: 400, one log line).
Anything else in a payload is allowed and ignored, so Slack can add fields freely.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

__all__ = ["malformed"]


def _shape(name: str, *texts: str, **nested: Any) -> type[BaseModel]:
    """A model of optional fields: ``texts`` are strings, ``nested`` name their own type."""
    fields: dict[str, Any] = dict.fromkeys(texts, (str | None, None))
    fields.update({field: (kind | None, None) for field, kind in nested.items()})
    config = ConfigDict(extra="allow", strict=True)  # other fields: Slack may add any
    return create_model(name, __config__=config, **fields)


_Event = _shape(
    "Event",
    *("type", "subtype", "user", "bot_id", "text", "channel", "channel_type", "ts"),
    *("thread_ts", "client_msg_id", "team", "user_team", "source_team"),
    user_profile=_shape("Profile", "team"),
)
_Envelope = _shape(
    "Envelope",
    *("type", "event_id", "team_id", "enterprise_id"),
    authorizations=list[_shape("Authorization", "user_id", is_bot=bool)],  # type: ignore[misc]
    event=dict[str, Any],
)
_Command = _shape(
    "Command",
    *("command", "text", "user_id", "user_name", "channel_id", "team_id", "enterprise_id"),
    *("trigger_id", "response_url"),
)
_Interaction = _shape(
    "Interaction",
    "type",
    "trigger_id",
    user=_shape("User", "id", "name", "username", "team_id"),
    team=_shape("Team", "id"),
    enterprise=_shape("Enterprise", "id"),
    channel=_shape("Channel", "id"),
    container=_shape("Container", "message_ts", "channel_id"),
    message=_shape("Message", "ts", "thread_ts"),
    actions=list[  # type: ignore[misc]
        _shape("Action", "action_id", "action_ts", "value", text=_shape("Text", "text"))
    ],
)

# Only the events and interactions Resync answers are checked in depth: others (a new event
# subscription, a shortcut) are ignored later anyway and must not be refused (Slack turns
# off event subscriptions that keep failing).
_ANSWERED_EVENTS = frozenset({"app_mention", "message"})


def _checked(kind: str, payload: dict[str, Any]) -> list[tuple[type[BaseModel], object]]:
    if kind == "events_api":
        event = payload.get("event")
        deep = isinstance(event, dict) and event.get("type") in _ANSWERED_EVENTS
        return [(_Envelope, payload), *([(_Event, event)] if deep else [])]
    if kind == "slash_commands":
        return [(_Command, payload)]
    if kind == "interactive" and payload.get("type") == "block_actions":
        return [(_Interaction, payload)]
    return []


def malformed(kind: str, payload: dict[str, Any]) -> str | None:
    """Check a delivery's payload before it is translated.

    Args:
        kind: ``events_api``, ``slash_commands`` or ``interactive``.
        payload: The parsed payload (an object).

    Returns:
        None when every field Resync reads has the expected type, else which do not (for
        the log).
    """
    try:
        for shape, data in _checked(kind, payload):
            shape.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        return f"wrong type of {', '.join(fields)[:200]}"
    except RecursionError:  # Socket Mode payloads were parsed by slack_sdk, not by us
        return "nested too deeply"
    return None
