"""An outage of the engine, end to end: the real `Scanner` reads the bundled simulator over
HTTP; the simulator answers 503 to everything for a while (``burst5xx``), then recovers, and
later stops altogether. The watcher says "paused" exactly once per outage, publishes
nothing while blind, and says "resumed" once when it can read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from agents.answers.watch_desk import ScannerDesk
from agents.watch.model import WatchReport
from agents.watch.scan import Scanner
from agents.watch.watcher import Watcher
from integrations.store.memory import MemoryStore
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


@dataclass
class Recorder:
    """A publisher that records what it was told, in order."""

    events: list[str] = field(default_factory=list)
    reports: list[WatchReport] = field(default_factory=list)

    async def publish(self, report: WatchReport) -> None:
        self.events.append("publish")
        self.reports.append(report)

    async def paused(self, reason: str) -> None:
        self.events.append(f"paused:{reason}")

    async def resumed(self) -> None:
        self.events.append("resumed")


async def faults(sim: SimulatorServer, **body: Any) -> None:
    async with (
        aiohttp.ClientSession(auth=aiohttp.BasicAuth("twsuser", "twspass")) as session,
        session.put(f"{sim.url}/_sim/faults", json=body) as response,
    ):
        assert response.status == 200, await response.text()


async def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


async def test_one_pause_notice_per_outage_and_one_resume() -> None:
    async with SimulatorServer(scenario="normal", speed=0, now=NOW, control=True) as sim:
        client = TWSClient(
            base_url=sim.url, user="twsuser", password="twspass", retries=0, breaker_threshold=1000
        )
        desk = ScannerDesk(Scanner(client, samples=200, seed=1), source="sim", max_age_seconds=1)
        publisher = Recorder()
        watcher = Watcher(
            source=desk,
            publisher=publisher,
            store=MemoryStore(),
            interval_seconds=0.05,
            lease_seconds=5,
        )
        task = asyncio.create_task(watcher.run())
        try:
            await wait_for(lambda: "publish" in publisher.events, what="a first report")
            assert publisher.reports[0].findings  # the normal night has findings to alert

            await faults(sim, burst5xx=1_000_000)  # every request answers 503 from now on
            await wait_for(
                lambda: any(e.startswith("paused") for e in publisher.events), what="pause"
            )
            blind_from = len(publisher.events)
            cycles = watcher.cycles
            await wait_for(lambda: watcher.cycles >= cycles + 5, what="five more blind cycles")
            assert publisher.events[blind_from:] == []  # no second notice, nothing published

            await faults(sim, burst5xx=0)
            await wait_for(lambda: "resumed" in publisher.events, what="the resume")
            await wait_for(lambda: publisher.events[-1] == "publish", what="a report again")
            outage = publisher.events[publisher.events.index("publish") + 1 :]
            assert outage[0] == "paused:engine unreachable"
            assert outage.count("paused:engine unreachable") == 1
            assert outage[1] == "resumed"
            assert set(outage[2:]) == {"publish"}

            # A second outage, the engine gone entirely: one more notice, not one per cycle.
            await sim.stop()
            await wait_for(
                lambda: publisher.events.count("paused:engine unreachable") == 2, what="2nd"
            )
            cycles = watcher.cycles
            await wait_for(lambda: watcher.cycles >= cycles + 3, what="three more blind cycles")
            assert publisher.events[-1] == "paused:engine unreachable"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()
