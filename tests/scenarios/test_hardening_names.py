"""Name lookups stay bounded: a cached name the engine no longer returns, and the call budget.

End to end against the simulator over HTTP. The plan changes under the name cache the way
it does on a real master after a plan extension: the engine at the same address serves a
plan without PAYROLL_DAILY's jobs (a second simulator on the same port).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, NOW, Ask, RecordingAudit, make_asker, no_sleep

from agents.answers.budget import ENGINE_CALL_BUDGET
from agents.assistant import Assistant
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

TYPO = "PAYRLL_EXTRCT"  # close enough to PAYROLL_EXTRACT for a confident correction


def engine_calls(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line.get("event") == "answer.engine_calls"]


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.db")) as saver:
        yield saver


async def test_a_cached_name_that_left_the_plan_gets_a_clear_answer_in_a_few_calls(
    tmp_path: Path,
    saver: AsyncSqliteSaver,
    read_logs: Callable[[], list[dict[str, Any]]],
) -> None:
    without_payroll = tmp_path / "payroll-gone.yaml"
    without_payroll.write_text("empty_streams: [PAYROLL_DAILY]\n", encoding="utf-8")
    first = SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[API_KEY])
    await first.start()
    port = int(first.url.rsplit(":", 1)[1])
    async with TWSClient(base_url=first.url, api_key=API_KEY, sleep=no_sleep) as client:
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        ask: Ask = make_asker(Dispatcher(assistant=assistant, audit=RecordingAudit()))
        corrected = await ask(f"status of {TYPO}", thread="t1")
        # The correction read the plan's names into the cache, PAYROLL_EXTRACT among them.
        assert corrected.headline.startswith("PAYROLL_EXTRACT is"), corrected.headline
        await first.stop()
        second = SimulatorServer(
            scenario=str(without_payroll), port=port, speed=0, now=NOW, api_keys=[API_KEY]
        )
        async with second:
            assert (await client.query_jobs(name="PAYROLL_EXTRACT")).value == []
            before = client.calls_made
            reply = await ask(f"status of {TYPO}", thread="t2")
            calls = client.calls_made - before

            # A third question reads the names afresh: the stale one is not offered again.
            again = await ask(f"status of {TYPO}", thread="t3")

    assert calls < ENGINE_CALL_BUDGET, calls
    assert reply.headline == f"No job or job stream named {TYPO} in the current plan."
    text = reply.plain_text()
    assert "The closest name I know is PAYROLL_EXTRACT, but TWS did not return it" in text
    assert "Try a wildcard such as PAY*" in text
    assert again.headline == f"No job or job stream named {TYPO} in the current plan."
    assert "PAYROLL_EXTRACT" not in again.plain_text()
    logged = engine_calls(read_logs())
    assert [line["kind"] for line in logged] == ["status", "status", "status"]
    assert 0 < logged[1]["calls"] <= calls
    assert not any(line["exhausted"] for line in logged)
    assert all(line["conversation"].endswith(":t" + str(n)) for n, line in enumerate(logged, 1))


async def test_a_question_that_needs_more_calls_than_its_budget_stops_with_an_answer(
    client: TWSClient,
    saver: AsyncSqliteSaver,
    read_logs: Callable[[], list[dict[str, Any]]],
) -> None:
    assistant = Assistant(
        scheduler=client, checkpointer=saver, zone=UTC, call_budget=2, plan_walk_call_budget=10
    )
    ask = make_asker(Dispatcher(assistant=assistant, audit=RecordingAudit()))
    before = client.calls_made

    # The whole downstream walk reads every successor: about 20 reads on this plan.
    walk = await ask("what depends on PAYROLL_EXTRACT?", thread="walk")
    stream = await ask("status of PAYROLL_DAILY", thread="stream")  # 3 reads

    assert walk.headline == (
        "I stopped looking up PAYROLL_EXTRACT: TWS did not give me what I needed after 10 requests."
    )
    assert stream.headline == (
        "I stopped looking up PAYROLL_DAILY: TWS did not give me what I needed after 2 requests."
    )
    assert "JOB_STREAM.JOB" in stream.plain_text()
    logged = engine_calls(read_logs())
    assert [(line["kind"], line["calls"], line["exhausted"]) for line in logged] == [
        ("successors", 10, True),
        ("status", 2, True),
    ]
    # The refused reads never reached the engine.
    assert client.calls_made - before <= 10 + 2 + 2  # plus at most one extra page per query
