"""The Scanner against the real simulator over HTTP: findings, bounds, outage, questions."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from agents.watch.history import night_of, plan_day
from agents.watch.model import FindingKind
from agents.watch.scan import Scanner
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

SIM_NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
EVAL = Path(__file__).resolve().parents[3] / "integrations/tws/simulator/scenarios/eval"


@asynccontextmanager
async def engine(
    scenario: str, now: datetime | None = SIM_NOW
) -> AsyncIterator[tuple[SimulatorServer, TWSClient]]:
    """The simulator (frozen clock, control endpoints) and a client to it over HTTP."""
    async with SimulatorServer(scenario=scenario, speed=0, now=now, control=True) as sim:
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        try:
            yield sim, client
        finally:
            await client.close()


async def advance(sim: SimulatorServer, seconds: int) -> None:
    """Move the simulated clock forward."""
    headers = {"Authorization": aiohttp.BasicAuth("twsuser", "twspass").encode()}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(f"{sim.url}/_sim/clock/advance", json={"seconds": seconds}) as response,
    ):
        assert response.status == 200


async def test_failures_come_one_per_run_with_why() -> None:
    async with engine("normal") as (_, client):
        report = await Scanner(client, seed=1).cycle()
    assert report.paused is None
    failures = {f.object_name: f for f in report.findings if f.kind == FindingKind.FAILURE}
    extract = failures["PAYROLL_DAILY.PAYROLL_EXTRACT"]
    assert extract.run_id is not None
    assert extract.job_id == extract.object_id
    assert "return code 12" in extract.evidence
    assert any("ORA-01555" in line for line in extract.evidence)
    assert "TRE_BANK_STMT.TRE_BANK_PARSE" in failures
    assert len({f.key for f in report.findings}) == len(report.findings)


async def test_deadlines_behind_a_failure_are_at_risk_with_their_chain() -> None:
    async with engine("normal") as (_, client):
        report = await Scanner(client, seed=1).cycle()
    risks = [f for f in report.findings if f.kind == FindingKind.DEADLINE_RISK]
    report_job = next(f for f in risks if f.object_name == "PAYROLL_DAILY.PAYROLL_REPORT")
    assert report_job.probability == 1.0
    assert report_job.chain[0] == "PAYROLL_DAILY.PAYROLL_EXTRACT"
    assert report_job.chain[-1] == "PAYROLL_DAILY.PAYROLL_REPORT"
    assert report_job.chart is not None
    assert report_job.chart.kind == "forecast"
    assert all(f.probability is not None and f.probability >= 0.5 for f in risks)


async def test_a_deadline_already_passed_is_called_missed_not_at_risk() -> None:
    async with engine("normal") as (sim, client):
        await advance(sim, 4 * 3600)  # well into the night: some deadlines have passed
        report = await Scanner(client, seed=1).cycle()
    risks = [f for f in report.findings if f.kind == FindingKind.DEADLINE_RISK]
    passed = [f for f in risks if f.deadline is not None and f.deadline < report.as_of]
    ahead = [f for f in risks if f.deadline is not None and f.deadline >= report.as_of]
    assert passed, "the scenario should have a deadline behind the clock by now"
    assert all("missed its deadline" in f.headline for f in passed)
    assert all("may miss its deadline" in f.headline for f in ahead)


async def test_a_down_agent_is_reported_with_what_it_blocks() -> None:
    async with engine("agent-down") as (_, client):
        report = await Scanner(client, seed=1).cycle()
    ws = next(f for f in report.findings if f.kind == FindingKind.WORKSTATION)
    assert ws.object_id == "AGT_LNX02"
    assert "cannot start" in ws.explanation
    assert any(line.startswith("deadline ") for line in ws.evidence)


async def test_engine_calls_are_bounded_and_counted() -> None:
    async with engine("normal") as (sim, client):
        scanner = Scanner(client, seed=1, max_history_reads=40)
        before = client.calls_made
        first = await scanner.cycle()
        # The paged job query may take several HTTP requests; the report counts reads.
        assert first.engine_calls <= client.calls_made - before
        await advance(sim, 300)
        second = await scanner.cycle()
    # Edges are kept for the production day: a later cycle reads only the plan, new
    # histories (at most 40) and the logs of new failures.
    assert second.engine_calls <= 3 + 40 + 10
    assert second.engine_calls < first.engine_calls


async def test_a_slow_running_job_explains_itself() -> None:
    # Labelled night: PAYROLL_EXTRACT (usually ~7 min) runs 3x as long.
    night = str(EVAL / "slow-payroll-deadline.yaml")
    async with engine(night, now=None) as (sim, client):
        scanner = Scanner(client, seed=1)
        slow = []
        for _ in range(12):  # five simulated minutes at a time, one hour at most
            report = await scanner.cycle()
            slow = [
                f
                for f in report.findings
                if f.kind == FindingKind.SLOW_RUNNING
                and f.object_name == "PAYROLL_DAILY.PAYROLL_EXTRACT"
            ]
            if slow:
                break
            await advance(sim, 300)
        view = await scanner.baseline_of("PAYROLL_DAILY.PAYROLL_EXTRACT")
    assert slow, "PAYROLL_EXTRACT ran 3x its usual time without a slow_running finding"
    assert "min so far; usually" in slow[0].explanation
    assert "runs)" in slow[0].explanation
    assert slow[0].chart is not None
    assert slow[0].chart.band is not None
    assert view.baseline is not None
    assert view.name == "PAYROLL_DAILY.PAYROLL_EXTRACT"
    assert view.baseline.upper / 60 < (slow[0].chart.tonight or 0)
    assert "usually" in view.text


async def test_explain_risk_answers_for_one_job_whatever_the_probability() -> None:
    async with engine("normal") as (_, client):
        scanner = Scanner(client, seed=1)
        risk = await scanner.explain_risk("PAYROLL_DAILY.PAYROLL_REPORT")
        finding, by_stream = risk.finding, (await scanner.explain_risk("PAYROLL_DAILY")).finding
        assert risk.as_of == (await client.engine_info()).as_of  # the engine's clock (speed 0)
        assert finding is not None
        assert finding.kind == FindingKind.DEADLINE_RISK
        assert finding.object_name == "PAYROLL_DAILY.PAYROLL_REPORT"
        assert "PAYROLL_DAILY.PAYROLL_EXTRACT" in " ".join(finding.evidence)
        assert by_stream is not None
        assert by_stream.object_name == "PAYROLL_DAILY.PAYROLL_REPORT"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_engine_pauses_with_no_findings() -> None:
    client = TWSClient(base_url=f"http://127.0.0.1:{_free_port()}", retries=0)
    try:
        report = await Scanner(client).cycle()
    finally:
        await client.close()
    assert report.paused == "engine unreachable"
    assert report.findings == ()


async def test_an_engine_failing_mid_cycle_pauses_too() -> None:
    async with engine("normal") as (sim, client):
        scanner = Scanner(client, seed=1)
        assert (await scanner.cycle()).paused is None
        headers = {"Authorization": aiohttp.BasicAuth("twsuser", "twspass").encode()}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.put(f"{sim.url}/_sim/faults", json={"burst5xx": 50}) as response,
        ):
            assert response.status == 200
        report = await scanner.cycle()
    assert report.paused == "engine unreachable"
    assert report.findings == ()


async def test_the_plan_day_is_the_local_date_of_the_plan_start() -> None:
    # "normal" starts its plan 4 h before now: 23:00 UTC on the 24th, midnight in Paris,
    # so in Paris it is the 25th's plan; in UTC the 24th's.
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    async with engine("normal", now=now) as (_, client):
        local = await Scanner(client, seed=1, zone=paris).cycle()
        utc = await Scanner(client, seed=1).cycle()
    assert local.plan_date == date(2026, 11, 25)
    assert utc.plan_date == date(2026, 11, 24)
    assert {f.plan_date for f in local.findings} <= {date(2026, 11, 25)}
    assert local.findings


def test_past_runs_belong_to_their_local_production_day() -> None:
    plan_start = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    assert plan_day(plan_start, paris) == date(2026, 11, 25)
    last_night = plan_start - timedelta(days=1) + timedelta(hours=2)
    assert night_of(last_night, plan_start, paris) == date(2026, 11, 24)
    assert night_of(last_night, plan_start) == date(2026, 11, 23)
