"""Bad input and engine faults: one clear sentence, one structured log line, no traceback, no hang."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from typing import Any

import aiohttp
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from qa_support import API_KEY, NOW, Ask, make_asker, no_sleep

from agents.assistant import Assistant
from agents.messages import Reply, Tone
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

ReadLogs = Callable[[], list[dict[str, Any]]]


async def set_faults(sim: SimulatorServer, **faults: object) -> None:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
        session.put(f"{sim.url}/_sim/faults", json=faults) as response,
    ):
        assert response.status == 200, await response.text()


def asker(client: TWSClient, *, timeout: float = 10.0) -> Ask:
    assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
    return make_asker(Dispatcher(assistant=assistant, audit=None, answer_timeout_seconds=timeout))


def assert_clean_failure(reply: Reply, read_logs: ReadLogs, *, error: str) -> None:
    assert reply.tone is Tone.ERROR
    text = reply.plain_text()
    assert "Traceback" not in text
    assert "twsd/api" not in text  # internals stay in the log
    failed = [line for line in read_logs() if line.get("event") == "question.failed"]
    assert failed, read_logs()
    assert failed[-1]["error"] == error
    assert failed[-1]["detail"]  # names the call and the engine's answer


async def test_engine_down(read_logs: ReadLogs) -> None:
    async with SimulatorServer(speed=0, now=NOW, api_keys=[API_KEY]) as sim:
        url = sim.url
    # The simulator is gone: connection refused.
    async with TWSClient(base_url=url, api_key=API_KEY, retries=1, sleep=no_sleep) as client:
        reply = await asker(client)("what failed tonight?")
    assert reply.headline.startswith("I could not reach TWS"), reply.headline
    assert_clean_failure(reply, read_logs, error="TWSUnavailableError")


async def test_engine_too_slow(sim: SimulatorServer, read_logs: ReadLogs) -> None:
    await set_faults(sim, latencyMs=3000)
    async with TWSClient(
        base_url=sim.url, api_key=API_KEY, timeout_seconds=0.3, retries=0
    ) as client:
        started = asyncio.get_running_loop().time()
        reply = await asker(client)("status of PAYROLL_EXTRACT")
        elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < 2.5  # never a hang
    assert "did not answer in time" in reply.headline, reply.headline
    assert_clean_failure(reply, read_logs, error="TWSUnavailableError")


async def test_answer_time_limit(sim: SimulatorServer, read_logs: ReadLogs) -> None:
    await set_faults(sim, latencyMs=3000)
    async with TWSClient(base_url=sim.url, api_key=API_KEY, timeout_seconds=30) as client:
        reply = await asker(client, timeout=0.3)("what failed tonight?")
    assert reply.headline == "That took too long, so I stopped."
    assert_clean_failure(reply, read_logs, error="TimeoutError")


async def test_bad_credentials(sim: SimulatorServer, read_logs: ReadLogs) -> None:
    async with TWSClient(base_url=sim.url, user="twsuser", password="wrong") as client:
        reply = await asker(client)("what failed tonight?")
    assert reply.headline == "TWS refused my credentials."
    assert_clean_failure(reply, read_logs, error="TWSAuthError")


async def test_malformed_engine_answer(sim: SimulatorServer, read_logs: ReadLogs) -> None:
    await set_faults(sim, malformedRate=1.0)
    async with TWSClient(base_url=sim.url, api_key=API_KEY) as client:
        reply = await asker(client)("what failed tonight?")
    assert reply.headline == "TWS answered something I could not read."
    assert_clean_failure(reply, read_logs, error="TWSProtocolError")


async def test_a_5xx_burst_is_ridden_out(sim: SimulatorServer) -> None:
    await set_faults(sim, burst5xx=2)
    async with TWSClient(base_url=sim.url, api_key=API_KEY, retries=2, sleep=no_sleep) as client:
        reply = await asker(client)("status of PAYROLL_EXTRACT")
    assert "PAYROLL_EXTRACT" in reply.headline
    assert reply.tone is Tone.ERROR  # the job abended; the answer itself is not a failure
    assert "could not reach" not in reply.headline


@pytest.mark.parametrize("question", ["status of ZZQX_NOTHING", "why did ZZQX_NOTHING fail?"])
async def test_unknown_job(sim: SimulatorServer, question: str) -> None:
    async with TWSClient(base_url=sim.url, api_key=API_KEY) as client:
        reply = await asker(client)(question)
    assert reply.headline == "No job or job stream named ZZQX_NOTHING in the current plan."


async def test_ambiguous_name_asks_which(sim: SimulatorServer) -> None:
    async with TWSClient(base_url=sim.url, api_key=API_KEY) as client:
        jobs = (await client.query_jobs(name="PAY*")).value
        reply = await asker(client)("what depends on PAY*?")
    assert reply.headline == f"PAY* matches {len(jobs)} jobs; which one?"
