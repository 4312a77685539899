"""Grammar over HTTP: several workstations, plain words asked back, small talk, down agents.

Facts come from the simulator's own REST API read with plain HTTP (`questions_sim_api`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import Ask, make_asker, no_sleep
from questions_sim_api import FAILED, KEY, SimApi, simulator, status

from agents.assistant import Assistant
from agents.messages import Table
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient


@dataclass
class Night:
    api: SimApi
    ask: Ask
    client: TWSClient


async def _night(scenario: str, tmp_path: Path) -> AsyncIterator[Night]:
    async with (
        simulator(scenario) as api,
        TWSClient(base_url=api.url, api_key=KEY, sleep=no_sleep) as client,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        ask = make_asker(Dispatcher(assistant=assistant, audit=None))
        yield Night(api=api, ask=ask, client=client)


@pytest.fixture
async def normal(tmp_path: Path) -> AsyncIterator[Night]:
    async for night in _night("normal", tmp_path):
        yield night


@pytest.fixture
async def agent_down(tmp_path: Path) -> AsyncIterator[Night]:
    async for night in _night("agent-down", tmp_path):
        yield night


def names(text_blocks: object) -> list[str]:
    return [row[0] for b in text_blocks if isinstance(b, Table) for row in b.rows]  # type: ignore[attr-defined]


async def test_failed_on_two_workstations_lists_each(normal: Night) -> None:
    every = await normal.api.jobs()
    by_station = {
        ws: sorted(
            j["name"] for j in every if status(j) in FAILED and j["workstationKey"]["name"] == ws
        )
        for ws in ("AGT_LNX01", "AGT_LNX03")
    }
    reply = await normal.ask("show me what's failed on AGT_LNX01 and AGT_LNX03", channel="ws2")
    assert sorted(names(reply.blocks)) == sorted(by_station["AGT_LNX01"] + by_station["AGT_LNX03"])
    assert "on AGT_LNX01" in reply.headline, reply.headline
    assert "on AGT_LNX03" in reply.headline, reply.headline


@pytest.mark.parametrize(
    "question", ["can you check the thingy on the box", "what's the vibe", "PLEASE ADVISE"]
)
async def test_plain_words_are_asked_back_never_looked_up_as_names(
    normal: Night, question: str
) -> None:
    reply = await normal.ask(question, channel=question)
    assert "No job or job stream named" not in reply.plain_text()
    unquoted = "".join(part for i, part in enumerate(reply.plain_text().split("'")) if i % 2 == 0)
    assert "?" in unquoted, reply.plain_text()  # it asks what was meant


async def test_small_talk_is_brief_and_reads_nothing(normal: Night) -> None:
    before = normal.client.calls_made
    for question, expected in (
        ("hi", "Hello."),
        ("thanks a lot, bye", "You're welcome."),
        ("cheers, that's all for now", "You're welcome."),
    ):
        reply = await normal.ask(question, channel="small")
        assert reply.headline.startswith(expected), reply.headline
    assert normal.client.calls_made == before


async def test_is_it_done_without_a_subject_asks_which_job(normal: Night) -> None:
    reply = await normal.ask("is it done?", channel="which")
    assert reply.headline.startswith("Which job?"), reply.headline
    every = await normal.api.jobs()
    job = next(j for j in every if status(j) == "SUCC")
    await normal.ask(f"status of {job['name']}", channel="which")
    reply = await normal.ask("isn't it done?", channel="which")
    assert reply.headline.startswith(f"{job['name']} is SUCC"), reply.headline


async def test_eta_behind_a_down_workstation_says_so(agent_down: Night) -> None:
    stations = await agent_down.api.workstations()
    down = {ws["name"] for ws in stations if not ws["linked"] or not ws["running"]}
    assert down == {"AGT_LNX02"}
    every = await agent_down.api.jobs()
    ready = next(j for j in every if status(j) == "READY" and j["workstationKey"]["name"] in down)
    reply = await agent_down.ask(f"when will {ready['name']} finish?", channel="eta-down")
    assert reply.headline.startswith(
        f"{ready['name']} cannot finish until workstation AGT_LNX02 is back (unlinked)"
    ), reply.headline
    stream = ready["jobStreamInPlan"]["name"]
    reply = await agent_down.ask(f"when is {stream} going to be done?", channel="eta-down-2")
    assert "until workstation AGT_LNX02 (unlinked) is back" in reply.headline, reply.headline
