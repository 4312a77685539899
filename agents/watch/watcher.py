"""`Watcher`: one watcher among replicas, a cycle every interval, one notice per outage.

Leadership is a lease in the shared store (`LEADER_KEY`): the replica holding it watches,
the others poll for it every third of the lease. The holder renews it before every cycle and,
in the background, every third of the lease (a cycle may take longer than the interval), so
another replica takes over within two lease periods after the leader dies (the lease
expires within one, the next poll comes within a third of another). Losing the store means
losing the lead: better one silent minute than every replica alerting twice.

Every cycle asks the `ReportSource` for a report and hands it to the `ReportPublisher`. A
report with ``paused`` set (the engine is unreachable) never reaches ``publish``: that would
close every open alert, a false all-clear while blind. Instead ``paused(reason)`` is said
once per outage, and ``resumed()`` once when a cycle runs again. Whether a pause was announced
is kept in the store (`PAUSED_KEY`), so a replica taking over in the middle of an outage does
not announce it a second time. That flag only spares the publisher calls: what chat was told
is the publisher's to know (the alert publisher keeps it in its `AlertBook`, says "paused"
only once and checks for a pending "resumed" with every report), so a store error here can
neither repeat nor lose a notice. A ``paused`` that raises is not remembered: it is asked
again next cycle. A crash inside a cycle is logged and the next cycle runs.
Each cycle logs ``watch.cycle`` with its CPU milliseconds and engine calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from typing import Final

import structlog

from agents.watch.model import WatchReport
from agents.watch.ports import ReportPublisher, ReportSource
from config.settings import Settings
from integrations.store import Store, StoreError

__all__ = ["LEADER_KEY", "PAUSED_KEY", "Watcher"]

log = structlog.get_logger(__name__)

LEADER_KEY: Final = "resync:watch:leader"
PAUSED_KEY: Final = "resync:watch:paused"
_PAUSE_MEMORY_SECONDS: Final = 7 * 24 * 3600.0
"""How long an announced pause is remembered without a resume (a forgotten key expires)."""


class Watcher:
    """Runs watch cycles while this replica holds the leadership lease."""

    def __init__(
        self,
        *,
        source: ReportSource,
        publisher: ReportPublisher,
        store: Store,
        interval_seconds: float,
        lease_seconds: float,
        owner: str | None = None,
    ) -> None:
        """Prepare a watcher (nothing runs until `run`).

        Args:
            source: Produces one report per cycle (`agents.watch.scan.Scanner`).
            publisher: Turns reports into alerts (`bot.watch`).
            store: Holds the leadership lease and the pause flag (shared by replicas).
            interval_seconds: Seconds between the starts of two cycles.
            lease_seconds: The lease's time to live.
            owner: This replica's name in the lease; default host, process id and a random
                part (a restarted process is a new owner).
        """
        self._source = source
        self._publisher = publisher
        self._store = store
        self._interval = interval_seconds
        self._lease = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leading = asyncio.Event()
        self.last_report: WatchReport | None = None
        """The last report a cycle produced here (None before the first, or on a follower)."""
        self.cycles = 0
        """Cycles run by this watcher (crashed ones included)."""

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        source: ReportSource,
        publisher: ReportPublisher,
        store: Store,
    ) -> Watcher:
        """A watcher on ``RESYNC_WATCH_INTERVAL_SECONDS`` and ``RESYNC_WATCH_LEASE_SECONDS``.

        Args:
            settings: The effective configuration.
            source: Produces one report per cycle.
            publisher: Turns reports into alerts.
            store: The shared store.

        Returns:
            The watcher (not running).
        """
        return cls(
            source=source,
            publisher=publisher,
            store=store,
            interval_seconds=settings.watch_interval_seconds,
            lease_seconds=settings.watch_lease_seconds,
        )

    def start(self) -> asyncio.Task[None]:
        """Run `run` in a background task (cancel it to stop; the lease is released)."""
        return asyncio.create_task(self.run(), name="watch")

    @property
    def leading(self) -> bool:
        """Whether this replica holds the lease now (as far as it knows)."""
        return self._leading.is_set()

    async def run(self) -> None:
        """Watch until cancelled; on cancel the lease is released for the next replica."""
        keeper = asyncio.create_task(self._keep_lease(), name="watch-lease")
        log.info("watch.started", owner=self.owner, interval_s=self._interval, lease_s=self._lease)
        try:
            while True:
                await self._leading.wait()
                started = time.monotonic()
                if await self._renew():  # renewed before every cycle
                    await self.run_cycle()
                elapsed = time.monotonic() - started
                await asyncio.sleep(max(0.0, self._interval - elapsed))
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await self._release()

    async def run_cycle(self) -> WatchReport | None:
        """Run one cycle now, whoever leads (``resync watch once`` and `run` use it).

        Returns:
            The report, or None when the cycle crashed (logged).
        """
        self.cycles += 1
        cpu, wall = time.process_time(), time.monotonic()
        report: WatchReport | None = None
        try:
            report = await self._source.cycle()
            self.last_report = report
            await self._deliver(report)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watch.cycle_failed", cycle=self.cycles)
        log.info(
            "watch.cycle",
            cycle=self.cycles,
            cpu_ms=round((time.process_time() - cpu) * 1000, 1),
            wall_ms=round((time.monotonic() - wall) * 1000, 1),
            engine_calls=report.engine_calls if report else None,
            findings=len(report.findings) if report else None,
            paused=report.paused if report else None,
            ok=report is not None,
        )
        return report

    async def _deliver(self, report: WatchReport) -> None:
        if report.paused is not None:
            if not await self._pause_announced():
                await self._publisher.paused(report.paused)
                await self._remember_pause(report.paused)
                log.warning("watch.paused", reason=report.paused)
            return
        if await self._pause_announced():
            await self._publisher.resumed()
            await self._forget_pause()
            log.info("watch.resumed")
        await self._publisher.publish(report)

    async def _pause_announced(self) -> bool:
        try:
            return await self._store.get(PAUSED_KEY) is not None
        except StoreError:
            log.error("store.unavailable", what="watch pause flag")
            return False

    async def _remember_pause(self, reason: str) -> None:
        with contextlib.suppress(StoreError):
            await self._store.put(PAUSED_KEY, reason, ttl_seconds=_PAUSE_MEMORY_SECONDS)

    async def _forget_pause(self) -> None:
        with contextlib.suppress(StoreError):
            await self._store.delete(PAUSED_KEY)

    async def _keep_lease(self) -> None:
        """Take or renew the lease every third of its life, whoever holds it now."""
        while True:
            await self._renew()
            await asyncio.sleep(self._lease / 3)

    async def _renew(self) -> bool:
        try:
            held = await self._store.acquire_lease(
                LEADER_KEY, owner=self.owner, ttl_seconds=self._lease
            )
        except StoreError as exc:
            log.error("watch.lease_failed", error=str(exc))
            held = False
        if held and not self._leading.is_set():
            log.info("watch.leading", owner=self.owner)
            self._leading.set()
        elif not held and self._leading.is_set():
            log.warning("watch.lead_lost", owner=self.owner)
            self._leading.clear()
        return held

    async def _release(self) -> None:
        was_leading = self._leading.is_set()
        self._leading.clear()
        if not was_leading:
            return
        try:
            await self._store.release_lease(LEADER_KEY, owner=self.owner)
            log.info("watch.released", owner=self.owner)
        except StoreError as exc:
            log.error("watch.release_failed", error=str(exc))  # it expires on its own
