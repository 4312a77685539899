"""Paging on-call people: the `Pager` capability and two implementations.

Owns the protocol (`Pager`: trigger / acknowledge / resolve by dedup key), its event and
result types, retries with backoff (``Retry-After`` honoured), and the implementations:
`PagerDutyPager` (Events API v2, ``POST {base}/v2/enqueue``) and `WebhookPager` (a JSON
POST, optional bearer secret). Which incidents page, and when, is decided in
``agents/incidents``.

Errors::

    PagerError                  a page was not accepted (names the call and the answer)
    ├── PagerRejectedError      the service refused the event (4xx other than 429): final
    └── PagerUnavailableError   no acceptance after the retries (429, 5xx, timeouts, network)
"""

from __future__ import annotations

from integrations.pager.base import (
    PageAction,
    PageEvent,
    PageLink,
    Pager,
    PagerError,
    PageResult,
    PagerRejectedError,
    PagerUnavailableError,
    PageSeverity,
)
from integrations.pager.http import RetryPolicy
from integrations.pager.pagerduty import DEFAULT_EVENTS_URL, PagerDutyPager
from integrations.pager.webhook import WebhookPager

__all__ = [
    "DEFAULT_EVENTS_URL",
    "PageAction",
    "PageEvent",
    "PageLink",
    "PageResult",
    "PageSeverity",
    "Pager",
    "PagerDutyPager",
    "PagerError",
    "PagerRejectedError",
    "PagerUnavailableError",
    "RetryPolicy",
    "WebhookPager",
]
