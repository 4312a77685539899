"""Verify that an HTTP request comes from Slack, before anything reads it.

Slack signs ``v0:{timestamp}:{raw body}`` with the app's signing secret (HMAC-SHA256). A
request whose signature does not match, or whose timestamp is more than five minutes from
our clock (a replay), is refused with 401 before any parsing or side effect.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Final

__all__ = ["MAX_SKEW_SECONDS", "RequestVerifier", "sign"]

MAX_SKEW_SECONDS: Final = 300


class RequestVerifier:
    """Checks Slack's ``X-Slack-Signature`` and ``X-Slack-Request-Timestamp`` on the raw body."""

    def __init__(self, *, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        """Create a verifier.

        Args:
            signing_secret: The app's signing secret.
            clock: Wall clock in seconds (injectable for tests).
        """
        self._secret = signing_secret.encode()
        self._clock = clock

    def verify(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Check one request.

        Args:
            body: The raw request body, exactly as received.
            headers: The request headers (case-insensitive mapping).

        Returns:
            None when the request is genuine and fresh, else why it was refused (for the log).
        """
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return "missing signature headers"
        try:
            sent = int(timestamp)
        except ValueError:
            return "malformed timestamp"
        if abs(self._clock() - sent) > MAX_SKEW_SECONDS:
            return "stale timestamp"
        expected = _signature(self._secret, timestamp.encode(), body)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return "bad signature"
        return None


def _signature(secret: bytes, timestamp: bytes, body: bytes) -> str:
    digest = hmac.new(secret, b"v0:" + timestamp + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def sign(*, signing_secret: str, timestamp: str, body: bytes) -> str:
    """Compute Slack's ``X-Slack-Signature`` for a body (tests, benchmarks, local tools).

    Args:
        signing_secret: The app's signing secret.
        timestamp: The ``X-Slack-Request-Timestamp`` value.
        body: The raw body.

    Returns:
        ``v0=<hex HMAC-SHA256>``.
    """
    return _signature(signing_secret.encode(), timestamp.encode(), body)
