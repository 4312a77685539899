"""Asking to change the plan in chat: the assistant hands the request to the runbook service."""

from __future__ import annotations

from datetime import UTC

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from qa_support import Ask, make_asker

from agents.assistant import Assistant
from agents.messages import Actions
from agents.runbooks.catalog import load_catalog
from agents.runbooks.policy import ApprovalGroups
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from bot.core.dispatcher import Dispatcher
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient


@pytest.fixture
async def ask_with_runbooks(client: TWSClient) -> Ask:
    service = RunbookService(
        catalog=load_catalog(),
        groups=ApprovalGroups.load(),
        scheduler=client,
        store=MemoryStore(),
        checkpointer=InMemorySaver(),
        signer=ButtonSigner(b"test-signing-key-0123456789"),
    )
    assistant = Assistant(
        scheduler=client, checkpointer=InMemorySaver(), zone=UTC, runbooks=service
    )
    return make_asker(Dispatcher(assistant=assistant, audit=None))


def buttons(reply: object) -> list[str]:
    return [
        button.action_id
        for block in getattr(reply, "blocks", ())
        if isinstance(block, Actions)
        for button in block.buttons
    ]


async def test_rerun_in_natural_words_shows_the_approval_card(ask_with_runbooks: Ask) -> None:
    reply = await ask_with_runbooks("rerun PAYROLL_EXTRACT")
    assert "rerun-abended-job" in reply.headline
    assert "waiting for approval" in reply.headline
    text = reply.plain_text()
    assert "MASTER#PAYROLL_DAILY.PAYROLL_EXTRACT" in text
    assert "PUT /twsd/api/v2/plan/job/" in text  # the exact call, before anything happens
    assert "never the requester" in text
    assert buttons(reply) == ["runbook.approve", "runbook.reject", "runbook.dry_run"]


async def test_rerun_it_after_why(ask_with_runbooks: Ask) -> None:
    await ask_with_runbooks("why did PAYROLL_EXTRACT abend?", channel="C-why")
    reply = await ask_with_runbooks("rerun it", channel="C-why")
    assert "MASTER#PAYROLL_DAILY.PAYROLL_EXTRACT" in reply.plain_text()
    assert "runbook.approve" in buttons(reply)


async def test_the_run_command(ask_with_runbooks: Ask) -> None:
    reply = await ask_with_runbooks("/tws run rerun-abended-job job=PAYROLL_DAILY.PAYROLL_EXTRACT")
    assert "runbook.approve" in buttons(reply)


async def test_unknown_job_queues_nothing(ask_with_runbooks: Ask) -> None:
    reply = await ask_with_runbooks("rerun ZZQX_NOTHING")
    assert reply.headline == "No job or job stream named ZZQX_NOTHING in the current plan."
    assert buttons(reply) == []


async def test_ambiguous_job_asks_which(ask_with_runbooks: Ask, client: TWSClient) -> None:
    jobs = (await client.query_jobs(name="PAY*")).value
    reply = await ask_with_runbooks("rerun PAY*")
    assert reply.headline == f"PAY* matches {len(jobs)} jobs; which one?"
    assert buttons(reply) == []


async def test_a_job_in_the_wrong_state_is_refused(
    ask_with_runbooks: Ask, client: TWSClient
) -> None:
    succeeded = (await client.query_jobs(name="PAYROLL_INIT")).value[0]
    reply = await ask_with_runbooks(f"rerun {succeeded.job_stream_name}.{succeeded.name}")
    assert buttons(reply) == []  # nothing queued, nobody asked to approve
    assert "PAYROLL_INIT is SUCC; this runbook needs ABEND or FAIL" in reply.plain_text()


async def test_without_runbooks_requests_are_refused(ask: Ask) -> None:
    reply = await ask("rerun PAYROLL_EXTRACT")
    assert reply.headline == "Runbooks are not enabled here."
