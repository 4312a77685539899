"""Errors raised by the TWS client.

Every error names the call that failed (method, path and the parameters that matter) and
what the engine answered, so a person or an LLM can correct course (house rule 5)::

    TWSError
    ├── TWSUnavailableError        engine unreachable, timed out, 5xx, dropped connection
    │   └── CircuitOpenError       too many recent failures; not even tried
    ├── TWSAuthError               401/403: bad credentials or not authorized
    ├── TWSNotFoundError           404, or AWS...E "not found" codes
    ├── TWSActionRejectedError     the engine refused an action (e.g. AWSBIN076E)
    ├── TWSRequestError            any other 4xx: Resync sent something the engine rejects
    └── TWSProtocolError           the engine answered something Resync cannot read
"""

from __future__ import annotations

import re

__all__ = [
    "CircuitOpenError",
    "TWSActionRejectedError",
    "TWSAuthError",
    "TWSError",
    "TWSNotFoundError",
    "TWSProtocolError",
    "TWSRequestError",
    "TWSUnavailableError",
    "message_codes",
]

_CODE = re.compile(r"\bAWS[A-Z]{3}\d{3}[EWI]\b")


def message_codes(text: str) -> list[str]:
    """Return the AWS message codes (e.g. ``AWSBIN076E``) that appear in a text, in order.

    Args:
        text: Any text from the engine.

    Returns:
        The distinct codes, first occurrence first.
    """
    return list(dict.fromkeys(_CODE.findall(text)))


class TWSError(Exception):
    """Base of every TWS client error.

    Attributes:
        call: The call, e.g. ``GET /twsd/api/v2/plan/job oql="name = 'X'"``.
        status: HTTP status, when there was an answer.
        engine_messages: The engine's ``messages`` lines, when it sent any.
        codes: AWS message codes found in the engine's answer.
    """

    def __init__(
        self,
        summary: str,
        *,
        call: str,
        status: int | None = None,
        engine_messages: list[str] | None = None,
    ) -> None:
        self.summary = summary
        self.call = call
        self.status = status
        self.engine_messages = engine_messages or []
        self.codes = message_codes(" ".join(self.engine_messages))
        answer = "; ".join(self.engine_messages) or (f"HTTP {status}" if status else "no answer")
        super().__init__(f"{summary}: {call} -> {answer}")


class TWSUnavailableError(TWSError):
    """The engine could not be reached, timed out, or failed on its side (5xx).

    Attributes:
        retry_after: Seconds the engine asked to wait (``Retry-After``), when it said.
    """

    retry_after: float | None = None


class CircuitOpenError(TWSUnavailableError):
    """The circuit breaker is open after repeated failures; the call was not attempted."""


class TWSAuthError(TWSError):
    """The engine refused the credentials (401) or the user's authority (403)."""


class TWSNotFoundError(TWSError):
    """The object does not exist in the plan or the model."""


class TWSActionRejectedError(TWSError):
    """The engine refused an action, e.g. AWSBIN076E (not valid in the job's current state)."""


class TWSRequestError(TWSError):
    """The engine rejected the request itself (a 4xx other than 401/403/404)."""


class TWSProtocolError(TWSError):
    """The engine's answer could not be understood (not JSON, missing fields).

    Attributes:
        transient: True when reading again may help (a cut-off or garbled body), False when
            the answer is well-formed but not what Resync expects (missing fields).
    """

    transient: bool = False
