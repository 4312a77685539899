"""The inbound activity: parsed, its shape checked, its tenant read.

A body that is not JSON, nests deeper than the JSON decoder allows (`RecursionError`), or
carries a field the adapter reads with the wrong type (``"from": "x"``, ``"conversation": 5``)
is refused as a whole with `MalformedActivityError` (the surface answers 400 and logs one line),
so nothing later (references, identity, inbound text, clicks) meets a shape it does not
expect and fails with a traceback. The models list only the fields Resync reads; anything
else in the activity is allowed and ignored.

The tenant (`tenant_of`) is where the activity's conversation lives: ``channelData.tenant.id``
and ``conversation.tenantId``, which Teams sets to the same value.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["MalformedActivityError", "parse_activity", "tenant_of"]


class MalformedActivityError(ValueError):
    """The body is not an activity Resync can read (the message says why, for the log)."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)


class _Account(_Shape):
    id: str | None = None
    name: str | None = None
    aadObjectId: str | None = None  # noqa: N815 - the wire name


class _Conversation(_Shape):
    id: str | None = None
    tenantId: str | None = None  # noqa: N815
    conversationType: str | None = None  # noqa: N815
    isGroup: bool | None = None  # noqa: N815


class _Tenant(_Shape):
    id: str | None = None


class _ChannelData(_Shape):
    tenant: _Tenant | None = None


class _Entity(_Shape):
    type: str | None = None
    text: str | None = None
    mentioned: _Account | None = None


class _Activity(_Shape):
    type: str | None = None
    id: str | None = None
    name: str | None = None
    serviceUrl: str | None = None  # noqa: N815
    channelId: str | None = None  # noqa: N815
    text: str | None = None
    replyToId: str | None = None  # noqa: N815
    sender: _Account | None = Field(default=None, alias="from")
    recipient: _Account | None = None
    conversation: _Conversation | None = None
    channelData: _ChannelData | None = None  # noqa: N815
    entities: list[_Entity] | None = None
    membersAdded: list[_Account] | None = None  # noqa: N815
    value: dict[str, Any] | None = None


def parse_activity(raw: bytes) -> dict[str, Any]:
    """Parse a request body into an activity whose read fields have the expected types.

    Args:
        raw: The request body.

    Returns:
        The activity JSON.

    Raises:
        MalformedActivityError: Not JSON, nested too deeply, not an object, or a field Resync
            reads has the wrong type.
    """
    try:
        activity = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedActivityError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(activity, dict):
        raise MalformedActivityError("not a JSON object")
    try:
        _Activity.model_validate(activity)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise MalformedActivityError(f"wrong type of {', '.join(fields)[:200]}") from None
    except RecursionError:
        raise MalformedActivityError("nested too deeply") from None
    return activity


def tenant_of(activity: dict[str, Any]) -> str | None:
    """The tenant an activity comes from.

    Args:
        activity: An activity from `parse_activity`.

    Returns:
        The tenant id in lower case; None when the activity names none, or names two
        different ones (then it cannot be attributed to either).
    """
    named = {
        str(value).lower()
        for value in (
            ((activity.get("channelData") or {}).get("tenant") or {}).get("id"),
            (activity.get("conversation") or {}).get("tenantId"),
        )
        if value
    }
    return named.pop() if len(named) == 1 else None
