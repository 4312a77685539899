"""`Admission`: whether a delivery is worked on at all, with one policy for every surface.

- Dedupe: the first delivery of a platform id wins (``store.claim``); platforms re-deliver
  (Slack retries, Teams re-sends).
- Rate limit: at most `RATE_LIMIT` requests per person per minute (``store.hit``).
- Store failure: both fail open (a rare double answer, or no limit for a moment, is better
  than no answer) and raise an operator-visible alarm (``store.unavailable`` error line).
- Audit: every admitted or refused request is recorded as ``chat.message`` / ``chat.click``.
"""

from __future__ import annotations

from typing import Final

import structlog

from agents.messages import Actor
from bot.core.audit import record_chat_event
from integrations.audit.sink import AuditSink
from integrations.store import Store, StoreError

__all__ = ["DEDUPE_TTL_SECONDS", "RATE_LIMIT", "RATE_WINDOW_SECONDS", "Admission"]

log = structlog.get_logger(__name__)

DEDUPE_TTL_SECONDS: Final = 3600.0
RATE_LIMIT: Final = 20
RATE_WINDOW_SECONDS: Final = 60.0


class Admission:
    """Dedupe, per-person rate limit and the admission audit record."""

    def __init__(
        self,
        *,
        store: Store,
        audit: AuditSink | None,
        rate_limit: int = RATE_LIMIT,
        window_seconds: float = RATE_WINDOW_SECONDS,
    ) -> None:
        """Create the gate.

        Args:
            store: Dedupe keys and rate-limit windows (shared by replicas when Redis).
            audit: Where admission records go.
            rate_limit: Requests per person per window.
            window_seconds: The rate-limit window.
        """
        self._store = store
        self._audit = audit
        self.rate_limit = rate_limit
        self._window = window_seconds

    async def first(self, key: str) -> bool:
        """Whether this is the first delivery with this key.

        Args:
            key: ``platform:kind:id``.

        Returns:
            True the first time (and whenever the store cannot tell).
        """
        try:
            return await self._store.claim(f"dedupe:{key}", ttl_seconds=DEDUPE_TTL_SECONDS)
        except StoreError as exc:
            log.error("store.unavailable", use="dedupe", key=key, error=str(exc)[:200])
            return True

    async def remember(self, key: str) -> None:
        """Mark ``key`` as seen without asking (e.g. a page already shown)."""
        await self.first(key)

    async def admit(
        self,
        *,
        action: str,
        actor: Actor,
        channel: str | None,
        thread: str | None,
        parameters: dict[str, object],
        delivery_id: str,
        limited: bool = True,
    ) -> float | None:
        """Apply the person's rate limit and record the request either way.

        Args:
            action: ``chat.message`` or ``chat.click``.
            actor: Who.
            channel: Where.
            thread: Which thread.
            parameters: What they asked or clicked.
            delivery_id: The platform's id of the delivery.
            limited: False for requests that cost the engine nothing (a More click reads a
                stored page): recorded, never rate limited.

        Returns:
            None when the request may go on, else the seconds to wait.
        """
        wait = await self._wait(actor) if limited else None
        await record_chat_event(
            self._audit,
            action=action,
            outcome="accepted" if wait is None else "rate_limited",
            platform=actor.platform.value,
            actor=actor,
            channel=channel,
            thread=thread,
            parameters=parameters,
            correlation={"delivery_id": delivery_id},
        )
        return wait

    async def _wait(self, actor: Actor) -> float | None:
        try:
            decision = await self._store.hit(
                f"rate:{actor.platform.value}:{actor.user_id}",
                limit=self.rate_limit,
                window_seconds=self._window,
            )
        except StoreError as exc:
            log.error("store.unavailable", use="rate_limit", error=str(exc)[:200])
            return None
        return None if decision.allowed else max(decision.retry_after, 1.0)
