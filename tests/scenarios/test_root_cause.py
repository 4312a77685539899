"""Root cause upstream: "why is X late?", "what's blocking X?" walk to the causes and name the chain.

End to end: Dispatcher -> graph -> TWSClient -> HTTP -> simulator. The expected chains are
computed here by an independent walk over the engine's raw JSON API (aiohttp, not Resync's
client), and the failures and the workstation outage are checked against the simulator's
ground truth (``/_sim/truth``). Phrasings the parser does not route yet ("what's blocking
X?", "why isn't X running?") reach the graph as the `Intent` objects the parser will give.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, NOW, Ask, make_asker, no_sleep

from agents.answers.budget import ENGINE_CALL_BUDGET
from agents.assistant import Assistant
from agents.graph import deterministic_understander
from agents.intents import Intent, IntentKind
from agents.messages import Context, Reply
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

API = "/twsd/api/v2"
RELEASING = {"SUCC", "SUCCP", "CANCL", "SUPPR"}
FAILED = {"ABEND", "FAIL", "ERROR"}

# What the parser will route these phrasings to (issue 14); until then they come in here.
ROUTED = {
    "what's blocking GL_CLOSE?": Intent(kind=IntentKind.WHY, subject="GL_CLOSE"),
    "what's blocking GL_CLOSE_INIT?": Intent(kind=IntentKind.WHY, subject="GL_CLOSE_INIT"),
    "why isn't PAYROLL_CALC running?": Intent(kind=IntentKind.WHY, subject="PAYROLL_CALC"),
    "why won't RPT_REG_COLLECT start?": Intent(kind=IntentKind.WHY, subject="RPT_REG_COLLECT"),
}


async def routed(text: str, focus: str | None, last_kind: IntentKind | None) -> Intent:
    return ROUTED.get(text) or await deterministic_understander(text, focus, last_kind)


class Raw:
    """The engine's JSON API read directly: the facts the answers are checked against."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def get(self, path: str, **params: str) -> Any:
        async with self.session.get(self.url + path, params=params) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def pages(self, path: str, **params: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = await self.get(path, limit="500", offset=str(offset), **params)
            rows.extend(body["results"])
            if "next" not in body:
                return rows
            offset += 500

    async def stream_jobs(self, stream: str) -> list[dict[str, Any]]:
        return await self.pages(f"{API}/plan/job", oql=f"jobStreamName = '{stream}'")

    async def job_named(self, name: str) -> dict[str, Any]:
        (job,) = await self.pages(f"{API}/plan/job", oql=f"name = '{name}'")
        return job

    async def job(self, job_id: str) -> dict[str, Any]:
        return dict(await self.get(f"{API}/plan/job/{job_id}"))

    async def preds(self, job_id: str) -> list[dict[str, Any]]:
        return await self.pages(f"{API}/plan/job/{job_id}/predecessors")

    async def workstations(self) -> dict[str, dict[str, Any]]:
        return {ws["name"]: ws for ws in await self.pages(f"{API}/plan/workstation")}

    async def truth(self) -> dict[str, Any]:
        return dict(await self.get("/_sim/truth"))

    async def hold(self, job_id: str) -> None:
        url = f"{self.url}{API}/plan/job/{job_id}/action/hold"
        async with self.session.put(url, json={}) as response:
            assert response.status == 200, await response.text()


def status_of(job: dict[str, Any]) -> str:
    return str(job["status"]["internalStatus"])


@dataclass
class Root:
    """A cause found by the independent walk: the job, and the job streams on the way."""

    job: dict[str, Any]
    streams: list[str]
    names: list[str]


_Step = tuple[dict[str, Any], list[str], list[str], str]


async def roots_upstream(raw: Raw, starts: list[dict[str, Any]]) -> list[Root]:
    """Breadth first over the raw predecessors: failed, held, or READY on a down workstation."""
    stations = await raw.workstations()
    seen = {job["id"] for job in starts}
    frontier: list[_Step] = [(j, [], [], j["jobStreamInPlan"]["name"]) for j in starts]
    roots: list[Root] = []
    while frontier:
        following: list[_Step] = []
        for job, streams, names, current in frontier:
            status = status_of(job)
            down = not stations[job["workstationKey"]["name"]]["linked"]
            held = job["status"]["commonStatus"] == "HELD"
            if names and (status in FAILED or held or (status == "READY" and down)):
                roots.append(Root(job=job, streams=streams, names=names))
            if status in RELEASING or status in FAILED or status in ("EXEC", "READY"):
                continue
            for dep in await raw.preds(job["id"]):
                if dep["id"] in seen or dep["status"] in RELEASING:
                    continue
                seen.add(dep["id"])
                other = await raw.job(dep["id"])
                stream = other["jobStreamInPlan"]["name"]
                crossed = streams if stream == current else [*streams, stream]
                following.append((other, crossed, [*names, other["name"]], stream))
        frontier = following
    return roots


@asynccontextmanager
async def night(
    scenario: str, tmp_path: Path, *, call_budget: int = ENGINE_CALL_BUDGET
) -> AsyncIterator[tuple[Ask, TWSClient, Raw]]:
    async with (
        SimulatorServer(
            scenario=scenario, speed=0, now=NOW, control=True, api_keys=[API_KEY]
        ) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY, sleep=no_sleep) as client,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        assistant = Assistant(
            scheduler=client,
            checkpointer=saver,
            zone=ZoneInfo("UTC"),
            understander=routed,
            call_budget=call_budget,
        )
        yield make_asker(Dispatcher(assistant=assistant, audit=None)), client, Raw(session, sim.url)


def small_print(reply: Reply) -> str:
    return " ".join(item for b in reply.blocks if isinstance(b, Context) for item in b.items)


async def asked(
    ask: Ask, client: TWSClient, text: str, *, budget: int = ENGINE_CALL_BUDGET
) -> Reply:
    """Ask, and check the answer stayed inside its call budget and says as of and source."""
    before = client.calls_made
    reply = await ask(text, channel=f"C-{text}")
    assert client.calls_made - before < budget, client.calls_made - before
    assert not reply.headline.startswith("I stopped"), reply.headline
    assert "As of Mon 23 Nov 23:30 UTC" in small_print(reply), small_print(reply)
    assert client.source in small_print(reply)
    return reply


def expected_chain(label: str, root: Root, text: str) -> str:
    return " ← ".join([label, *root.streams, text])


def failed_text(job: dict[str, Any]) -> str:
    return f"{job['name']} {status_of(job)} rc {job['returnCode']}"


async def test_a_job_stream_is_traced_across_three_job_streams(tmp_path: Path) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        jobs = [j for j in await raw.stream_jobs("GL_CLOSE") if status_of(j) not in RELEASING]
        roots = await roots_upstream(raw, jobs)
        truth = {failure["name"] for failure in (await raw.truth())["failures"]}
        assert {f"{r.job['jobStreamInPlan']['name']}.{r.job['name']}" for r in roots} <= truth
        assert {r.job["name"] for r in roots} == {"PAYROLL_EXTRACT", "BILLING_CDR_DEDUP"}
        assert max(len(r.streams) for r in roots) >= 2  # GL_CLOSE ← BILLING_RUN ← BILLING_USAGE
        for text in ("why is GL_CLOSE late", "what's blocking GL_CLOSE?"):
            reply = await asked(ask, client, text)
            assert reply.headline.startswith("Job stream GL_CLOSE has not finished"), reply.headline
            for root in roots:
                chain = expected_chain("GL_CLOSE", root, failed_text(root.job))
                assert chain in reply.headline, (chain, reply.headline)
            assert "do not release what waits for them" in reply.plain_text()


async def test_a_job_names_its_chain_and_every_step(tmp_path: Path) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        start = await raw.job_named("GL_CLOSE_INIT")
        roots = await roots_upstream(raw, [start])
        reply = await asked(ask, client, "what's blocking GL_CLOSE_INIT?")
        assert reply.headline.startswith("GL_CLOSE_INIT has not run yet (HOLD): "), reply.headline
        text = reply.plain_text()
        for root in roots:
            assert expected_chain("GL_CLOSE_INIT", root, failed_text(root.job)) in reply.headline
            assert len(root.names) >= 3  # the chain crosses at least three jobs
            for name in root.names:
                assert name in text  # step by step


async def test_a_down_workstation_four_levels_up(tmp_path: Path) -> None:
    async with night("agent-down", tmp_path) as (ask, client, raw):
        stations = await raw.workstations()
        assert stations["AGT_LNX02"]["linked"] is False
        injected = (await raw.truth())["injected"]
        assert {"kind": "workstation_down", "object": "AGT_LNX02"}.items() <= injected[0].items()
        jobs = await raw.stream_jobs("RPT_REGULATORY")
        roots = [r for r in await roots_upstream(raw, jobs) if status_of(r.job) == "READY"]
        assert roots, "the outage holds a READY job upstream"
        # The shortest one: through GL_CLOSE and GL_DAILY_POST (four levels).
        (through_gl,) = [r for r in roots if r.streams[0] == "GL_CLOSE"]
        assert through_gl.streams == ["GL_CLOSE", "GL_DAILY_POST"]
        reply = await asked(ask, client, "why is RPT_REGULATORY late")
        what = f"{through_gl.job['name']} READY on AGT_LNX02, which is unlinked"
        assert expected_chain("RPT_REGULATORY", through_gl, what) in reply.headline, reply.headline
        text = reply.plain_text()
        assert "AGT_LNX02: UNLINKED" in text
        # Every cause the independent walk found is named, or the answer says where it stopped.
        every = await roots_upstream(raw, jobs)
        unnamed = [r.job["name"] for r in every if r.job["name"] not in text]
        assert not unnamed or "I stopped after looking at the predecessors of" in text, unnamed


async def test_a_ready_job_on_an_unlinked_workstation_says_so(tmp_path: Path) -> None:
    async with night("agent-down", tmp_path) as (ask, client, raw):
        job = await raw.job_named("GL_POST_EXTRACT")
        assert status_of(job) == "READY"
        assert (await raw.workstations())[job["workstationKey"]["name"]]["linked"] is False
        reply = await asked(ask, client, "why is GL_POST_EXTRACT late")
        assert reply.headline == (
            "GL_POST_EXTRACT has not run yet (READY): "
            "GL_POST_EXTRACT READY on AGT_LNX02, which is unlinked."
        )


async def test_a_held_predecessor_and_the_failure_behind_it(tmp_path: Path) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        validate = await raw.job_named("PAYROLL_VALIDATE")
        await raw.hold(validate["id"])
        validate = await raw.job(validate["id"])
        assert validate["status"]["commonStatus"] == "HELD"
        extract = await raw.job_named("PAYROLL_EXTRACT")
        reply = await asked(ask, client, "why isn't PAYROLL_CALC running?")
        assert reply.headline.startswith("PAYROLL_CALC has not run yet (HOLD): "), reply.headline
        assert f"PAYROLL_CALC ← {failed_text(extract)}" in reply.headline
        assert "PAYROLL_CALC ← PAYROLL_VALIDATE is held by an operator" in reply.headline


async def test_an_at_time_not_reached(tmp_path: Path) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        job = await raw.job_named("RPT_REG_COLLECT")
        at = datetime.fromisoformat(job["atTime"].replace("Z", "+00:00"))
        assert at > NOW
        assert status_of(job) == "SCHED"
        reply = await asked(ask, client, "why won't RPT_REG_COLLECT start?")
        assert f"RPT_REG_COLLECT not before {at:%a %d %b %H:%M} UTC" in reply.headline


async def test_a_running_predecessor(tmp_path: Path) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        picked: tuple[dict[str, Any], dict[str, Any]] | None = None
        for job in await raw.pages(f"{API}/plan/job", oql="status = 'HOLD'"):
            open_deps = [d for d in await raw.preds(job["id"]) if d["status"] not in RELEASING]
            if len(open_deps) == 1 and open_deps[0]["status"] == "EXEC":
                picked = (job, await raw.job(open_deps[0]["id"]))
                break
        assert picked is not None, "the normal night has a job waiting behind a running one"
        job, running = picked
        started = datetime.fromisoformat(running["actualStart"].replace("Z", "+00:00"))
        reply = await asked(ask, client, f"why is {job['name']} late")
        assert f"{running['name']} still running since {started:%H:%M} UTC" in reply.headline
