"""`HandoverPoster`: the handover posted at each shift change, once, whatever the replicas.

At each shift change (``RESYNC_HANDOVER_TIMES`` in ``RESYNC_TIMEZONE``) every replica's
loop wakes; per platform with a handover channel, the one that takes the store lease keyed
by the change's date and time gathers the handover and posts it through `ChatCore.post`
(paged, ``chat.post`` audited), then marks the change done (kept for three days) and
records ``handover.post``. The others find the lease taken or the change done and stay
quiet. A post that failed (platform or engine down) releases the lease without the mark:
the next round, on any replica, tries again while the change is less than ``grace`` ago.
A replica that dies holding the lease lets it lapse after ``lease_seconds``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import structlog

from agents.handover import Handover, HandoverDesk, handover_reply
from agents.handover.shift import due_change, next_change
from agents.messages import Platform, Reply
from bot.core.port import ChatPort, Posted
from integrations.audit.sink import AuditSink
from integrations.store import Store, StoreError

__all__ = ["DONE_TTL_SECONDS", "HandoverPoster", "Poster"]

log = structlog.get_logger(__name__)

DONE_TTL_SECONDS: Final = 3 * 24 * 3600.0


class Poster(Protocol):
    """How a proactive post goes out (`bot.core.conversation.ChatCore.post`)."""

    async def post(
        self,
        port: ChatPort,
        *,
        channel: str | None,
        thread: str | None,
        reply: Reply,
        correlation: dict[str, str],
    ) -> Posted | None:
        """Post in ``channel`` (paged, audited); None when it could not be posted."""
        ...


class HandoverPoster:
    """Posts the handover at shift changes in the configured channels."""

    def __init__(
        self,
        *,
        desk: HandoverDesk,
        core: Poster,
        store: Store,
        channels: Mapping[Platform, str],
        times: Sequence[time],
        zone: ZoneInfo,
        audit: AuditSink | None,
        watched: bool = False,
        clock: Callable[[], datetime] | None = None,
        grace: timedelta = timedelta(minutes=15),
        lease_seconds: float = 120.0,
        namespace: str = "handover:",
    ) -> None:
        """Wire the poster.

        Args:
            desk: Gathers the handover.
            core: Posts it (the chat core).
            store: Shared by the replicas (Redis): the lease and the done mark.
            channels: The handover channel of each platform (unset platforms absent).
            times: Shift changes, times of day in ``zone``.
            zone: The display time zone.
            audit: The audit log (``handover.post``).
            watched: Whether the desk reads a watcher (names the "more" question).
            clock: Server time (default now, UTC).
            grace: How late after a change its post may still go out.
            lease_seconds: How long a replica may take to post before another may.
            namespace: Key prefix in the store.
        """
        self._desk = desk
        self._core = core
        self._store = store
        self._channels = dict(channels)
        self._times = tuple(times)
        self._zone = zone
        self._audit = audit
        self._watched = watched
        self._clock = clock or (lambda: datetime.now(UTC))
        self._grace = grace
        self._lease = lease_seconds
        self._ns = namespace
        self._owner = secrets.token_hex(8)
        self.ports: dict[Platform, ChatPort] = {}

    def attach(self, port: ChatPort) -> None:
        """Post on ``port``'s platform too (when its handover channel is set)."""
        if self._channels.get(port.platform):
            self.ports[port.platform] = port

    async def post_due(self) -> list[Posted]:
        """Post the handover of the shift change due now, where this replica may.

        Returns:
            What this replica posted (empty: nothing due, or another replica posted it).
        """
        change = due_change(self._clock(), self._times, self._zone, grace=self._grace)
        if change is None:
            return []
        gathered: list[Handover] = []
        posted: list[Posted] = []
        for platform, port in self.ports.items():
            try:
                done = await self._post_once(platform, port, change, gathered)
            except StoreError as exc:  # no lease, no post: the next round asks again
                log.error("handover.store_failed", platform=platform.value, error=str(exc)[:200])
                continue
            if done is not None:
                posted.append(done)
        return posted

    async def _post_once(
        self, platform: Platform, port: ChatPort, change: datetime, gathered: list[Handover]
    ) -> Posted | None:
        shift = change.strftime("%Y-%m-%dT%H:%M")
        key = f"{self._ns}{platform.value}:{shift}"
        if await self._store.get(key + ":done") is not None:
            return None
        if not await self._store.acquire_lease(
            key + ":lease", owner=self._owner, ttl_seconds=self._lease
        ):
            return None  # another replica is posting it
        try:
            if await self._store.get(key + ":done") is not None:
                return None  # it finished between our two reads
            return await self._post(platform, port, change, shift, key, gathered)
        finally:
            await self._store.release_lease(key + ":lease", owner=self._owner)

    async def _post(
        self,
        platform: Platform,
        port: ChatPort,
        change: datetime,
        shift: str,
        key: str,
        gathered: list[Handover],
    ) -> Posted | None:
        channel = self._channels[platform]
        try:
            if not gathered:
                gathered.append(await self._desk.collect())
        except Exception as exc:  # the engine is down: say so in the audit, retry next round
            log.error("handover.collect_failed", shift=shift, error=str(exc)[:200])
            await self._record(platform, channel, shift, "failed", None, {"error": str(exc)[:200]})
            return None
        handover = gathered[0]
        reply = handover_reply(handover, zone=self._zone, watched=self._watched)
        posted = await self._core.post(
            port, channel=channel, thread=None, reply=reply, correlation={"handover": shift}
        )
        if posted is not None:
            await self._store.put(key + ":done", posted.message_id, ttl_seconds=DONE_TTL_SECONDS)
        counts: dict[str, object] = {
            "failures": len(handover.failures),
            "still_failed": sum(1 for f in handover.failures if f.failed),
            "incidents": len(handover.incidents or ()),
            "missed": len(handover.missed),
            "at_risk": len(handover.at_risk),
            "workstations_down": len(handover.workstations_down),
            "approvals": len(handover.approvals or ()),
            "runs": len(handover.runs or ()),
            "change": change.isoformat(),
        }
        outcome = "posted" if posted is not None else "failed"
        await self._record(platform, channel, shift, outcome, posted, counts)
        log.info("handover.post", platform=platform.value, shift=shift, outcome=outcome)
        return posted

    async def _record(
        self,
        platform: Platform,
        channel: str,
        shift: str,
        outcome: str,
        posted: Posted | None,
        parameters: dict[str, object],
    ) -> None:
        if self._audit is None:
            return
        try:
            await self._audit.record(
                action="handover.post",
                outcome=outcome,
                actor_id=None,
                actor_identity=None,
                platform=platform.value,
                channel=channel,
                thread=posted.message_id if posted is not None else None,
                target=shift,
                parameters=parameters,
                correlation={"handover": shift},
            )
        except Exception:  # the post is out; the alarm says the log failed
            log.exception("audit.write_failed", action="handover.post", shift=shift)

    async def run(self, *, interval_seconds: float = 30.0) -> None:
        """Post at every shift change until cancelled (a failing round is logged).

        Args:
            interval_seconds: The longest pause between two rounds (a round also runs at
                each change).
        """
        while True:
            try:
                await self.post_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handover.round_failed")
            now = self._clock()
            upcoming = next_change(now, self._times, self._zone)
            pause = interval_seconds
            if upcoming is not None:
                pause = min(pause, max((upcoming - now).total_seconds(), 0.0) + 0.5)
            await asyncio.sleep(pause)
