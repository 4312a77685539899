"""Reading a big plan cheaply, with the same answers (issue 16).

- Plan jobs that carry their ``dependencies`` (as HWA's plan objects do) give the forecast
  its predecessors with no per-job read, and the same forecast as the per-job reads.
- A forecast reads only unfinished and failed jobs, and forecasts exactly what it did from
  the whole plan.
- The simulator reuses a query's result across the pages of one read, and never across a
  change: an action or a clock step between two pages shows in the next answer.

Speed is measured by ``benchmarks/scale_questions.py``, not here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agents.forecast import Forecast, Forecaster, read_forecast_plan
from integrations.tws import paths, wire
from integrations.tws.client import TWSClient
from integrations.tws.errors import TWSProtocolError
from integrations.tws.models import JobAction
from integrations.tws.simulator import SimulatorServer
from integrations.tws.simulator.control_api import SIM

NOW = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
AUTH = aiohttp.BasicAuth("twsuser", "twspass")


class InlineDependencies:
    """The bundled simulator behind a proxy that rewrites each job's ``dependencies``.

    With ``strip`` the rows carry none (an engine that does not send them), so the client
    falls back to one ``/predecessors`` read per job.

    The rows follow HCL's documented shape (``dependencyType``, ``jobId``, ``jobStreamId``;
    several predecessors grouped in a ``JOIN`` with ``members``), built from the
    simulator's own predecessor lists, so the plan is the simulator's night exactly.
    """

    def __init__(self, sim: SimulatorServer, *, strip: bool = False) -> None:
        self.sim = sim
        self.strip = strip
        self.url = ""
        self.predecessor_reads = 0
        """Requests for ``/predecessors`` that the client under test sent."""

    async def _dependencies(self, http: aiohttp.ClientSession, job_id: str) -> list[Any]:
        async with http.get(paths.job_predecessors(job_id), params={"limit": "500"}) as resp:
            assert resp.status == 200
            rows = (await resp.json())["results"]
        deps: list[dict[str, Any]] = []
        for row in rows:
            if row["kind"] == "job":
                kind = "INTERNAL_JOB" if row["internal"] else "EXTERNAL_JOB"
                deps.append(
                    {
                        "dependencyType": kind,
                        "id": row["id"],
                        "jobId": row["id"],
                        "jobName": row["name"],
                        "jobStreamName": row["jobStreamName"],
                    }
                )
            else:
                deps.append({"dependencyType": "EXTERNAL_JOBSTREAM", "jobStreamId": row["id"]})
        if len(deps) > 1:
            return [{"dependencyType": "JOIN", "satisfied": False, "members": deps}]
        return deps

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/predecessors"):
            self.predecessor_reads += 1
        async with (
            aiohttp.ClientSession(base_url=self.sim.url, auth=AUTH) as http,
            http.request(request.method, request.path, params=request.query) as resp,
        ):
            body = await resp.read()
            date = resp.headers["Date"]
            if resp.status != 200 or resp.content_type != "application/json":
                return web.Response(body=body, status=resp.status, headers={"Date": date})
            data = await resp.json()
            is_job = request.path.startswith(paths.JOBS + "/") and request.path.count("/") == 6
            if request.path == paths.JOBS:
                for row in data["results"]:
                    if self.strip:
                        row.pop("dependencies", None)
                    else:
                        row["dependencies"] = await self._dependencies(http, row["id"])
                if "next" in data:  # point `next` at the proxy, as the engine's own link
                    data["next"] = data["next"].replace(self.sim.url, self.url)
            elif is_job and self.strip:
                data.pop("dependencies", None)
            elif is_job:
                data["dependencies"] = await self._dependencies(http, data["id"])
        return web.json_response(data, headers={"Date": date})


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(speed=0, now=NOW, control=True) as server:
        yield server


async def _serve(proxy: InlineDependencies) -> AsyncIterator[InlineDependencies]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield proxy
    await runner.cleanup()


@pytest.fixture
async def inline(sim: SimulatorServer) -> AsyncIterator[InlineDependencies]:
    async for proxy in _serve(InlineDependencies(sim)):
        yield proxy


@pytest.fixture
async def bare(sim: SimulatorServer) -> AsyncIterator[InlineDependencies]:
    async for proxy in _serve(InlineDependencies(sim, strip=True)):
        yield proxy


def _client(url: str) -> TWSClient:
    return TWSClient(base_url=url, user="twsuser", password="twspass", page_size=100)


def _picture(forecast: Forecast) -> list[tuple[Any, ...]]:
    return [
        (
            item.job.id,
            item.expected_end,
            item.late,
            item.blocked_by,
            item.blocked_by_failure,
            item.failed_root,
        )
        for item in forecast.jobs
    ]


async def _forecast(client: TWSClient, *, whole_plan: bool = False) -> Forecast:
    plan = await (client.query_jobs() if whole_plan else read_forecast_plan(client))
    return await Forecaster(scheduler=client, jobs=plan.value, now=plan.as_of).forecast()


async def test_dependencies_sent_with_the_jobs_need_no_predecessor_reads(
    bare: InlineDependencies, inline: InlineDependencies
) -> None:
    async with _client(bare.url) as direct, _client(inline.url) as bulk:
        read_one_by_one = await _forecast(direct)
        per_job_calls = direct.calls_made
        plan = await read_forecast_plan(bulk)
        pages = bulk.calls_made
        assert plan.value
        assert all(job.predecessor_ids is not None for job in plan.value)
        assert any(len(job.predecessor_ids or ()) > 1 for job in plan.value)  # JOINs read
        from_rows = await Forecaster(scheduler=bulk, jobs=plan.value, now=plan.as_of).forecast()
    assert _picture(from_rows) == _picture(read_one_by_one)
    assert from_rows.late or from_rows.at_risk  # the night has something to forecast
    assert inline.predecessor_reads == 0
    assert bulk.calls_made == pages
    assert per_job_calls > pages + 10  # what the rows saved


async def test_a_forecast_of_unfinished_and_failed_jobs_equals_one_of_the_whole_plan(
    sim: SimulatorServer,
) -> None:
    async with _client(sim.url) as client:
        whole = await _forecast(client, whole_plan=True)
        everything = len((await client.query_jobs()).value)
        read = len((await read_forecast_plan(client)).value)
        narrow = await _forecast(client)
    assert _picture(narrow) == _picture(whole)
    assert narrow.late
    assert read < everything // 2


def test_dependencies_are_read_from_the_documented_shape() -> None:
    row: dict[str, Any] = {
        "id": "j-3",
        "name": "GL_POST",
        "jobStreamInPlan": {"id": "s-1", "name": "GL", "workstationKey": {"name": "MASTER"}},
        "status": {"internalStatus": "HOLD"},
    }
    assert wire.parse_job(row).predecessor_ids is None  # not sent: read them per job
    row["dependencies"] = [
        {"dependencyType": "INTERNAL_JOB", "jobId": "j-1"},
        {"dependencyType": "EXTERNAL_JOBSTREAM", "jobStreamId": "s-9"},
        {
            "dependencyType": "JOIN",
            "members": [
                {"dependencyType": "EXTERNAL_JOB", "jobId": "j-2"},
                {"dependencyType": "INTERNAL_JOB", "jobId": "j-1"},
            ],
        },
        {"dependencyType": "RESOURCE", "resourceName": "TAPE"},
    ]
    assert wire.parse_job(row).predecessor_ids == ("j-1", "j-2")
    row["dependencies"] = []
    assert wire.parse_job(row).predecessor_ids == ()


async def test_dependencies_that_are_not_a_list_are_a_protocol_error(
    sim: SimulatorServer,
) -> None:
    async def jobs(request: web.Request) -> web.Response:
        async with (
            aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http,
            http.get(paths.JOBS, params=request.query) as resp,
        ):
            data = await resp.json()
        data["results"][0]["dependencies"] = {"jobId": "x"}
        data.pop("next", None)
        return web.json_response(data)

    app = web.Application()
    app.router.add_get(paths.JOBS, jobs)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with _client(f"http://127.0.0.1:{runner.addresses[0][1]}") as client:
            with pytest.raises(TWSProtocolError, match="unreadable job"):
                await client.query_jobs()
    finally:
        await runner.cleanup()


async def _count(http: aiohttp.ClientSession, oql: str) -> int:
    async with http.get(paths.JOBS, params={"oql": oql, "limit": "500"}) as resp:
        assert resp.status == 200
        return int((await resp.json())["count"])


async def test_a_query_reused_across_pages_still_sees_actions_and_the_clock(
    sim: SimulatorServer,
) -> None:
    held = "status IN ('HOLD') ORDER BY name ASC"
    async with aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http:
        before = await _count(http, held)
        assert await _count(http, held) == before  # the same answer, asked again
        async with http.get(paths.JOBS, params={"oql": "status = 'SCHED'", "limit": "1"}) as resp:
            waiting = (await resp.json())["results"][0]
        async with http.put(paths.job_action(waiting["id"], JobAction.HOLD), json={}) as resp:
            assert resp.status == 200, await resp.text()
        assert await _count(http, held) == before + 1  # an action between two pages
        running = "status = 'EXEC'"
        now_running = await _count(http, running)
        async with http.post(f"{SIM}/clock/advance", json={"seconds": 4 * 3600}) as resp:
            assert resp.status == 200, await resp.text()
        assert await _count(http, running) != now_running  # the clock moved
