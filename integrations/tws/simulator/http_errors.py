"""The simulator's error answers, in the engine's shape.

An error is ``{"messages": [...], "exceptionName": ...}`` as the real engine sends it.
A handler that finds a bad request raises the error (`fail`) instead of returning it, so
helpers deep in a handler can stop it; the errors middleware turns it back into the answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["RequestFailedError", "error_response", "fail"]


def error_response(status: int, message: str, exception: str | None = None) -> web.Response:
    """An engine-style error answer.

    Args:
        status: The HTTP status.
        message: The message, usually starting with an AWS...E code.
        exception: The Java exception the engine would name, if any.

    Returns:
        The JSON answer.
    """
    body: dict[str, Any] = {"messages": [message]}
    if exception:
        body["exceptionName"] = exception
    return web.json_response(body, status=status)


class RequestFailedError(Exception):
    """Carries an error answer out of a handler, to be sent as is."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def fail(status: int, message: str, exception: str | None = None) -> RequestFailedError:
    """Build the exception that answers with an engine-style error; the caller raises it.

    Args:
        status: The HTTP status.
        message: The message, usually starting with an AWS...E code.
        exception: The Java exception the engine would name, if any.

    Returns:
        The exception to raise.
    """
    return RequestFailedError(error_response(status, message, exception))
