"""Reading what a request asks: numeric parameters, the OQL filter, plan ids and bodies.

Each reader answers a bad value the way the engine does (an AWS...E message and a 4xx),
by raising `integrations.tws.simulator.http_errors.RequestFailedError`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from integrations.tws.simulator.http_errors import fail
from integrations.tws.simulator.oql import OqlError, Query, parse_oql

__all__ = ["check_action_body", "int_param", "oql_query", "plan_id", "read_json_body"]


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """Read an integer query parameter.

    Args:
        request: The request.
        name: The parameter.
        default: Its value when absent or empty.
        low: Lowest accepted value.
        high: Highest accepted value.

    Returns:
        The value.

    Raises:
        RequestFailedError: Not an integer, or out of range (400).
    """
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise fail(
            400, f'AWSBHV021E The value "{raw}" of parameter "{name}" is not valid.'
        ) from None
    if not low <= value <= high:
        raise fail(
            400,
            f'AWSBHV021E The value "{raw}" of parameter "{name}" is out of range ({low}-{high}).',
        )
    return value


def oql_query(request: web.Request, allowed: tuple[str, ...]) -> Query:
    """Read the ``oql`` filter.

    Args:
        request: The request.
        allowed: The fields the filter may name.

    Returns:
        The parsed filter (matches everything when absent).

    Raises:
        RequestFailedError: The filter is not valid (400).
    """
    try:
        return parse_oql(request.query.get("oql"), allowed)
    except OqlError as exc:
        raise fail(400, f"AWSBHV033E The OQL filter is not valid: {exc}.") from None


def plan_id(raw: str, what: str) -> str:
    """Check an object id from the path is a plan UUID.

    Args:
        raw: The id as it appears in the path.
        what: What it identifies (``job``, ``job stream``), for the message.

    Returns:
        The id.

    Raises:
        RequestFailedError: A v1 composite key (``WS#STREAM;...``), which v2 refuses (400).
    """
    if ";" in raw:
        raise fail(
            400,
            f'AWSBIO006E The {what} identifier "{raw}" is a composite key; '
            "API v2 expects the plan UUID of the object.",
        )
    return raw


async def check_action_body(request: web.Request) -> None:
    """Check an action's body: JSON, and an object when not empty.

    Args:
        request: The action request.

    Raises:
        RequestFailedError: Not ``application/json`` (415), or not a JSON object (400).
    """
    if request.content_type != "application/json":
        raise fail(415, 'AWSJCO415E Unsupported media type: use "Content-Type: application/json".')
    text = await request.text()
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            raise fail(400, "AWSJCO400E The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise fail(400, "AWSJCO400E The request body must be a JSON object.")


async def read_json_body(request: web.Request) -> dict[str, Any]:
    """Read a control request's JSON object body.

    Args:
        request: The request.

    Returns:
        The object (empty when there is no body).

    Raises:
        RequestFailedError: Not JSON, or not an object (400).
    """
    try:
        body = await request.json() if (await request.text()).strip() else {}
    except ValueError:
        raise fail(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise fail(400, "request body must be a JSON object")
    return body
