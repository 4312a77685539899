"""A huge job log is read to a window and still explained, against the simulator over HTTP.

The scenario pads PAYROLL_EXTRACT's log (ABEND, ORA-01555, exit status 12) with a few
megabytes of ordinary progress lines before its error lines and JOBINFO trailer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from qa_support import API_KEY, NOW, RecordingAudit, make_asker, no_sleep

from agents.assistant import Assistant
from agents.logscan import exit_status
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.scheduler import JOB_LOG_WINDOW_BYTES
from integrations.tws.simulator import SimulatorServer

MEGABYTES = 3
CHATTY_NIGHT = f"""
description: "Normal night; PAYROLL_EXTRACT writes a {MEGABYTES} MB log before it abends."
force_abend:
  - {{job: PAYROLL_DAILY.PAYROLL_EXTRACT, rc: 12, error: ora_snapshot}}
joblog_megabytes:
  PAYROLL_DAILY.PAYROLL_EXTRACT: {MEGABYTES}
"""


@pytest.fixture
async def chatty(tmp_path: Path) -> AsyncIterator[TWSClient]:
    scenario = tmp_path / "chatty.yaml"
    scenario.write_text(CHATTY_NIGHT, encoding="utf-8")
    async with (
        SimulatorServer(scenario=str(scenario), speed=0, now=NOW, api_keys=[API_KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY, sleep=no_sleep) as client,
    ):
        yield client


async def test_the_client_keeps_only_the_end_of_a_huge_log(chatty: TWSClient) -> None:
    job = (await chatty.query_jobs(name="PAYROLL_EXTRACT")).value[0]
    assert job.run_id is not None

    tail = (await chatty.job_log_tail(job.run_id)).value
    text = (await chatty.job_log(job.run_id)).value

    assert tail.truncated
    assert tail.size_bytes >= MEGABYTES * 1024 * 1024
    for kept in (tail.text, text):
        assert len(kept.encode()) <= JOB_LOG_WINDOW_BYTES
        assert kept.startswith("INFO  [main] payroll_extract - batch ")  # whole lines only
        assert "ORA-01555: snapshot too old" in kept
        assert exit_status(kept) == 12  # the JOBINFO trailer is in the window


async def test_why_on_a_huge_log_finds_the_cause_and_says_it_read_the_end(
    chatty: TWSClient,
) -> None:
    assistant = Assistant(scheduler=chatty, checkpointer=InMemorySaver(), zone=UTC)
    ask = make_asker(Dispatcher(assistant=assistant, audit=RecordingAudit()))

    reply = await ask("why did PAYROLL_EXTRACT abend?")

    assert reply.headline.startswith("PAYROLL_EXTRACT ABEND with return code 12 at "), (
        reply.headline
    )
    assert "ORA-01555" in reply.headline
    text = reply.plain_text()
    assert f"The job log is {MEGABYTES}.0 MB; I read only its last " in text
    assert "What to do:" in text  # still explained from the knowledge corpus


async def test_a_small_log_is_read_whole(chatty: TWSClient) -> None:
    job = (await chatty.query_jobs(name="BILLING_CDR_DEDUP")).value[0]
    assert job.run_id is not None

    log = (await chatty.job_log_tail(job.run_id)).value

    assert not log.truncated
    assert log.text.startswith("=" * 63)
    assert log.size_bytes == len(log.text.encode())
