"""`AlertBook`: the shared memory of alerts, so several replicas behave as one.

Everything lives in the `Store` (Redis when replicas share it), under ``watch:``:

=================================  ==========================================================
``alert:{platform}:{key}``         `AlertState` of one alert on one platform (JSON)
``open:{platform}``                the keys of the open and held alerts (JSON list)
``attention:{key}``                `Attention`: ack and snooze, shared by every platform
``post:{platform}:{key}:{gen}``    claim: the replica that wins it posts the alert
``rate:{platform}:{channel}``      sliding hour of new alerts (``alerts_per_hour``)
``digest:{platform}:{channel}``    `Digest`: the one message listing alerts held back
``paused``                         why watching is paused (set once, by the first notice)
``lock:{name}``                    leases serialising read-modify-write of the above
=================================  ==========================================================

Atomicity: opening an alert is "first one posts" twice over: publishing per platform runs
under a lease (`locked`), and the post itself needs the claim ``post:…`` — a replica whose
lease ran out mid-way still cannot post the same alert again. Ack and snooze change
`Attention` under the key's own lease.

Pure logic and the store: no chat types beyond `agents.messages` (the bot renders).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

import structlog
from pydantic import BaseModel, ConfigDict

from agents.watch.alert_state import AlertState, Attention, Shown
from integrations.store.base import Store, StoreError

__all__ = [
    "ALERT_TTL_SECONDS",
    "DIGEST_WINDOW",
    "AlertBook",
    "AlertBusyError",
    "Digest",
    "DigestEntry",
]

ALERT_TTL_SECONDS: Final = 4 * 24 * 3600.0
"""Alerts are kept four days: a plan day, its late runs and a weekend's clicks."""
DIGEST_WINDOW: Final = timedelta(hours=1)
_CLAIM_TTL_SECONDS: Final = 300.0  # a replica that dies before posting is replaced after this
_LEASE_SECONDS: Final = 60.0

log = structlog.get_logger(__name__)


class AlertBusyError(Exception):
    """Another replica held a lease for longer than we were willing to wait."""


class DigestEntry(BaseModel):
    """One alert held back by the rate limit."""

    model_config = ConfigDict(frozen=True)

    key: str
    headline: str
    severity: str


class Digest(BaseModel):
    """The one message per channel and hour that sums up the alerts held back.

    Attributes:
        started: When the hour began (server clock).
        entries: The alerts held back, in order.
        message: The digest's message, once posted.
    """

    model_config = ConfigDict(frozen=True)

    started: datetime
    entries: tuple[DigestEntry, ...] = ()
    message: Shown | None = None


