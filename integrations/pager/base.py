"""The `Pager` capability, its event and result types, and its errors.

Domain code names only this protocol; `PagerDutyPager` (Events API v2) and `WebhookPager`
(a JSON POST) implement it. Every event carries a dedup key: the receiving service folds
repeated triggers with the same key into one alert, which is what makes a retried trigger
harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = [
    "PageAction",
    "PageEvent",
    "PageLink",
    "PageResult",
    "PageSeverity",
    "Pager",
    "PagerError",
    "PagerRejectedError",
    "PagerUnavailableError",
]


class PageSeverity(StrEnum):
    """How urgent a page is (the PagerDuty Events API v2 values)."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class PageAction(StrEnum):
    """What an event does to the alert with its dedup key."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class PageLink:
    """A link shown with the alert (e.g. the incident's channel)."""

    href: str
    text: str


@dataclass(frozen=True, slots=True)
class PageEvent:
    """What is paged.

    Attributes:
        dedup_key: Identifies the alert across trigger, acknowledge and resolve (the
            incident id): the same key never opens a second alert while one is open.
        summary: One line (PagerDuty keeps 1024 characters).
        severity: How urgent.
        source: What is affected (e.g. the TWS master), shown by the service.
        links: Links shown with the alert.
        details: Extra fields (JSON-serializable).
    """

    dedup_key: str
    summary: str
    severity: PageSeverity
    source: str
    links: tuple[PageLink, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PageResult:
    """A page the service accepted.

    Attributes:
        action: What was sent.
        dedup_key: The key the service answered with (normally the one sent).
        status: The HTTP status (202 for PagerDuty).
        message: The service's message, if any.
        attempts: How many requests it took (retries included).
        target: Who was called, e.g. ``PagerDuty events.pagerduty.com``.
    """

    action: PageAction
    dedup_key: str
    status: int
    message: str
    attempts: int
    target: str


class PagerError(Exception):
    """A page was not accepted: names the call and the answer.

    Attributes:
        call: What was sent where (never the routing key or secret).
        status: The last HTTP status, None when there was no answer (timeout, refused).
        answer: What the service said (or the network error).
        attempts: How many requests were made.
    """

    retryable = False

    def __init__(self, *, call: str, status: int | None, answer: str, attempts: int) -> None:
        """Describe the failure."""
        self.call = call
        self.status = status
        self.answer = answer
        self.attempts = attempts
        said = f"HTTP {status}: {answer}" if status is not None else answer
        super().__init__(f"{call}: {said} ({attempts} attempt{'s' if attempts != 1 else ''})")


class PagerRejectedError(PagerError):
    """The service refused the event (a 4xx other than 429): sending it again cannot help."""


class PagerUnavailableError(PagerError):
    """No acceptance after the retries (429, 5xx, timeouts, connection errors)."""

    retryable = True


class Pager(Protocol):
    """Trigger, acknowledge and resolve alerts by dedup key."""

    @property
    def name(self) -> str:
        """Who is paged, for people (e.g. ``PagerDuty events.pagerduty.com``)."""
        ...

    async def trigger(self, event: PageEvent) -> PageResult:
        """Open (or fold into) the alert of ``event.dedup_key``.

        Raises:
            PagerRejectedError: The service refused the event.
            PagerUnavailableError: No acceptance after the retries.
        """
        ...

    async def acknowledge(self, event: PageEvent) -> PageResult:
        """Acknowledge the alert of ``event.dedup_key`` (same errors as `trigger`)."""
        ...

    async def resolve(self, event: PageEvent) -> PageResult:
        """Resolve the alert of ``event.dedup_key`` (same errors as `trigger`)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
