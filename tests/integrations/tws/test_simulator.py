"""The bundled TWS simulator, driven over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest

from integrations.tws import paths
from integrations.tws.models import JobAction
from integrations.tws.simulator import SimulatorServer, available_scenarios
from integrations.tws.wire import (
    parse_dependency,
    parse_engine_info,
    parse_job,
    parse_job_stream,
    parse_run,
    parse_workstation,
)

NOW = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
AUTH = aiohttp.BasicAuth("twsuser", "twspass")
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(speed=0, now=NOW, control=True, api_keys=["secret-key"]) as server:
        yield server


@pytest.fixture
async def http(sim: SimulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> Any:
    async with http.get(path, params=params or None) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def all_jobs(http: aiohttp.ClientSession, oql: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 500}
    if oql:
        params["oql"] = oql
    page = await get(http, paths.JOBS, **params)
    assert "next" not in page
    return list(page["results"])


async def find_job(http: aiohttp.ClientSession, stream: str, name: str) -> dict[str, Any]:
    page = await get(http, paths.JOBS, oql=f"jobStreamName = '{stream}' AND name = '{name}'")
    assert page["count"] == 1
    return dict(page["results"][0])


async def first_with(http: aiohttp.ClientSession, status: str) -> dict[str, Any]:
    page = await get(http, paths.JOBS, oql=f"status = '{status}' ORDER BY name ASC", limit=1)
    assert page["count"] >= 1, status
    return dict(page["results"][0])


async def act(http: aiohttp.ClientSession, job_id: str, action: str) -> aiohttp.ClientResponse:
    async with http.put(paths.job_action(job_id, JobAction(action)), json={}) as resp:
        await resp.read()
        return resp


# ------------------------------------------------------------------ auth, headers


async def test_auth_required(sim: SimulatorServer) -> None:
    async with aiohttp.ClientSession(base_url=sim.url) as anon:
        async with anon.get(paths.ENGINE_INFO) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == 'Basic realm="TWS"'
            assert (await resp.json())["messages"][0].startswith("AWSBEH021E")
        bad = aiohttp.BasicAuth("twsuser", "wrong")
        async with anon.get(paths.ENGINE_INFO, auth=bad) as resp:
            assert resp.status == 401
        ok = {"Authorization": "Bearer secret-key"}
        async with anon.get(paths.ENGINE_INFO, headers=ok) as resp:
            assert resp.status == 200
        async with anon.get(paths.ENGINE_INFO, headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401
        async with anon.get("/_sim/state") as resp:
            assert resp.status == 401


async def test_control_off_is_404() -> None:
    async with (
        SimulatorServer(speed=0, now=NOW) as server,
        aiohttp.ClientSession(base_url=server.url, auth=AUTH) as http,
        http.get("/_sim/state") as resp,
    ):
        assert resp.status == 404


async def test_date_header_is_sim_clock(sim: SimulatorServer, http: aiohttp.ClientSession) -> None:
    async with http.get(paths.ENGINE_INFO) as resp:
        assert parsedate_to_datetime(resp.headers["Date"]) == NOW
        info = parse_engine_info(await resp.json())
    assert info.plan_start is not None
    assert info.plan_start < NOW
    async with http.post("/_sim/clock/advance", json={"seconds": 3600}) as resp:
        assert resp.status == 200
    async with http.get(paths.WORKSTATIONS) as resp:
        assert (parsedate_to_datetime(resp.headers["Date"]) - NOW).total_seconds() == 3600


# ---------------------------------------------------------------- plan contents


async def test_plan_size_and_shapes(http: aiohttp.ClientSession) -> None:
    streams = await get(http, paths.JOBSTREAMS, limit=500)
    assert streams["count"] >= 40
    parsed = [parse_job_stream(s) for s in streams["results"]]
    assert "PAYROLL_DAILY" in {s.name for s in parsed}
    jobs = await all_jobs(http)
    assert len(jobs) >= 300
    models = [parse_job(j) for j in jobs]
    statuses = {m.status.value for m in models}
    assert {"SUCC", "EXEC", "ABEND", "HOLD", "SCHED"} <= statuses
    abends = [m for m in models if m.status.value == "ABEND"]
    assert 2 <= len(abends) <= 4
    assert any(m.late for m in models)
    assert all(m.estimated_duration is not None for m in models)
    ws = [parse_workstation(w) for w in (await get(http, paths.WORKSTATIONS))["results"]]
    assert len(ws) >= 5
    assert {"MASTER", "AGT_LNX01", "AGT_WIN01", "FTA_AIX01"} <= {w.name for w in ws}


async def test_payroll_extract_abend_and_log(http: aiohttp.ClientSession) -> None:
    job = parse_job(await find_job(http, "PAYROLL_DAILY", "PAYROLL_EXTRACT"))
    assert job.status.value == "ABEND"
    assert job.return_code == 12
    assert job.run_id is not None
    async with http.get(paths.job_log(job.run_id)) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    assert "= JOB       : AGT_LNX01#PAYROLL_DAILY.PAYROLL_EXTRACT" in text
    assert "ORA-01555" in text
    assert "AWSBHT045E" in text
    assert "= Exit Status           : 12" in text
    assert "= Elapsed Time (hh:mm:ss) :" in text
    assert text.rstrip().splitlines()[-2] == "= END"
    successors = await get(http, paths.job_successors(job.id))
    deps = [parse_dependency(d) for d in successors["results"]]
    assert deps
    assert deps[0].name == "PAYROLL_VALIDATE"
    assert deps[0].status == "HOLD"
    preds = await get(http, paths.job_predecessors(job.id))
    assert [d["name"] for d in preds["results"]] == ["PAYROLL_INIT"]
    assert preds["results"][0]["internal"] is True


async def test_fail_log_has_launch_error(http: aiohttp.ClientSession) -> None:
    job = parse_job(await find_job(http, "TRE_BANK_STMT", "TRE_BANK_PARSE"))
    assert job.status.value == "FAIL"
    assert job.run_id is not None
    async with http.get(paths.job_log(job.run_id)) as resp:
        assert "AWSBHT001E" in await resp.text()


async def test_cross_stream_dependencies(http: aiohttp.ClientSession) -> None:
    stream = (await get(http, paths.JOBSTREAMS, oql="name = 'GL_CLOSE'"))["results"][0]
    preds = await get(http, paths.jobstream_predecessors(stream["id"]))
    assert {"GL_DAILY_POST", "PAYROLL_DAILY", "BILLING_RUN"} <= {
        p["name"] for p in preds["results"]
    }
    succs = await get(http, paths.jobstream_successors(stream["id"]))
    assert "RPT_REGULATORY" in {s["name"] for s in succs["results"]}
    one = await get(http, paths.jobstream(stream["id"]))
    assert parse_job_stream(one).job_count == 8


# ---------------------------------------------------------------- paging and OQL


async def test_paging_with_next(http: aiohttp.ClientSession) -> None:
    first = await get(http, paths.JOBS, limit=100)
    assert len(first["results"]) == 100
    assert "next" in first
    seen = [j["id"] for j in first["results"]]
    url = first["next"]
    while url:
        async with http.get(url) as resp:
            page = await resp.json()
        seen += [j["id"] for j in page["results"]]
        url = page.get("next")
    assert len(seen) == len(set(seen)) == first["count"]


async def test_oql_filters(http: aiohttp.ClientSession) -> None:
    like = await all_jobs(http, "name LIKE 'PAYROLL%' ORDER BY name DESC")
    names = [j["name"] for j in like]
    assert names
    assert all(n.startswith("PAYROLL") for n in names)
    assert names == sorted(names, reverse=True)
    one_char = await all_jobs(http, "name LIKE 'PAYROLL_CAL_'")
    assert [j["name"] for j in one_char] == ["PAYROLL_CALC"]
    either = await all_jobs(http, "status IN ('ABEND', 'FAIL') AND workstationName = 'AGT_LNX01'")
    assert either
    assert all(j["status"]["internalStatus"] in ("ABEND", "FAIL") for j in either)
    assert all(j["workstationKey"]["name"] == "AGT_LNX01" for j in either)
    count = await get(http, f"{paths.JOBS}/count", oql="jobStreamName = 'PAYROLL_DAILY'")
    assert count == {"count": 8}
    for bad in ("name == 'X'", "nosuch = 'X'", "name = 'X' AND", "name IN ('A'"):
        async with http.get(paths.JOBS, params={"oql": bad}) as resp:
            assert resp.status == 400
            assert (await resp.json())["messages"][0].startswith("AWSBHV")


async def test_ids(http: aiohttp.ClientSession) -> None:
    async with http.get(paths.job("MASTER;0AAAAAAAAAAAAAAB;PAYROLL_EXTRACT")) as resp:
        assert resp.status == 400
        assert (await resp.json())["messages"][0].startswith("AWSBIO006E")
    async with http.put(paths.job_action("AGT_LNX01;JS;JOB", JobAction.RERUN), json={}) as resp:
        assert resp.status == 400
        assert "AWSBIO006E" in (await resp.json())["messages"][0]
    async with http.get(paths.job("00000000-0000-4000-8000-000000000000")) as resp:
        assert resp.status == 404
        assert (await resp.json())["messages"][0].startswith("AWSJCO005E")


# -------------------------------------------------------------------- history


async def test_history(http: aiohttp.ClientSession) -> None:
    job = await find_job(http, "PAYROLL_DAILY", "PAYROLL_EXTRACT")
    page = await get(http, paths.job_history(job["id"]), days=60, limit=500)
    runs = [parse_run(r) for r in page["results"]]
    assert len(runs) >= 61  # tonight's run + 60 nights
    starts = [r.started_at for r in runs]
    assert starts == sorted(starts, reverse=True)
    assert (starts[0] - starts[-1]).days >= 59
    assert runs[0].status.value == "ABEND"
    past = runs[1:]
    assert sum(r.status.value == "SUCC" for r in past) >= 55
    durations = [
        r.duration.total_seconds() for r in past if r.duration and r.status.value == "SUCC"
    ]
    assert (
        job["estimatedDuration"] * 0.4
        < sum(durations) / len(durations)
        < job["estimatedDuration"] * 1.6
    )
    async with http.get(paths.job_log(past[0].run_id)) as resp:
        assert resp.status == 200
        assert "= END" in await resp.text()
    again = await get(http, paths.job_history(job["id"]), days=60, limit=500)
    assert again["results"] == page["results"]


# -------------------------------------------------------------------- actions


async def test_action_needs_json(http: aiohttp.ClientSession) -> None:
    job = await first_with(http, "SCHED")
    async with http.put(paths.job_action(job["id"], JobAction.HOLD), data=b"") as resp:
        assert resp.status == 415


async def test_hold_release_cancel(http: aiohttp.ClientSession) -> None:
    job = await first_with(http, "SCHED")
    assert (await act(http, job["id"], "release")).status == 400
    resp = await act(http, job["id"], "hold")
    assert resp.status == 200
    held = parse_job(await get(http, paths.job(job["id"])))
    assert held.status.value == "HOLD"
    assert held.common_status is not None
    assert held.common_status.value == "HELD"
    assert (await act(http, job["id"], "release")).status == 200
    assert (await get(http, paths.job(job["id"])))["status"]["internalStatus"] == "SCHED"
    assert (await act(http, job["id"], "cancel")).status == 200
    assert (await get(http, paths.job(job["id"])))["status"]["internalStatus"] == "CANCL"
    async with http.put(paths.job_action(job["id"], JobAction.HOLD), json={}) as resp:
        assert resp.status == 400
        message = (await resp.json())["messages"][0]
    assert message.startswith('AWSBIN076E The action "hold" is not valid for job')
    assert message.endswith("in its current state CANCL.")


async def test_rerun_abend(http: aiohttp.ClientSession) -> None:
    job = await find_job(http, "PAYROLL_DAILY", "PAYROLL_EXTRACT")
    assert (await act(http, job["id"], "kill")).status == 400
    assert (await act(http, job["id"], "hold")).status == 400
    assert (await act(http, job["id"], "rerun")).status == 200
    after = parse_job(await get(http, paths.job(job["id"])))
    assert after.rerun_count == 1
    assert after.status.value == "EXEC"
    assert after.run_id != job["runId"]
    async with http.post("/_sim/clock/advance", json={"seconds": 4 * 3600}) as resp:
        assert resp.status == 200
    done = parse_job(await get(http, paths.job(job["id"])))
    assert done.status.value == "SUCC"
    assert done.return_code == 0
    succ = await find_job(http, "PAYROLL_DAILY", "PAYROLL_VALIDATE")
    assert succ["status"]["internalStatus"] in ("EXEC", "SUCC")


async def test_kill_and_confirm(http: aiohttp.ClientSession) -> None:
    running = await first_with(http, "EXEC")
    assert (await act(http, running["id"], "rerun")).status == 400
    assert (await act(http, running["id"], "cancel")).status == 400
    assert (await act(http, running["id"], "kill")).status == 200
    killed = parse_job(await get(http, paths.job(running["id"])))
    assert killed.status.value == "ABEND"
    assert killed.return_code == -1
    assert (await act(http, running["id"], "confirm-succ")).status == 200
    assert (await get(http, paths.job(running["id"])))["status"]["internalStatus"] == "SUCC"
    assert (await act(http, running["id"], "confirm-succ")).status == 400
    assert (await act(http, running["id"], "confirm-abend")).status == 200
    assert (await get(http, paths.job(running["id"])))["status"]["internalStatus"] == "ABEND"
    assert (await act(http, running["id"], "confirm-abend")).status == 400
    waiting = await first_with(http, "HOLD")
    for action in ("kill", "confirm-succ", "confirm-abend", "rerun"):
        assert (await act(http, waiting["id"], action)).status == 400, action


async def test_jobstream_actions(http: aiohttp.ClientSession) -> None:
    stream = (await get(http, paths.JOBSTREAMS, oql="name = 'ARCHIVE_LOGS'"))["results"][0]
    base = paths.jobstream(stream["id"])
    async with http.put(f"{base}/action/hold", json={}) as resp:
        assert resp.status == 200
    assert (await get(http, base))["status"]["internalStatus"] == "HOLD"
    async with http.put(f"{base}/action/cancel", json={}) as resp:
        assert resp.status == 200
    jobs = await all_jobs(http, "jobStreamName = 'ARCHIVE_LOGS'")
    assert {j["status"]["internalStatus"] for j in jobs} == {"CANCL"}
    async with http.put(f"{base}/action/release", json={}) as resp:
        assert resp.status == 400


# ------------------------------------------------------------ clock, scenarios


async def test_clock_advance_progresses(http: aiohttp.ClientSession) -> None:
    before = (await get(http, "/_sim/state"))["counts"]
    state = await (
        await http.post("/_sim/clock/advance", json={"to": "2026-11-24T04:30:00Z"})
    ).json()
    after = state["counts"]
    assert after["SUCC"] > before["SUCC"]
    assert after.get("SCHED", 0) < before["SCHED"]
    assert state["clock"] == "2026-11-24T04:30:00Z"
    async with http.post("/_sim/clock/advance", json={"to": "2026-11-23T00:00:00Z"}) as resp:
        assert resp.status == 400


async def test_determinism() -> None:
    results = []
    for _ in range(2):
        async with (
            SimulatorServer(speed=0, now=NOW, seed=11) as server,
            aiohttp.ClientSession(base_url=server.url, auth=AUTH) as http,
        ):
            results.append(await all_jobs(http))
    assert results[0] == results[1]


async def test_agent_down_scenario() -> None:
    async with (
        SimulatorServer(scenario="agent-down", speed=0, now=NOW, control=True) as server,
        aiohttp.ClientSession(base_url=server.url, auth=AUTH) as http,
    ):
        ws = {w["name"]: w for w in (await get(http, paths.WORKSTATIONS))["results"]}
        assert ws["AGT_LNX02"]["linked"] is False
        assert "UNLINKED" in ws["AGT_LNX02"]["statusText"]
        stuck = await all_jobs(http, "workstationName = 'AGT_LNX02' AND status = 'READY'")
        assert stuck
        running = await all_jobs(http, "workstationName = 'AGT_LNX02' AND status = 'EXEC'")
        assert not running
        async with http.post("/_sim/workstation/AGT_LNX02/up") as resp:
            assert (await resp.json())["linked"] is True
        moved = await get(http, paths.job(stuck[0]["id"]))
        assert moved["status"]["internalStatus"] == "EXEC"


async def test_month_end_is_worse() -> None:
    async with (
        SimulatorServer(scenario="month-end", speed=0, now=NOW) as server,
        aiohttp.ClientSession(base_url=server.url, auth=AUTH) as http,
    ):
        failed = await all_jobs(http, "status IN ('ABEND', 'FAIL')")
        assert len(failed) >= 10
        assert "GL_CLOSE" in {j["jobStreamInPlan"]["name"] for j in failed}
        jobs = await all_jobs(http)
        assert sum(j["late"] for j in jobs) >= 8


def test_available_scenarios() -> None:
    assert {"normal", "month-end", "agent-down", "flaky"} <= set(available_scenarios())
    with pytest.raises(ValueError, match="unknown scenario"):
        SimulatorServer(scenario="nope")


# -------------------------------------------------------------------- faults


async def test_fault_injection(http: aiohttp.ClientSession) -> None:
    async with http.put("/_sim/faults", json={"burst5xx": 2}) as resp:
        assert (await resp.json())["burst5xx"] == 2
    for _ in range(2):
        async with http.get(paths.ENGINE_INFO) as resp:
            assert resp.status == 503
    async with http.get("/_sim/faults") as resp:  # never faulted
        assert resp.status == 200
    async with http.get(paths.ENGINE_INFO) as resp:
        assert resp.status == 200
    await http.put("/_sim/faults", json={"malformedRate": 1.0})
    async with http.get(paths.JOBS) as resp:
        assert resp.status == 200
        with pytest.raises(ValueError):  # noqa: PT011
            await resp.json()
    await http.put("/_sim/faults", json={"malformedRate": 0.0, "errorRate": 1.0})
    async with http.get(paths.JOBS) as resp:
        assert resp.status == 500
    await http.put("/_sim/faults", json={"errorRate": 0.0, "dropRate": 1.0})
    with pytest.raises(aiohttp.ClientError):
        async with http.get(paths.JOBS) as resp:
            await resp.read()
    await http.put("/_sim/faults", json={"dropRate": 0.0, "latencyMs": 200})
    loop_time = __import__("time").monotonic
    started = loop_time()
    async with http.get(paths.ENGINE_INFO) as resp:
        assert resp.status == 200
    assert loop_time() - started >= 0.19
    async with http.put("/_sim/faults", json={"nope": 1}) as resp:
        assert resp.status == 400


async def test_flaky_scenario_starts_faulty() -> None:
    async with (
        SimulatorServer(scenario="flaky", speed=0, now=NOW, control=True) as server,
        aiohttp.ClientSession(base_url=server.url, auth=AUTH) as http,
    ):
        faults = await get(http, "/_sim/faults")
        assert faults["latencyMs"] > 0
        assert faults["burst5xx"] > 0
        async with http.get(paths.ENGINE_INFO) as resp:
            assert resp.status == 503


async def test_run_rerun_and_release_dependencies(http: aiohttp.ClientSession) -> None:
    job = await find_job(http, "BILLING_USAGE", "BILLING_CDR_DEDUP")
    assert job["status"]["internalStatus"] == "ABEND"
    async with http.put(f"{paths.JOBS}/run/{job['runId']}/action/rerun", json={}) as resp:
        assert resp.status == 200
    assert (await get(http, paths.job(job["id"])))["rerunCount"] == 1
    blocked = await find_job(http, "PAYROLL_DAILY", "PAYROLL_VALIDATE")
    assert blocked["status"]["internalStatus"] == "HOLD"
    assert (await act(http, blocked["id"], "release-dependencies")).status == 200
    assert (await get(http, paths.job(blocked["id"])))["status"]["internalStatus"] == "EXEC"


async def test_speed_and_reset(http: aiohttp.ClientSession) -> None:
    async with http.put("/_sim/clock/speed", json={"speed": 3600}) as resp:
        assert (await resp.json())["speed"] == 3600
    async with http.put("/_sim/clock/speed", json={"speed": -1}) as resp:
        assert resp.status == 400
    await http.put("/_sim/clock/speed", json={"speed": 0})
    job = await find_job(http, "PAYROLL_DAILY", "PAYROLL_EXTRACT")
    await act(http, job["id"], "cancel")
    async with http.post("/_sim/reset") as resp:
        state = await resp.json()
    assert state["scenario"] == "normal"
    again = await find_job(http, "PAYROLL_DAILY", "PAYROLL_EXTRACT")
    assert again["status"]["internalStatus"] == "ABEND"
