"""One JSON POST with retries: what both pagers share.

429 and 5xx answers, timeouts and connection errors are retried with exponential backoff
and jitter, waiting at least what ``Retry-After`` asks (capped); any other 4xx is final.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from integrations.pager.base import PagerRejectedError, PagerUnavailableError

__all__ = ["HttpAnswer", "RetryPolicy", "post_json", "retry_after"]

_MAX_ANSWER = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one event.

    Attributes:
        attempts: Requests at most (1 = no retry).
        base_delay: First backoff in seconds (doubles per attempt, with jitter).
        max_delay: No single wait is longer (``Retry-After`` included).
        timeout: Seconds for one request.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An accepted request: status, body text, attempts."""

    status: int
    text: str
    attempts: int


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date).

    Args:
        value: The header, if any.
        now: Now (for HTTP dates).

    Returns:
        Seconds (never negative), or None when absent or unreadable.
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
    # Equal jitter: never less than half the step, so retries stay spread but not instant.
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ANSWER else text[: _MAX_ANSWER - 1] + "…"


async def post_json(
    session: aiohttp.ClientSession,
    *,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    policy: RetryPolicy,
    call: str,
) -> HttpAnswer:
    """POST ``body`` as JSON until a 2xx, a final refusal, or the attempts run out.

    Args:
        session: The HTTP session.
        url: Where.
        body: The JSON body.
        headers: Extra headers (authorization).
        policy: Attempts, backoff, timeout.
        call: What to call the request in errors (no secrets).

    Returns:
        The accepted answer.

    Raises:
        PagerRejectedError: A 4xx other than 429 (not retried).
        PagerUnavailableError: 429/5xx/timeouts/connection errors on every attempt.
    """
    status: int | None = None
    answer = ""
    for attempt in range(1, policy.attempts + 1):
        wait: float | None = None
        try:
            async with session.post(
                url,
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=policy.timeout),
            ) as response:
                status, answer = response.status, _clip(await response.text())
                if 200 <= status < 300:
                    return HttpAnswer(status=status, text=answer, attempts=attempt)
                if status != 429 and status < 500:
                    raise PagerRejectedError(
                        call=call, status=status, answer=answer or "(empty)", attempts=attempt
                    )
                wait = retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, answer = None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        if attempt < policy.attempts:
            delay = max(wait or 0.0, _backoff(policy, attempt))
            await asyncio.sleep(min(delay, policy.max_delay))
    raise PagerUnavailableError(
        call=call, status=status, answer=answer or "(empty)", attempts=policy.attempts
    )
