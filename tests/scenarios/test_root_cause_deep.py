"""Root cause through deep chains: "what does X wait on?" for jobs and job streams, month-end.

End to end over HTTP: Dispatcher -> graph (the real parser) -> TWSClient -> simulator. The
expected causes and chains come from an independent walk over the engine's raw JSON API
(`test_root_cause.roots_upstream`, plain aiohttp) and its ground truth (``/_sim/truth``).
The walk uses the predecessors the plan rows carry (``dependencies``): a deep chain costs a
handful of calls. A real HTTP proxy in front of the simulator counts the walk's reads and,
as an engine that does not send them, strips ``dependencies`` from every job row: the walk
then reads ``/predecessors`` per job, and says where it stopped when its reads run out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from engine_proxy_support import Proxy, proxied
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, NOW, Ask, make_asker, no_sleep
from test_root_cause import (
    RELEASING,
    Raw,
    asked,
    expected_chain,
    failed_text,
    night,
    roots_upstream,
    status_of,
)

from agents.answers.budget import ENGINE_CALL_BUDGET, budget_for
from agents.assistant import Assistant
from agents.intents import IntentKind
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

FEW_CALLS = 16
"""A deep walk with inline predecessors: the name, the job stream, workstations, a list per
job stream crossed and a read where the chain enters one (one read per job: 40 and more)."""


async def test_a_job_stream_asked_what_it_waits_on_is_walked_to_the_failure(
    tmp_path: Path,
) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        jobs = [
            j for j in await raw.stream_jobs("BILLING_INVOICE") if status_of(j) not in RELEASING
        ]
        assert jobs
        assert all(status_of(j) == "HOLD" for j in jobs)
        roots = await roots_upstream(raw, jobs)
        truth = {failure["name"] for failure in (await raw.truth())["failures"]}
        assert roots
        assert {f"{r.job['jobStreamInPlan']['name']}.{r.job['name']}" for r in roots} <= truth
        before = client.calls_made
        reply = await asked(ask, client, "what is BILLING_INVOICE waiting on?")
        assert client.calls_made - before <= FEW_CALLS
        assert "needs a job" not in reply.headline
        assert reply.headline.startswith("Job stream BILLING_INVOICE has not finished")
        for root in roots:
            chain = expected_chain("BILLING_INVOICE", root, failed_text(root.job))
            assert chain in reply.headline, (chain, reply.headline)
        assert "does not release what waits for it" in reply.plain_text()


async def test_what_a_job_waits_for_names_the_failure_further_up(tmp_path: Path) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        job = await raw.job_named("GL_CLOSE_REPORT")
        direct = [d for d in await raw.preds(job["id"]) if d["status"] not in RELEASING]
        roots = await roots_upstream(raw, [job])
        assert {r.job["name"] for r in roots} == {"PAYROLL_EXTRACT", "BILLING_CDR_DEDUP"}
        assert min(len(r.names) for r in roots) >= 3  # the failures are three levels up or more
        reply = await asked(ask, client, "what's GL_CLOSE_REPORT waiting for?")
        pending = ", ".join(f"{d['name']} ({d['status']})" for d in direct)
        assert reply.headline.startswith(
            f"GL_CLOSE_REPORT has 1 predecessor; 1 still holding it: {pending}. Root cause: "
        ), reply.headline
        for root in roots:
            chain = expected_chain("GL_CLOSE_REPORT", root, failed_text(root.job))
            assert chain in reply.headline, (chain, reply.headline)
        text = reply.plain_text()
        for root in roots:
            for name in root.names:
                assert name in text  # step by step
        assert "do not release what waits for them" in text


async def test_a_failed_direct_predecessor_is_not_repeated_as_a_root_cause(
    tmp_path: Path,
) -> None:
    async with night("normal", tmp_path) as (ask, client, raw):
        extract = await raw.job_named("PAYROLL_EXTRACT")
        assert status_of(extract) == "ABEND"
        reply = await asked(ask, client, "what does PAYROLL_VALIDATE wait for?")
        assert reply.headline == (
            "PAYROLL_VALIDATE has 1 predecessor; 1 still holding it: PAYROLL_EXTRACT (ABEND)."
        ), reply.headline
        assert "does not release what waits for it" in reply.plain_text()


async def test_month_end_names_the_failures_behind_a_deep_chain_in_a_few_calls(
    tmp_path: Path,
) -> None:
    async with night("month-end", tmp_path) as (ask, client, raw):
        jobs = [j for j in await raw.stream_jobs("EDW_MARTS") if status_of(j) not in RELEASING]
        roots = await roots_upstream(raw, jobs)
        failed = [r for r in roots if status_of(r.job) == "ABEND"]
        assert {r.job["name"] for r in failed} == {"ETL_SALES_INIT", "ETL_INVENTORY_INIT"}
        assert min(len(r.names) for r in failed) >= 10  # deeper than a walk of reads reaches
        before = client.calls_made
        reply = await asked(ask, client, "why is EDW_MARTS not running")
        assert client.calls_made - before <= FEW_CALLS, client.calls_made - before
        for root in failed:
            chain = expected_chain("EDW_MARTS", root, failed_text(root.job))
            assert chain in reply.headline, (chain, reply.headline)
        assert "I stopped" not in reply.plain_text()


@asynccontextmanager
async def proxied_night(
    scenario: str, tmp_path: Path, *, strip: bool, call_budget: int = ENGINE_CALL_BUDGET
) -> AsyncIterator[tuple[Ask, TWSClient, Raw, Proxy]]:
    async with (
        SimulatorServer(
            scenario=scenario, speed=0, now=NOW, control=True, api_keys=[API_KEY]
        ) as sim,
        proxied(sim.url, strip=strip) as proxy,
        TWSClient(base_url=proxy.url, api_key=API_KEY, sleep=no_sleep) as client,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        assistant = Assistant(
            scheduler=client,
            checkpointer=saver,
            zone=ZoneInfo("UTC"),
            call_budget=call_budget,
        )
        ask = make_asker(Dispatcher(assistant=assistant, audit=None))
        yield ask, client, Raw(session, sim.url), proxy


async def test_without_inline_predecessors_the_walk_reads_them(tmp_path: Path) -> None:
    async with proxied_night("normal", tmp_path, strip=True) as (ask, client, raw, proxy):
        calc = await raw.job_named("PAYROLL_CALC")
        roots = await roots_upstream(raw, [calc])
        assert [r.job["name"] for r in roots] == ["PAYROLL_EXTRACT"]
        reply = await asked(ask, client, "what does PAYROLL_CALC wait for?")
        chain = expected_chain("PAYROLL_CALC", roots[0], failed_text(roots[0].job))
        assert reply.headline.endswith(f"Root cause: {chain}."), reply.headline
        # PAYROLL_CALC's list for the table, then one per waiting job of the walk.
        assert proxy.predecessor_reads >= len(roots[0].names) + 1


async def test_without_inline_predecessors_a_small_budget_says_where_it_stopped(
    tmp_path: Path,
) -> None:
    night = proxied_night("agent-down", tmp_path, strip=True, call_budget=20)
    async with night as (ask, client, _raw, proxy):
        reply = await asked(ask, client, "why is RPT_REGULATORY late", budget=20)
        assert reply.headline.startswith("Job stream RPT_REGULATORY has not finished")
        text = reply.plain_text()
        assert "I stopped after looking at the predecessors of" in text
        assert "not followed further: " in text
        assert 0 < proxy.predecessor_reads < 20


async def test_with_inline_predecessors_a_small_budget_reads_the_plan_once(
    tmp_path: Path,
) -> None:
    night = proxied_night("agent-down", tmp_path, strip=False, call_budget=12)
    async with night as (ask, client, raw, proxy):
        jobs = [j for j in await raw.stream_jobs("RPT_REGULATORY") if status_of(j) not in RELEASING]
        every = await roots_upstream(raw, jobs)
        reply = await asked(ask, client, "why is RPT_REGULATORY late", budget=12)
        text = reply.plain_text()
        assert "I stopped" not in text
        assert proxy.plan_reads == 1  # the stream-by-stream reads ran out: the plan, once
        unnamed = [r.job["name"] for r in every if r.job["name"] not in text]
        assert not unnamed, unnamed


def test_an_eta_gets_the_plan_walk_budget() -> None:
    # "when will X finish?" forecasts every unfinished job upstream of X.
    assert budget_for(IntentKind.ETA, default=50, plan_walk=2000) == 2000
    assert budget_for(IntentKind.WHY, default=50, plan_walk=2000) == 50
