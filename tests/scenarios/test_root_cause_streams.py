"""Job streams and business words: "why did STREAM fail?", a stream's progress, "is payroll done?".

End to end over HTTP against the simulator; the expected jobs, statuses, return codes and
log lines are read from the engine's raw JSON API (aiohttp), not through Resync's client.
Phrasings the parser does not route yet ("is payroll done?", "how is billing doing") reach
the graph as the `Intent` objects the parser will give.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, NOW, Ask, make_asker, no_sleep

from agents.answers.budget import ENGINE_CALL_BUDGET
from agents.assistant import Assistant
from agents.graph import deterministic_understander
from agents.intents import Intent, IntentKind
from agents.messages import Context, Reply, Table, Tone
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

API = "/twsd/api/v2"
FAILED = {"ABEND", "FAIL", "ERROR"}
FINISHED = FAILED | {"SUCC", "SUCCP", "CANCL", "SUPPR", "DONE", "ABENP"}

ROUTED = {
    "is payroll done?": Intent(kind=IntentKind.STATUS, subject="PAYROLL"),
    "how is billing doing": Intent(kind=IntentKind.STATUS, subject="BILLING"),
}


async def routed(text: str, focus: str | None, last_kind: IntentKind | None) -> Intent:
    return ROUTED.get(text) or await deterministic_understander(text, focus, last_kind)


class Engine:
    """The simulator's JSON API, read directly."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def rows(self, path: str, oql: str | None = None) -> list[dict[str, Any]]:
        params = {"limit": "500", **({"oql": oql} if oql else {})}
        async with self.session.get(self.url + API + path, params=params) as response:
            assert response.status == 200
            body = await response.json()
        assert "next" not in body
        return list(body["results"])

    async def jobs(self, stream: str) -> list[dict[str, Any]]:
        return await self.rows("/plan/job", f"jobStreamName = '{stream}'")

    async def streams(self) -> list[dict[str, Any]]:
        return await self.rows("/plan/jobstream")

    async def log(self, run_id: str) -> str:
        async with self.session.get(f"{self.url}{API}/plan/job/run/{run_id}/joblog") as response:
            assert response.status == 200
            return await response.text()


def status(row: dict[str, Any]) -> str:
    return str(row["status"]["internalStatus"])


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[tuple[Ask, TWSClient, Engine]]:
    async with (
        SimulatorServer(
            scenario="normal", speed=0, now=NOW, control=True, api_keys=[API_KEY]
        ) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY, sleep=no_sleep) as client,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        assistant = Assistant(
            scheduler=client, checkpointer=saver, zone=ZoneInfo("UTC"), understander=routed
        )
        ask = make_asker(Dispatcher(assistant=assistant, audit=None))
        yield ask, client, Engine(session, sim.url)


async def asked(ask: Ask, client: TWSClient, text: str) -> Reply:
    before = client.calls_made
    reply = await ask(text, channel=f"C-{text}")
    assert client.calls_made - before < ENGINE_CALL_BUDGET
    small = " ".join(i for b in reply.blocks if isinstance(b, Context) for i in b.items)
    assert "As of Mon 23 Nov 23:30 UTC" in small, small
    assert client.source in small
    return reply


@pytest.mark.parametrize(
    ("stream", "code"), [("BILLING_USAGE", "ORA-00060"), ("PAYROLL_DAILY", "ORA-01555")]
)
async def test_why_did_a_job_stream_fail_explains_its_failed_job(
    night: tuple[Ask, TWSClient, Engine], stream: str, code: str
) -> None:
    ask, client, engine = night
    jobs = await engine.jobs(stream)
    (failed,) = [job for job in jobs if status(job) in FAILED]
    log = await engine.log(failed["runId"])
    line = next(raw.strip() for raw in log.splitlines() if code in raw)
    reply = await asked(ask, client, f"why did {stream} fail?")
    assert reply.headline.startswith(
        f"Job stream {stream} is STUCK: {failed['name']} {status(failed)} "
        f"with return code {failed['returnCode']} at "
    ), reply.headline
    assert line in reply.headline
    text = reply.plain_text()
    assert "What to do:" in text
    waiting = [job["name"] for job in jobs if status(job) not in FINISHED]
    assert f"{len(waiting)} jobs of the stream wait behind it" in text
    for name in waiting:
        assert name in text
    assert "does not release its successors" in text
    assert reply.tone is Tone.ERROR


async def test_why_did_a_finished_stream_fail_says_it_did_not(
    night: tuple[Ask, TWSClient, Engine],
) -> None:
    ask, client, engine = night
    done = next(s for s in await engine.streams() if s["status"]["internalStatus"] == "SUCC")
    count = len(await engine.jobs(done["name"]))
    reply = await asked(ask, client, f"why did {done['name']} fail?")
    assert reply.headline == (
        f"Job stream {done['name']} did not fail: it is SUCC, {count} of {count} jobs done."
    )


async def test_status_of_a_stream_says_what_is_left_and_what_holds_it(
    night: tuple[Ask, TWSClient, Engine],
) -> None:
    ask, client, engine = night
    jobs = await engine.jobs("PAYROLL_DAILY")
    left = [job["name"] for job in jobs if status(job) not in FINISHED]
    (failed,) = [job for job in jobs if status(job) in FAILED]
    reply = await asked(ask, client, "status of PAYROLL_DAILY")
    text = reply.plain_text()
    assert f"Left to run ({len(left)}): " in text
    for name in left:
        assert f"{name} (HOLD)" in text
    assert (
        f"What holds it: PAYROLL_DAILY ← {failed['name']} ABEND rc {failed['returnCode']}."
    ) in text


@pytest.mark.parametrize("text", ["status of payroll", "is payroll done?"])
async def test_a_business_word_naming_one_stream_gets_its_progress(
    night: tuple[Ask, TWSClient, Engine], text: str
) -> None:
    ask, client, engine = night
    matching = [s["name"] for s in await engine.streams() if "PAYROLL" in s["name"].split("_")]
    assert matching == ["PAYROLL_DAILY"]
    jobs = await engine.jobs("PAYROLL_DAILY")
    done = sum(1 for job in jobs if status(job) in FINISHED - FAILED)
    reply = await asked(ask, client, text)
    assert reply.headline.startswith(
        f"Job stream PAYROLL_DAILY is STUCK: {done} of {len(jobs)} jobs done, 1 failed."
    ), reply.headline
    assert "PAYROLL means job stream PAYROLL_DAILY" in reply.plain_text()
    assert "Left to run" in reply.plain_text()


@pytest.mark.parametrize("text", ["how is billing doing", "why is billing stuck?"])
async def test_a_business_word_naming_several_streams_asks_which(
    night: tuple[Ask, TWSClient, Engine], text: str
) -> None:
    ask, client, engine = night
    streams = {s["name"]: s for s in await engine.streams() if "BILLING" in s["name"].split("_")}
    assert len(streams) == 4
    reply = await asked(ask, client, text)
    names = ", ".join(sorted(streams))
    assert reply.headline == f"BILLING matches 4 job streams: {names}. Which one?"
    (table,) = [block for block in reply.blocks if isinstance(block, Table)]
    assert {row[0]: row[1] for row in table.rows} == {
        name: stream["status"]["internalStatus"] for name, stream in streams.items()
    }
