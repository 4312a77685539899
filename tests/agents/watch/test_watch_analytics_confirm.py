"""The Scanner over HTTP: deadline risks are confirmed before they are reported, outages age.

A risk under 0.9 must hold for the confirmation time (5 simulated minutes) over
consecutive cycles; a near-certain one is reported at once. An outage seen for a while is
drawn given how long it lasted, so what waits behind it is expected back sooner than by a
scanner that has just noticed it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from agents.watch.model import Finding, FindingKind, WatchReport
from agents.watch.scan import Scanner
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

EVAL = Path(__file__).resolve().parents[3] / "integrations/tws/simulator/scenarios/eval"


async def _advance(sim: SimulatorServer, seconds: int) -> None:
    headers = {"Authorization": aiohttp.BasicAuth("twsuser", "twspass").encode()}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(f"{sim.url}/_sim/clock/advance", json={"seconds": seconds}) as response,
    ):
        assert response.status == 200


def _risks(report: WatchReport) -> dict[str, Finding]:
    return {f.object_id: f for f in report.findings if f.kind == FindingKind.DEADLINE_RISK}


def _at_least(risks: dict[str, Finding], p: float) -> set[str]:
    return {job for job, f in risks.items() if f.probability is not None and f.probability >= p}


async def test_a_deadline_risk_under_090_is_reported_once_it_held() -> None:
    # Early on a normal Wednesday a few deadlines have a 5-10 % risk: with a threshold of
    # 0.05 they are "at risk", none near-certain. The reference scanner reports at once.
    night = str(EVAL / "normal-wed.yaml")
    async with SimulatorServer(scenario=night, speed=0, control=True) as sim:
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        try:
            reference = Scanner(client, seed=1, risk_threshold=0.05, confirm_minutes=0)
            confirming = Scanner(client, seed=1, risk_threshold=0.05)
            seen: list[dict[str, Finding]] = []
            shown: list[set[str]] = []
            for step in (0, 120, 180):  # now, +2 min (not yet held 5), +5 min (held)
                if step:
                    await _advance(sim, step)
                seen.append(_risks(await reference.cycle()))
                shown.append(set(_risks(await confirming.cycle())))
        finally:
            await client.close()
    held = set(seen[0]) & set(seen[1]) & set(seen[2])
    assert held - _at_least(seen[2], 0.9), "the night has no marginal risk to confirm"
    assert shown[0] == _at_least(seen[0], 0.9)
    assert shown[1] == _at_least(seen[1], 0.9)
    assert shown[2] == held | _at_least(seen[2], 0.9)


async def test_an_outage_watched_for_a_while_ends_sooner_than_a_fresh_one() -> None:
    # AGT_LNX01 goes down 50 minutes into the night for two hours. A scanner that saw it
    # go down 80 minutes ago expects it back sooner than one that has just noticed it.
    night = str(EVAL / "agent-outage-deadline.yaml")
    async with SimulatorServer(scenario=night, speed=0, control=True) as sim:
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        try:
            watching = Scanner(client, seed=1, risk_threshold=0.0, confirm_minutes=0)
            for _ in range(10):  # read every history (40 per cycle)
                await watching.cycle()
            await _advance(sim, 80 * 60)
            old = _risks(await watching.cycle())
            fresh = Scanner(client, seed=1, risk_threshold=0.0, confirm_minutes=0)
            for _ in range(10):
                new = _risks(await fresh.cycle())
            down = [ws.name for ws in (await client.workstations()).value if not ws.available]
        finally:
            await client.close()
    assert down == ["AGT_LNX01"]
    never = datetime.max.replace(tzinfo=None)

    def eta(f: Finding) -> datetime:
        return f.eta.replace(tzinfo=None) if f.eta is not None else never

    sooner = [job for job in old if eta(new[job]) - eta(old[job]) >= timedelta(minutes=15)]
    later = [job for job in old if eta(old[job]) - eta(new[job]) > timedelta(minutes=1)]
    assert sooner, "no deadline behind the outage is expected sooner by the watching scanner"
    assert not later
