"""What an engine's HTTP answer means: its clock, its ``Retry-After`` and its errors.

Pure functions over status codes, headers and bodies, so `integrations.tws.transport`
only moves bytes. An error status becomes the `integrations.tws.errors.TWSError` subclass
the rest of Resync reacts to, carrying the engine's own messages (AWS...E codes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from integrations.tws.errors import (
    TWSActionRejectedError,
    TWSAuthError,
    TWSError,
    TWSNotFoundError,
    TWSRequestError,
    TWSUnavailableError,
)

__all__ = ["engine_time", "error_for", "retry_after_seconds"]


def retry_after_seconds(header: str | None) -> float | None:
    """Read a ``Retry-After`` header as seconds.

    Args:
        header: The header's value, if the engine sent one.

    Returns:
        The delay in seconds (never negative), or None when absent or in the HTTP-date form
        (rare from engines: ignored).
    """
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None


def engine_time(header: str | None) -> datetime:
    """Read the engine's clock from its ``Date`` header.

    Args:
        header: The header's value, if the engine sent one.

    Returns:
        The engine's time in UTC; our clock if it sent none (or an unreadable one).
    """
    if header:
        try:
            return parsedate_to_datetime(header).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def error_for(status: int, raw: bytes, *, call: str, action: bool) -> TWSError:
    """Turn an error answer (status >= 400) into the matching `TWSError`.

    Args:
        status: The HTTP status.
        raw: The answer's body, usually ``{"messages": [...]}``.
        call: The call, as named in errors and logs.
        action: The call was an action, so a 4xx is the engine refusing it.

    Returns:
        The error to raise (not raised here, so the caller can add ``retry_after``).
    """
    messages = _engine_messages(raw)
    if status in (401, 403):
        summary = "the engine refused the credentials" if status == 401 else "not authorized"
        return TWSAuthError(summary, call=call, status=status, engine_messages=messages)
    if status == 404:
        return TWSNotFoundError("not found", call=call, status=status, engine_messages=messages)
    if status >= 500 or status == 429:
        return TWSUnavailableError(
            "the engine failed to answer", call=call, status=status, engine_messages=messages
        )
    if action:
        return TWSActionRejectedError(
            "the engine refused the action", call=call, status=status, engine_messages=messages
        )
    return TWSRequestError(
        "the engine rejected the request", call=call, status=status, engine_messages=messages
    )


def _engine_messages(raw: bytes) -> list[str]:
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", errors="replace").strip()
        return [text[:300]] if text else []
    if isinstance(body, Mapping):
        messages = body.get("messages")
        if isinstance(messages, list):
            return [str(m) for m in messages]
        if "message" in body:
            return [str(body["message"])]
    return []