class AlertBook:
    """Alert state in the shared store."""

    def __init__(
        self,
        store: Store,
        *,
        namespace: str = "watch:",
        clock: Callable[[], datetime] | None = None,
        lease_seconds: float = _LEASE_SECONDS,
        wait_seconds: float = 30.0,
    ) -> None:
        """Use ``store``.

        Args:
            store: Shared state (the same for every replica).
            namespace: Key prefix.
            clock: Server time (UTC); injectable for snooze tests.
            lease_seconds: How long a lease holds when its owner dies.
            wait_seconds: How long `locked` waits for a lease before giving up.
        """
        self._store = store
        self._ns = namespace
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lease = lease_seconds
        self._wait = wait_seconds

    # --- leases --------------------------------------------------------------------------

    @asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[None]:
        """Hold the lease ``name`` (waiting for it with backoff), renewed while held.

        A publish may outlast the lease (a slow chat API, many alerts): it is renewed in
        the background every third of its life, so another replica does not take it
        half-way; it still expires on its own when this replica dies.

        Raises:
            AlertBusyError: Not acquired within ``wait_seconds``.
            StoreError: The store failed.
        """
        key, owner = f"{self._ns}lock:{name}", uuid.uuid4().hex
        deadline = time.monotonic() + self._wait
        delay = 0.002
        while not await self._store.acquire_lease(key, owner=owner, ttl_seconds=self._lease):
            if time.monotonic() > deadline:
                raise AlertBusyError(name)
            await asyncio.sleep(delay)  # a retry backoff, not a wait for a condition
            delay = min(delay * 2, 0.1)
        keeper = asyncio.create_task(self._keep(key, owner), name=f"lease-{name}")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await self._store.release_lease(key, owner=owner)

    async def _keep(self, key: str, owner: str) -> None:
        """Renew a held lease every third of its life until cancelled (or it was lost)."""
        while True:
            await asyncio.sleep(self._lease / 3)  # the renewal period, not a wait in a test
            try:
                held = await self._store.acquire_lease(key, owner=owner, ttl_seconds=self._lease)
            except StoreError as exc:
                log.error("watch.lease_renew_failed", lease=key, error=str(exc)[:200])
                continue  # the lease may still hold; try again next period
            if not held:
                # Taken over after an expiry: the post claims still keep alerts single.
                log.error("watch.lease_lost", lease=key)
                return

    # --- alerts --------------------------------------------------------------------------

    async def _json(self, key: str) -> object | None:
        raw = await self._store.get(f"{self._ns}{key}")
        return None if raw is None else json.loads(raw)

    async def get(self, platform: str, key: str) -> AlertState | None:
        """The alert ``key`` on ``platform``, or None."""
        raw = await self._store.get(f"{self._ns}alert:{platform}:{key}")
        return None if raw is None else AlertState.model_validate_json(raw)

    async def save(self, state: AlertState) -> None:
        """Store an alert (kept `ALERT_TTL_SECONDS` after its last change)."""
        await self._store.put(
            f"{self._ns}alert:{state.platform}:{state.view.key}",
            state.model_dump_json(),
            ttl_seconds=ALERT_TTL_SECONDS,
        )

    async def claim_post(self, platform: str, key: str, generation: int) -> bool:
        """True for the one replica that posts generation ``generation`` of an alert."""
        return await self._store.claim(
            f"{self._ns}post:{platform}:{key}:{generation}", ttl_seconds=_CLAIM_TTL_SECONDS
        )

    async def release_post(self, platform: str, key: str, generation: int) -> None:
        """Give a claim back after the post failed (the next cycle tries again)."""
        await self._store.delete(f"{self._ns}post:{platform}:{key}:{generation}")

    async def open_keys(self, platform: str) -> list[str]:
        """The keys of the open and held alerts on ``platform`` (call under its lease)."""
        found = await self._json(f"open:{platform}")
        return [str(k) for k in found] if isinstance(found, list) else []

    async def set_open_keys(self, platform: str, keys: list[str]) -> None:
        """Replace the open keys of ``platform`` (call under its lease)."""
        await self._store.put(
            f"{self._ns}open:{platform}", json.dumps(keys), ttl_seconds=ALERT_TTL_SECONDS
        )

    async def add_open_key(self, platform: str, key: str) -> None:
        """Add ``key`` to the open keys of ``platform`` before its card is posted.

        Recorded first, so a failure between the post and the end of the cycle still
        leaves the card among the alerts the next cycle updates and closes (call under
        the platform's lease).
        """
        keys = await self.open_keys(platform)
        if key not in keys:
            await self.set_open_keys(platform, [*keys, key])

    async def missing_keys(self, platform: str) -> list[str]:
        """Open alerts missing from the last report, kept open one cycle (call under lease)."""
        found = await self._json(f"missing:{platform}")
        return [str(k) for k in found] if isinstance(found, list) else []

    async def set_missing_keys(self, platform: str, keys: list[str]) -> None:
        """Replace the keys missing once on ``platform`` (call under its lease)."""
        await self._store.put(
            f"{self._ns}missing:{platform}", json.dumps(keys), ttl_seconds=ALERT_TTL_SECONDS
        )

    # --- rate and digest -----------------------------------------------------------------

    async def allow_new(self, platform: str, channel: str, per_hour: int) -> bool:
        """Count one new alert in the channel's hour; False when over ``per_hour``."""
        decision = await self._store.hit(
            f"{self._ns}rate:{platform}:{channel}", limit=per_hour, window_seconds=3600.0
        )
        return decision.allowed

    async def digest(self, platform: str, channel: str) -> Digest:
        """The channel's digest of this hour (a fresh one when the last is older)."""
        now = self.clock()
        raw = await self._store.get(f"{self._ns}digest:{platform}:{channel}")
        if raw is not None:
            found = Digest.model_validate_json(raw)
            if now - found.started < DIGEST_WINDOW:
                return found
        return Digest(started=now)

    async def save_digest(self, platform: str, channel: str, digest: Digest) -> None:
        """Store the channel's digest."""
        await self._store.put(
            f"{self._ns}digest:{platform}:{channel}",
            digest.model_dump_json(),
            ttl_seconds=DIGEST_WINDOW.total_seconds() * 2,
        )

    # --- ack and snooze ------------------------------------------------------------------

    async def attention(self, key: str) -> Attention:
        """Ack and snooze of a finding (empty when nobody did anything)."""
        raw = await self._store.get(f"{self._ns}attention:{key}")
        return Attention() if raw is None else Attention.model_validate_json(raw)

    async def _change_attention(
        self, key: str, *, only_unacked: bool = False, **update: object
    ) -> tuple[Attention, bool]:
        async with self.locked(f"attention:{key}"):
            current = await self.attention(key)
            if only_unacked and current.acked_by is not None:
                return current, False
            changed = current.model_copy(update=update)
            await self._store.put(
                f"{self._ns}attention:{key}",
                changed.model_dump_json(),
                ttl_seconds=ALERT_TTL_SECONDS,
            )
        return changed, True

    async def ack(self, key: str, *, by: str) -> tuple[Attention, bool]:
        """Acknowledge a finding (the first acknowledgement stays).

        Returns:
            The attention now, and whether this call acknowledged it.
        """
        return await self._change_attention(
            key, only_unacked=True, acked_by=by, acked_at=self.clock()
        )

    async def snooze(self, key: str, *, until: datetime, by: str) -> Attention:
        """Keep a finding quiet until ``until`` (a later snooze replaces an earlier one)."""
        changed, _ = await self._change_attention(key, snoozed_until=until, snoozed_by=by)
        return changed

    # --- paused / resumed ----------------------------------------------------------------

    async def mark_paused(self, reason: str) -> bool:
        """Remember that watching is paused; True for the first call (it posts the notice)."""
        async with self.locked("paused"):
            if await self._store.get(f"{self._ns}paused") is not None:
                return False
            await self._store.put(f"{self._ns}paused", reason)
            return True

    async def mark_resumed(self) -> bool:
        """Forget the pause; True when there was one (the caller posts "resumed")."""
        async with self.locked("paused"):
            if await self._store.get(f"{self._ns}paused") is None:
                return False
            await self._store.delete(f"{self._ns}paused")
            return True
