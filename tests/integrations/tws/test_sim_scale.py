"""Large plans: the scale scenarios, the event queue's replay and indexed filters (issue 16).

Speed is measured by ``benchmarks/sim_scale.py``, not here; these tests check that the fast
paths give the answers the plain definitions give.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.tws import paths
from integrations.tws.models import JobAction, JobStreamAction
from integrations.tws.simulator import SimulatorServer
from integrations.tws.simulator.clock import SimClock
from integrations.tws.simulator.engine import SimState
from integrations.tws.simulator.plan import SimJob
from integrations.tws.simulator.scenario import load_scenario

NOW = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
AUTH = aiohttp.BasicAuth("twsuser", "twspass")


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> Any:
    async with http.get(path, params=params or None) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def every_job(http: aiohttp.ClientSession, **params: Any) -> list[dict[str, Any]]:
    """All pages of ``GET /plan/job``, following ``next``."""
    out: list[dict[str, Any]] = []
    page = await get(http, paths.JOBS, limit=500, **params)
    out.extend(page["results"])
    while "next" in page:
        async with http.get(page["next"]) as resp:
            page = await resp.json()
        out.extend(page["results"])
    return out


# ------------------------------------------------------------------------- scenarios


def test_scale_10k_has_about_ten_thousand_uniquely_named_jobs() -> None:
    state = SimState(load_scenario("scale-10k"), SimClock(NOW, 0), 7)
    jobs = state.plan.jobs
    assert 9_500 <= len(jobs) <= 10_500
    assert len({j.key for j in jobs}) == len(jobs)
    assert len({s.name for s in state.plan.streams}) == len(state.plan.streams)
    assert {"PAYROLL_DAILY_EU", "PAYROLL_DAILY_EU2", "PAYROLL_DAILY_LATAM5"} <= {
        s.name for s in state.plan.streams
    }
    counts = state.counts()
    assert counts["SUCC"] > 0
    assert counts["EXEC"] > 0
    assert counts["SCHED"] > 0


def test_scale_50k_builds_a_fifty_thousand_job_night() -> None:
    state = SimState(load_scenario("scale-50k"), SimClock(NOW, 0), 7)
    assert 48_000 <= len(state.plan.jobs) <= 52_000
    assert len({j.key for j in state.plan.jobs}) == len(state.plan.jobs)
    assert sum(state.counts().values()) == len(state.plan.jobs)


# ------------------------------------------------------------------ the replay itself


def _natural_start(job: SimJob) -> datetime:
    start = job.at_time or job.stream.sched_time
    for pred in job.preds:
        run = pred.current_run
        assert run is not None
        start = max(start, run.end)
    return start


OUTAGE_NIGHT = (
    "streams: 150\nworkstations_down:\n"
    "  - {workstation: AGT_LNX03, at_minutes: 45, for_minutes: 80}\n"
)


def _played(tmp_path: Path, scenario: str) -> SimState:
    """A night played to its end (30 h after the clock's start)."""
    if scenario == "outage":
        path = tmp_path / "outage.yaml"
        path.write_text(OUTAGE_NIGHT, encoding="utf-8")
        scenario = str(path)
    clock = SimClock(NOW, 0)
    state = SimState(load_scenario(scenario), clock, 7)
    clock.advance(30 * 3600)
    state.sync()
    return state


@pytest.mark.parametrize("scenario", ["agent-down", "month-end", "outage"])
def test_each_job_starts_as_soon_as_it_may_and_not_before(scenario: str, tmp_path: Path) -> None:
    state = _played(tmp_path, scenario)
    down = {o.workstation for o in state.scenario.outages}
    started = 0
    for job in state.plan.jobs:
        preds_ok = all(p.runs and p.runs[-1].status == "SUCC" for p in job.preds)
        on_down = job.workstation in down
        if not job.runs:
            # never started: a predecessor failed, or its workstation never came back
            assert not preds_ok or on_down, job.key
            continue
        started += 1
        assert preds_ok, job.key
        natural = _natural_start(job)
        first = job.runs[0].start
        assert first >= natural, job.key
        if not on_down:
            assert first == natural, job.key
    assert started > len(state.plan.jobs) // 2


def test_jobs_wait_out_an_outage_and_start_when_it_ends(tmp_path: Path) -> None:
    state = _played(tmp_path, "outage")
    down_at = state.plan.start + timedelta(minutes=45)
    up_at = down_at + timedelta(minutes=80)
    waited = 0
    for job in state.plan.jobs:
        if job.workstation != "AGT_LNX03" or not job.runs:
            continue
        natural, first = _natural_start(job), job.runs[0].start
        assert not down_at <= first < up_at, job.key
        if down_at <= natural < up_at:
            assert first == up_at, job.key
            waited += 1
        else:
            assert first == natural, job.key
    assert waited > 0


# ------------------------------------------------------------------ indexed filters


@pytest.fixture
async def busy_night() -> AsyncIterator[aiohttp.ClientSession]:
    """The normal night after some operator actions (holds, reruns, a held stream)."""
    async with (
        SimulatorServer(speed=0, now=NOW, control=True) as sim,
        aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http,
    ):
        jobs = await every_job(http)
        held = next(j for j in jobs if j["status"]["internalStatus"] == "SCHED")
        async with http.put(paths.job_action(held["id"], JobAction.HOLD), json={}) as resp:
            assert resp.status == 200
        failed = next(j for j in jobs if j["status"]["internalStatus"] == "ABEND")
        async with http.put(paths.job_action(failed["id"], JobAction.RERUN), json={}) as resp:
            assert resp.status == 200
        stream = held["jobStreamInPlan"]["id"]
        async with http.put(paths.jobstream_action(stream, JobStreamAction.HOLD), json={}) as resp:
            assert resp.status in (200, 400)
        yield http


FILTERS = [
    "status IN ('ABEND', 'FAIL', 'EXEC')",
    "status = 'HOLD'",
    "status IN ('READY', 'SCHED', 'SUCC')",
    "status = 'HOLD' AND workstationName = 'AGT_LNX02'",
    "status IN ('SUCC', 'EXEC') ORDER BY name DESC",
    "name LIKE 'PAYROLL%' AND status = 'SUCC'",
    "jobStreamName IN ('GL_CLOSE', 'PAYROLL_DAILY') AND status IN ('HOLD', 'SCHED')",
    "name = 'PAYROLL_EXTRACT' AND jobStreamName = 'PAYROLL_DAILY'",
    "name IN ('PAYROLL_EXTRACT', 'GL_POST_CHECK') AND name = 'GL_POST_CHECK'",
]


def by_definition(jobs: list[dict[str, Any]], oql: str) -> list[str]:
    """The filter applied to every job by hand (the plain definition)."""
    where, _, order = oql.partition(" ORDER BY ")
    keep = jobs
    for term in where.split(" AND "):
        field, op, raw = term.split(" ", 2)
        values = [v.strip(" '") for v in raw.strip("()").split(",")]
        fields: dict[str, Callable[[dict[str, Any]], str]] = {
            "status": lambda j: j["status"]["internalStatus"],
            "name": lambda j: j["name"],
            "jobStreamName": lambda j: j["jobStreamInPlan"]["name"],
            "workstationName": lambda j: j["workstationKey"]["name"],
        }
        value = fields[field]
        if op == "LIKE":
            prefix = values[0].rstrip("%")
            keep = [j for j in keep if value(j).startswith(prefix)]
        else:
            keep = [j for j in keep if value(j) in values]
    if order:
        keep = sorted(keep, key=lambda j: j["name"], reverse=order.endswith("DESC"))
    return [j["id"] for j in keep]


async def test_filters_from_indexes_match_filtering_every_job(
    busy_night: aiohttp.ClientSession,
) -> None:
    http = busy_night
    for step in (0, 1800, 3 * 3600):
        async with http.post("/_sim/clock/advance", json={"seconds": step}) as resp:
            assert resp.status == 200
        everything = await every_job(http)
        for oql in FILTERS:
            got = await every_job(http, oql=oql)
            expected = by_definition(everything, oql)
            assert len(got) == len(expected), oql
            assert all(j["id"] == e for j, e in zip(got, expected, strict=True)), oql
            count = await get(http, f"{paths.JOBS}/count", oql=oql)
            assert count["count"] == len(got), oql
    hold = await every_job(http, oql="status = 'HOLD'")
    assert any(j["status"]["commonStatus"] == "HELD" for j in hold)


async def test_two_large_simulators_serve_the_same_pages() -> None:
    pages: list[list[Any]] = []
    for _ in range(2):
        async with (
            SimulatorServer(scenario="scale-10k", speed=0, now=NOW, control=True) as sim,
            aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http,
        ):
            seen = []
            for offset in (0, 4_000, 9_500):
                page = await get(http, paths.JOBS, limit=500, offset=offset)
                page.pop("next", None)  # names the server's own port
                seen.append(page)
            async with http.post("/_sim/clock/advance", json={"seconds": 7200}) as resp:
                assert resp.status == 200
            seen.append(await get(http, paths.JOBS, oql="status = 'ABEND'", limit=500))
            pages.append(seen)
    # compare page by page: a failing == on whole pages makes pytest diff megabytes
    differing = [i for i, (a, b) in enumerate(zip(*pages, strict=True)) if a != b]
    assert not differing
    assert pages[0][-1]["count"] > 0
