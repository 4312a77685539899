"""`WebhookPager`: the same events as a plain JSON POST to any URL.

For Opsgenie bridges, chat relays, home-grown on-call tools. Body: ``{"action", "dedup_key", "summary", "severity", "source", "links": [{"href",
"text"}], "details", "sent_at"}``; ``Authorization: Bearer <secret>`` when a secret is set;
``Idempotency-Key: <dedup_key>:<action>`` so a receiver can fold retries. Any 2xx is
success; 429 and 5xx are retried; other 4xx are final.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from integrations.pager.base import PageAction, PageEvent, PageResult
from integrations.pager.http import RetryPolicy, post_json

__all__ = ["WebhookPager"]


class WebhookPager:
    """Posts page events as JSON to one URL."""

    def __init__(
        self, *, url: str, secret: str | None = None, policy: RetryPolicy | None = None
    ) -> None:
        """Configure the webhook (connects lazily).

        Args:
            url: Where to POST.
            secret: Sent as a bearer token when set (never logged or put in errors).
            policy: Attempts, backoff and timeout.
        """
        self._url = url
        self._secret = secret
        self._policy = policy or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None
        self.name = f"webhook {urlsplit(url).netloc or url}"

    async def _send(self, action: PageAction, event: PageEvent) -> PageResult:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        headers = {"Idempotency-Key": f"{event.dedup_key}:{action.value}"}
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        body: dict[str, Any] = {
            "action": action.value,
            "dedup_key": event.dedup_key,
            "summary": event.summary,
            "severity": event.severity.value,
            "source": event.source,
            "links": [{"href": link.href, "text": link.text} for link in event.links],
            "details": dict(event.details),
            "sent_at": datetime.now(UTC).isoformat(),
        }
        answer = await post_json(
            self._session,
            url=self._url,
            body=body,
            headers=headers,
            policy=self._policy,
            call=f"{self.name}: POST {self._url} {action.value} {event.dedup_key}",
        )
        return PageResult(
            action=action,
            dedup_key=event.dedup_key,
            status=answer.status,
            message=answer.text,
            attempts=answer.attempts,
            target=self.name,
        )

    async def trigger(self, event: PageEvent) -> PageResult:
        """POST a trigger; see `Pager.trigger`."""
        return await self._send(PageAction.TRIGGER, event)

    async def acknowledge(self, event: PageEvent) -> PageResult:
        """POST an acknowledge."""
        return await self._send(PageAction.ACKNOWLEDGE, event)

    async def resolve(self, event: PageEvent) -> PageResult:
        """POST a resolve."""
        return await self._send(PageAction.RESOLVE, event)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
