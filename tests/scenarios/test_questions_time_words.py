"""Deadlines, ETAs, what changed, knowledge, small talk and ops words, over HTTP.

Facts come from the simulator's own REST API read with plain HTTP, and the corpus file read
as YAML (`questions_sim_api`), never from Resync's client, models or answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import Ask, make_asker, no_sleep
from questions_sim_api import FAILED, KEY, NOW, SimApi, at, clock, seconds, simulator, status

from agents.assistant import Assistant
from agents.messages import Context, Reply
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient

SCENARIOS = ("normal", "month-end", "agent-down")
DONE = ("SUCC", "SUCCP", "ABEND", "ABENP", "FAIL", "ERROR", "CANCL", "DONE", "SUPPR")


@dataclass
class Night:
    api: SimApi
    ask: Ask
    client: TWSClient


@pytest.fixture(params=SCENARIOS)
async def night(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Night]:
    async with (
        simulator(request.param) as api,
        TWSClient(base_url=api.url, api_key=KEY, sleep=no_sleep) as client,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        yield Night(
            api=api, ask=make_asker(Dispatcher(assistant=assistant, audit=None)), client=client
        )


def small_print(reply: Reply) -> str:
    return " ".join(item for b in reply.blocks if isinstance(b, Context) for item in b.items)


def assert_sourced(reply: Reply, api: SimApi) -> None:
    text = small_print(reply)
    assert "As of" in text, text
    assert "23:30 UTC" in text, text
    assert api.url.removeprefix("http://") in text, text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def late_now(every: list[dict[str, Any]]) -> set[str]:
    """Late: flagged by the engine, or its deadline passed while it has not done its work."""
    late = set()
    for job in every:
        deadline = at(job.get("deadline"))
        not_done = status(job) in FAILED or status(job) not in DONE
        if job.get("late") or (deadline is not None and deadline < NOW and not_done):
            late.add(job["name"])
    return late


@pytest.mark.parametrize("question", ["any SLA breaches?", "which SLAs did we miss?", "deadlines?"])
async def test_deadline_words_lead_to_the_lateness_answer(night: Night, question: str) -> None:
    late = late_now(await night.api.jobs())
    reply = await night.ask(question, channel=question)
    if late:
        assert reply.headline.startswith(f"{plural(len(late), 'job')} late, "), reply.headline
    else:
        assert "late" in reply.headline.lower(), reply.headline
    assert_sourced(reply, night.api)


async def test_when_will_a_job_finish_gives_its_eta_and_basis(night: Night) -> None:
    every = await night.api.jobs()
    running = [
        job
        for job in every
        if status(job) == "EXEC" and job.get("estimatedDuration") and job.get("actualStart")
    ]
    assert running
    job = running[0]
    end = max(NOW, at(job["actualStart"]) + seconds(job["estimatedDuration"]))  # type: ignore[operator]
    reply = await night.ask(f"when will {job['name']} finish?", channel="eta1")
    assert reply.headline.startswith(f"{job['name']} is expected to finish around "), reply.headline
    assert clock(end) in reply.headline, (clock(end), reply.headline)
    assert "running since " + clock(at(job["actualStart"])) in reply.headline  # type: ignore[arg-type]
    assert "Basis: typical durations" in small_print(reply)
    assert_sourced(reply, night.api)

    failed = next(job for job in every if status(job) in FAILED)
    reply = await night.ask(f"what's the ETA of {failed['name']}?", channel="eta2")
    assert reply.headline.startswith(f"{failed['name']} will not finish on its own"), reply.headline

    succeeded = next(job for job in every if status(job) == "SUCC")
    reply = await night.ask(f"when will {succeeded['name']} be done?", channel="eta3")
    ended = clock(at(succeeded["actualEnd"]))  # type: ignore[arg-type]
    assert reply.headline == f"{succeeded['name']} has already finished: SUCC at {ended}."


async def test_what_changed_since_22_and_in_the_last_hour(night: Night) -> None:
    every = await night.api.jobs()
    for question, start in (
        ("what changed since 22:00?", NOW.replace(hour=22, minute=0)),
        ("anything new in the last hour?", NOW - timedelta(hours=1)),
        ("what happened since 10pm?", NOW.replace(hour=22, minute=0)),
    ):

        def within(value: str | None, start: Any = start) -> bool:
            moment = at(value)
            return moment is not None and moment >= start

        failed = [j for j in every if status(j) in FAILED and within(j.get("actualEnd"))]
        done = [j for j in every if status(j) in ("SUCC", "SUCCP") and within(j.get("actualEnd"))]
        running = [j for j in every if status(j) not in DONE and within(j.get("actualStart"))]
        reply = await night.ask(question, channel=question)
        assert reply.headline.startswith(f"Since {clock(start)} "), reply.headline
        assert f": {plural(len(failed), 'job')} failed, {len(done)} completed," in reply.headline
        assert f"{len(running)} started and still running" in reply.headline
        text = reply.plain_text()
        for job in failed:
            assert job["name"] in text
        assert_sourced(reply, night.api)


async def test_a_rerun_shows_in_what_changed(night: Night) -> None:
    every = await night.api.jobs()
    failed = next(job for job in every if status(job) in ("ABEND", "FAIL"))
    code, _ = await night.api.put(f"/plan/job/{failed['id']}/action/rerun")
    assert code == 200
    after = await night.api.get(f"/plan/job/{failed['id']}")
    assert after["rerunCount"] == 1
    reply = await night.ask("what changed in the last 15 minutes?", channel="rr")
    assert "1 rerun" in reply.headline, reply.headline
    assert failed["name"] in reply.plain_text()


def corpus_entry(code: str) -> dict[str, str]:
    text = (files("knowledge") / "corpus" / "codes.yaml").read_text(encoding="utf-8")
    return next(e for e in yaml.safe_load(text)["entries"] if e["code"] == code)


async def test_a_code_the_engine_returned_is_explained_from_the_corpus(night: Night) -> None:
    every = await night.api.jobs()
    failed = next(job for job in every if status(job) == "ABEND")
    code, body = await night.api.put(f"/plan/job/{failed['id']}/action/hold")
    assert code == 400
    message = body["messages"][0]
    engine_code = message.split()[0]
    assert engine_code == "AWSBIN076E"
    entry = corpus_entry(engine_code)
    before = night.client.calls_made
    reply = await night.ask(f"what does {engine_code} mean?", channel="k1")
    assert night.client.calls_made == before  # the corpus, not the engine
    text = reply.plain_text()
    assert entry["meaning"] in text
    assert entry["action"] in text
    assert f"codes.yaml, entry {engine_code}" in small_print(reply)

    reply = await night.ask("how do I fix ORA-01555?", channel="k2")
    patterns = yaml.safe_load(
        (files("knowledge") / "corpus" / "patterns.yaml").read_text(encoding="utf-8")
    )["patterns"]
    snapshot = next(p for p in patterns if "ORA-01555" in p["name"])
    assert snapshot["meaning"] in reply.plain_text()
    assert snapshot["action"] in reply.plain_text()
    assert "patterns.yaml" in small_print(reply)


@pytest.mark.parametrize(
    "question",
    [
        "anything after 10PM?",
        "ANOMALIES?",
        "ETA?",
        "SLA?",
        "why isn't it running?",
        "hi",
        "thanks!",
    ],
)
async def test_ops_words_and_small_talk_are_never_job_names(night: Night, question: str) -> None:
    every = await night.api.jobs()
    plan_names = {job["name"] for job in every} | {job["jobStreamInPlan"]["name"] for job in every}
    reply = await night.ask(question, channel=question)
    text = reply.plain_text()
    assert "No job or job stream named" not in text, text
    assert "I did not understand" not in reply.headline or question in ("ETA?",), text
    for word in ("10PM", "ANOMALIES", "ETA", "SLA", "ISN"):
        assert word not in plan_names
        assert f"named {word}" not in text
