"""What the watcher needs around it: a source of reports and a place to publish them.

`agents.watch.watcher.Watcher` owns leadership (one watcher among replicas), cadence and
pausing; it asks a `ReportSource` (`agents.watch.scan.Scanner`) for one cycle's findings and
hands them to a `ReportPublisher` (`bot.watch`), which owns everything about alerts: dedupe,
updating in place, ack/snooze, rate and digest, closing alerts whose condition ended.
"""

from __future__ import annotations

from typing import Protocol

from agents.watch.model import WatchReport

__all__ = ["ReportPublisher", "ReportSource"]


class ReportSource(Protocol):
    """Reads the plan and says what holds now."""

    async def cycle(self) -> WatchReport:
        """Run one watch cycle (a report with ``paused`` set when the engine is unreachable)."""
        ...


class ReportPublisher(Protocol):
    """Turns reports into alerts in chat."""

    async def publish(self, report: WatchReport) -> None:
        """Open, update and close alerts so that they match ``report.findings``."""
        ...

    async def paused(self, reason: str) -> None:
        """Say once that watching is paused (never an all-clear while blind)."""
        ...

    async def resumed(self) -> None:
        """Say once that watching runs again after a pause."""
        ...
