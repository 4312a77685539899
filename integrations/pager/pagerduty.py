"""`PagerDutyPager`: the PagerDuty Events API v2 (``POST {base}/v2/enqueue``).

One event per call: ``routing_key`` (the integration key of a PagerDuty service),
``event_action``, ``dedup_key`` and, for a trigger, ``payload`` (summary, severity, source,
custom_details) and ``links``. PagerDuty answers 202 when it accepted the event; a trigger
whose dedup key already has an open alert is folded into it, so retrying a trigger never
pages twice. 400 (invalid event) is final; 429 and 5xx are retried.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from integrations.pager.base import PageAction, PageEvent, PageResult
from integrations.pager.http import RetryPolicy, post_json

__all__ = ["DEFAULT_EVENTS_URL", "PagerDutyPager"]

DEFAULT_EVENTS_URL = "https://events.pagerduty.com"
_SUMMARY_LIMIT = 1024


class PagerDutyPager:
    """Pages through one PagerDuty service's Events API v2 integration."""

    def __init__(
        self,
        *,
        routing_key: str,
        base_url: str = DEFAULT_EVENTS_URL,
        policy: RetryPolicy | None = None,
        client: str = "Resync",
    ) -> None:
        """Configure the integration (connects lazily).

        Args:
            routing_key: The integration key (secret: never logged or put in errors).
            base_url: The Events API origin (tests point it at a local mock).
            policy: Attempts, backoff and timeout.
            client: Shown by PagerDuty as the event's sender.
        """
        self._routing_key = routing_key
        self._url = base_url.rstrip("/") + "/v2/enqueue"
        self._policy = policy or RetryPolicy()
        self._client = client
        self._session: aiohttp.ClientSession | None = None
        self.name = f"PagerDuty {urlsplit(base_url).netloc or base_url}"

    def _body(self, action: PageAction, event: PageEvent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": action.value,
            "dedup_key": event.dedup_key,
        }
        if action is PageAction.TRIGGER:
            summary = event.summary
            if len(summary) > _SUMMARY_LIMIT:
                summary = summary[: _SUMMARY_LIMIT - 1] + "…"
            body["payload"] = {
                "summary": summary,
                "severity": event.severity.value,
                "source": event.source,
                "custom_details": dict(event.details),
            }
            body["client"] = self._client
            body["links"] = [{"href": link.href, "text": link.text} for link in event.links]
        return body

    async def _send(self, action: PageAction, event: PageEvent) -> PageResult:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        call = f"{self.name}: POST {self._url} {action.value} {event.dedup_key}"
        answer = await post_json(
            self._session,
            url=self._url,
            body=self._body(action, event),
            headers={},
            policy=self._policy,
            call=call,
        )
        message, dedup_key = answer.text, event.dedup_key
        try:
            parsed = json.loads(answer.text) if answer.text else {}
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or parsed.get("status") or answer.text)
            dedup_key = str(parsed.get("dedup_key") or event.dedup_key)
        return PageResult(
            action=action,
            dedup_key=dedup_key,
            status=answer.status,
            message=message,
            attempts=answer.attempts,
            target=self.name,
        )

    async def trigger(self, event: PageEvent) -> PageResult:
        """Open (or fold into) the alert of ``event.dedup_key``; see `Pager.trigger`."""
        return await self._send(PageAction.TRIGGER, event)

    async def acknowledge(self, event: PageEvent) -> PageResult:
        """Acknowledge the alert of ``event.dedup_key``."""
        return await self._send(PageAction.ACKNOWLEDGE, event)

    async def resolve(self, event: PageEvent) -> PageResult:
        """Resolve the alert of ``event.dedup_key``."""
        return await self._send(PageAction.RESOLVE, event)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
