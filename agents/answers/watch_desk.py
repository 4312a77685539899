"""`ScannerDesk`: the watcher's findings for questions, without a cycle per question.

The desk wraps the scanner (`agents.watch.scan.Scanner`) and is also the watcher's report
source: on the replica that watches, questions read the last cycle's report; elsewhere (or
when it is older than ``max_age_seconds``) the desk runs one cycle itself, one at a time
however many people ask at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from agents.watch.model import RiskExplanation, WatchReport
from agents.watch.scan import BaselineView, Scanner
from config.settings import Settings
from integrations.tws.scheduler import Scheduler

__all__ = ["ScannerDesk", "ScannerLike"]


class ScannerLike(Protocol):
    """What the desk needs of the scanner."""

    async def cycle(self) -> WatchReport:
        """One watch cycle."""
        ...

    async def explain_risk(self, job: str) -> RiskExplanation:
        """The deadline-risk finding about ``job``, if it has a deadline, and when read."""
        ...

    async def baseline_of(self, job: str) -> BaselineView:
        """The job's baseline and how it was built."""
        ...


class ScannerDesk:
    """Caches the scanner's last report for questions; a `ReportSource` for the watcher."""

    def __init__(self, scanner: ScannerLike, *, source: str, max_age_seconds: float) -> None:
        """Wrap a scanner.

        Args:
            scanner: The scanner.
            source: Where its data comes from (the engine's source line, for answers).
            max_age_seconds: How old a report may be before a question runs a new cycle
                (the watch interval: the leader's cycles keep it fresh).
        """
        self._scanner = scanner
        self._source = source
        self._max_age = max_age_seconds
        self._last: tuple[float, WatchReport] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, scheduler: Scheduler, settings: Settings) -> ScannerDesk:
        """A desk over a new `Scanner` of ``scheduler``, tuned by the ``RESYNC_WATCH_*`` settings.

        Args:
            scheduler: The engine.
            settings: The effective configuration.

        Returns:
            The desk.
        """
        scanner = Scanner(
            scheduler,
            risk_threshold=settings.watch_risk_threshold,
            samples=settings.watch_samples,
            zone=settings.zone,
        )
        return cls(
            scanner, source=scheduler.source, max_age_seconds=settings.watch_interval_seconds
        )

    @property
    def source(self) -> str:
        """Where the data comes from."""
        return self._source

    async def cycle(self) -> WatchReport:
        """Run one cycle and keep its report (the watcher calls this)."""
        report = await self._scanner.cycle()
        self._last = (time.monotonic(), report)
        return report

    async def report(self) -> WatchReport:
        """The last report if it is recent enough, else a new cycle's."""
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] <= self._max_age:
                return self._last[1]
            return await self.cycle()

    async def explain_risk(self, job: str) -> RiskExplanation:
        """The deadline-risk finding about ``job`` and when the plan was read."""
        return await self._scanner.explain_risk(job)

    async def baseline_of(self, job: str) -> BaselineView:
        """The baseline of ``job`` and how it was built."""
        return await self._scanner.baseline_of(job)
