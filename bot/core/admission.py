"""`Admission`: whether a delivery is worked on at all, with one policy for every surface.

- Dedupe: a delivery is *claimed* before it is worked on. The claim is an in-progress lease
  in the store (``acquire_lease``, `CLAIM_LEASE_SECONDS`, renewed while the work runs) and
  becomes ``done`` for `DEDUPE_TTL_SECONDS` once the task that claimed it finishes (the walk
  of one delivery is one supervised task: it answered, or it failed and said so). A
  re-delivery (Slack retry, Teams re-send) of a done claim is dropped; of a claim held by
  another process it waits until that claim is done (drop) or lapses because its holder
  died (take over and answer): processing is at least once, and a question whose replica
  was killed is answered by another instead of being deduped forever. A task cancelled
  before it finished (shutdown) releases its claim, so a re-delivery is worked on.
- Rate limit: at most `RATE_LIMIT` requests per person per minute (``store.hit``).
- Store failure: both fail open (a rare double answer, or no limit for a moment, is better
  than no answer) and raise an operator-visible alarm (``store.unavailable`` error line).
- Audit: every admitted or refused request is recorded as ``chat.message`` / ``chat.click``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import uuid
from collections.abc import Coroutine
from typing import Any, Final, Literal

import structlog

from agents.messages import Actor
from bot.core.audit import record_chat_event
from integrations import metrics
from integrations.audit.sink import AuditSink
from integrations.store import Store, StoreError

__all__ = [
    "CLAIM_LEASE_SECONDS",
    "CLAIM_WAIT_SECONDS",
    "DEDUPE_TTL_SECONDS",
    "RATE_LIMIT",
    "RATE_WINDOW_SECONDS",
    "Admission",
]

log = structlog.get_logger(__name__)

DEDUPE_TTL_SECONDS: Final = 3600.0
# Short, so that a delivery whose replica died is answered by another soon; renewed every
# third of it while the work runs, so a slow answer is never taken over by a live replica.
CLAIM_LEASE_SECONDS: Final = 10.0
# How long a re-delivery waits on another process's claim: longer than an answer may take
# (the dispatcher's 60 s limit) plus a lapsed lease, so a live holder's answer is never doubled.
CLAIM_WAIT_SECONDS: Final = 90.0
_DONE: Final = "done"
_LEGACY_DONE: Final = "1"  # what ``store.claim`` wrote before claims were leases
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
        claim_lease_seconds: float = CLAIM_LEASE_SECONDS,
        claim_wait_seconds: float = CLAIM_WAIT_SECONDS,
    ) -> None:
        """Create the gate.

        Args:
            store: Dedupe keys and rate-limit windows (shared by replicas when Redis).
            audit: Where admission records go.
            rate_limit: Requests per person per window.
            window_seconds: The rate-limit window.
            claim_lease_seconds: Life of an in-progress claim (renewed every third of it).
            claim_wait_seconds: Longest a re-delivery waits on another process's claim.
        """
        self._store = store
        self._audit = audit
        self.rate_limit = rate_limit
        self._window = window_seconds
        self._lease = claim_lease_seconds
        self._wait_limit = claim_wait_seconds
        # Claims of this process are ``<process>:<n>``: a re-delivery of one of our own claims
        # needs no wait (we are alive), whatever task holds it.
        self._process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._numbers = itertools.count(1)
        self._background: set[asyncio.Task[None]] = set()
        self._settling: set[asyncio.Task[None]] = set()

    async def first(self, key: str) -> bool:
        """Claim the delivery ``key`` for the current task; whether to work on it.

        The claim lasts while the current task runs (renewed), then is marked done; see
        the module docstring. A re-delivery of a claim held by another process waits (at
        most ``claim_wait_seconds``) until it is done or its holder died.

        Args:
            key: ``platform:kind:id``.

        Returns:
            True when this task should work on it (and whenever the store cannot tell).
        """
        name = f"dedupe:{key}"
        owner = f"{self._process}:{next(self._numbers)}"
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._wait_limit
        try:
            while not await self._store.acquire_lease(name, owner=owner, ttl_seconds=self._lease):
                holder = await self._store.get(name)
                if holder is None:
                    continue  # it lapsed or was released between the two calls: try again
                if holder in (_DONE, _LEGACY_DONE) or holder.startswith(f"{self._process}:"):
                    return False
                if loop.time() >= give_up:
                    log.warning("chat.claim_wait_gave_up", key=key, holder=holder)
                    return False
                await asyncio.sleep(min(1.0, self._lease / 4))
        except StoreError as exc:
            log.error("store.unavailable", use="dedupe", key=key, error=str(exc)[:200])
            return True
        self._hold(name, owner)
        return True

    async def fresh(self, platform: str, kind: str, delivery_id: str) -> bool:
        """`first` for a platform's delivery, counted and logged (platforms re-deliver)."""
        metrics.CHAT_EVENTS.labels(platform=platform, kind=kind).inc()
        if await self.first(f"{platform}:{kind}:{delivery_id}"):
            return True
        metrics.ADMISSION_REJECTED.labels(platform=platform, reason="duplicate").inc()
        log.info("chat.duplicate", platform=platform, kind=kind, delivery=delivery_id)
        return False

    async def state(self, key: str) -> Literal["free", "held", "done"]:
        """Whether the delivery ``key`` is claimed: by a live worker, done, or neither.

        "free" after a claim means its holder died (the lease lapsed) or was cancelled;
        the durable inbox (`bot.core.inbox`) works on such a delivery again. "held" when
        the store cannot tell (never work on a delivery twice on a guess).
        """
        try:
            holder = await self._store.get(f"dedupe:{key}")
        except StoreError as exc:
            log.error("store.unavailable", use="dedupe_state", key=key, error=str(exc)[:200])
            return "held"
        if holder is None:
            return "free"
        return "done" if holder in (_DONE, _LEGACY_DONE) else "held"

    async def remember(self, key: str) -> None:
        """Mark ``key`` as seen without asking (e.g. a page already shown)."""
        await self.first(key)

    def _hold(self, name: str, owner: str) -> None:
        """Renew the claim while the current task runs; settle it when the task ends."""
        work = asyncio.current_task()
        keeper = self._spawn(self._keep(name, owner))

        def ended(task: asyncio.Future[Any] | None = None) -> None:
            keeper.cancel()
            finished = task is None or not task.cancelled()
            settle = self._spawn(self._settle(name, owner, finished=finished))
            self._settling.add(settle)
            settle.add_done_callback(self._settling.discard)

        if work is None:  # not in a task (never on the request path): done at once
            ended()
        else:
            work.add_done_callback(ended)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # a strong reference until it ends
        task.add_done_callback(self._background.discard)
        return task

    async def _keep(self, name: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                held = await self._store.acquire_lease(name, owner=owner, ttl_seconds=self._lease)
            except StoreError as exc:
                log.error("store.unavailable", use="dedupe_renew", error=str(exc)[:200])
                continue
            if not held:  # it lapsed (this process stalled) and another took it over
                log.warning("chat.claim_lost", key=name)
                return

    async def _settle(self, name: str, owner: str, *, finished: bool) -> None:
        """Done for `DEDUPE_TTL_SECONDS`; released when the work was cancelled before it ended."""
        try:
            if finished:
                await self._store.put(name, _DONE, ttl_seconds=DEDUPE_TTL_SECONDS)
            else:
                await self._store.release_lease(name, owner=owner)
        except StoreError as exc:  # the lease lapses on its own: at worst a retry is answered
            log.error("store.unavailable", use="dedupe_settle", error=str(exc)[:200])

    async def settled(self) -> None:
        """Wait until every finished claim is marked done (tests, shutdown)."""
        await asyncio.sleep(0)  # the done callbacks of tasks that just ended run first
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)

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
