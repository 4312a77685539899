"""Counts, lists by workstation, READY vs HOLD vs SCHED, over HTTP on three nights.

Each answer is scored against the simulator's own REST API read with plain HTTP
(`questions_sim_api`), never against Resync's client or models.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import Ask, make_asker, no_sleep
from questions_sim_api import FAILED, KEY, SimApi, common, simulator, status

from agents.assistant import Assistant
from agents.messages import Context, Paragraph, Reply, Table
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient

SCENARIOS = ("normal", "month-end", "agent-down")


@dataclass
class Night:
    api: SimApi
    ask: Ask


@pytest.fixture(params=SCENARIOS)
async def night(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Night]:
    async with (
        simulator(request.param) as api,
        TWSClient(base_url=api.url, api_key=KEY, sleep=no_sleep) as client,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        yield Night(api=api, ask=make_asker(Dispatcher(assistant=assistant, audit=None)))


def small_print(reply: Reply) -> str:
    return " ".join(item for b in reply.blocks if isinstance(b, Context) for item in b.items)


def assert_sourced(reply: Reply, api: SimApi) -> None:
    text = small_print(reply)
    assert "As of Mon 23 Nov 23:30 UTC" in text or "As of 23:30 UTC" in text, text
    assert api.url.removeprefix("http://") in text, text


def names(reply: Reply) -> list[str]:
    return [row[0] for b in reply.blocks if isinstance(b, Table) for row in b.rows]


def jobs_word(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


async def test_how_many_jobs_in_the_plan_on_a_workstation_and_failed(night: Night) -> None:
    every = await night.api.jobs()
    on_lnx02 = await night.api.jobs("workstationName = 'AGT_LNX02'")
    failed = [job for job in every if status(job) in FAILED]
    assert every
    assert on_lnx02
    assert failed

    reply = await night.ask("how many jobs are in the plan?", channel="c1")
    assert reply.headline == f"{jobs_word(len(every))} in the current plan.", reply.headline
    assert_sourced(reply, night.api)

    reply = await night.ask("How many jobs are on AGT_LNX02?", channel="c2")
    assert reply.headline == f"{jobs_word(len(on_lnx02))} on AGT_LNX02.", reply.headline
    assert_sourced(reply, night.api)

    reply = await night.ask("how many jobs failed?", channel="c3")
    verb = "failed in the current plan."
    assert reply.headline == f"{jobs_word(len(failed))} {verb}", reply.headline
    assert_sourced(reply, night.api)


async def test_lists_on_a_workstation_and_on_it_as_a_follow_up(night: Night) -> None:
    on_lnx02 = await night.api.jobs("workstationName = 'AGT_LNX02'")
    waiting = {
        job["name"]
        for job in on_lnx02
        if status(job) in ("HOLD", "READY", "SCHED", "FENCE", "ADD", "PEND")
    }
    running = sorted(job["name"] for job in on_lnx02 if status(job) in ("EXEC", "INTRO", "WAIT"))

    reply = await night.ask("what's waiting on AGT_LNX02?", channel="w1")
    assert reply.headline.startswith(f"{jobs_word(len(waiting))} "), reply.headline
    assert "on AGT_LNX02" in reply.headline
    assert set(names(reply)) <= waiting
    assert len(names(reply)) == min(25, len(waiting))
    assert_sourced(reply, night.api)

    await night.ask("is AGT_LNX02 up?", channel="w2")
    reply = await night.ask("what's running on it?", channel="w2")
    if running:
        assert "on AGT_LNX02" in reply.headline, reply.headline
        assert sorted(names(reply)) == running
    else:
        assert reply.headline == "No job is running on AGT_LNX02 in the current plan."
    assert_sourced(reply, night.api)


async def test_a_list_on_a_workstation_that_does_not_exist_says_so(night: Night) -> None:
    stations = sorted(ws["name"] for ws in await night.api.workstations())
    reply = await night.ask("what failed on AGT_NOPE09?", channel="n1")
    assert reply.headline == "No workstation named AGT_NOPE09 in the current plan."
    assert f"Workstations: {', '.join(stations)}." in reply.plain_text()


async def test_ready_but_not_started_is_ready_and_held_gives_both_numbers(night: Night) -> None:
    every = await night.api.jobs()
    ready = sorted(job["name"] for job in every if status(job) == "READY")
    reply = await night.ask("which jobs are ready but not started?", channel="r1")
    if ready:
        assert reply.headline.startswith(f"{jobs_word(len(ready))} "), reply.headline
        assert sorted(names(reply)) == ready[:25] or len(ready) > 25
    else:
        assert reply.headline == "No job is ready but not started in the current plan."
    assert_sourced(reply, night.api)

    # An operator holds one waiting job through the engine's API.
    waiting = [job for job in every if status(job) == "HOLD" and common(job) != "HELD"]
    code, _ = await night.api.put(f"/plan/job/{waiting[0]['id']}/action/hold")
    assert code == 200
    after = await night.api.jobs("status = 'HOLD'")
    held = [job["name"] for job in after if common(job) == "HELD"]
    in_hold = [job for job in after if common(job) != "HELD"]
    assert held == [waiting[0]["name"]]

    reply = await night.ask("what is held?", channel="r2")
    assert reply.headline == "1 job is held in the current plan.", reply.headline
    assert names(reply) == held
    paragraphs = [b.text for b in reply.blocks if isinstance(b, Paragraph)]
    assert any(f"{jobs_word(len(in_hold))} in HOLD" in text for text in paragraphs), paragraphs

    reply = await night.ask("how many jobs are held?", channel="r3")
    assert reply.headline == (
        f"1 job is held by an operator in the current plan; {len(in_hold)} more are in HOLD "
        "waiting for predecessors."
    ), reply.headline
    assert_sourced(reply, night.api)


async def test_several_subjects_are_each_answered(night: Night) -> None:
    every = await night.api.jobs()
    failed_streams = sorted(
        {job["jobStreamInPlan"]["name"] for job in every if status(job) in FAILED}
    )
    assert len(failed_streams) >= 2
    first, second = failed_streams[:2]
    reply = await night.ask(f"what failed in {first} and {second}?", channel="m1")
    expected = sorted(
        job["name"]
        for job in every
        if status(job) in FAILED and job["jobStreamInPlan"]["name"] in (first, second)
    )
    assert sorted(names(reply)) == expected
    assert f"in {first}" in reply.headline, reply.headline
    assert f"in {second}" in reply.headline, reply.headline
    assert_sourced(reply, night.api)
