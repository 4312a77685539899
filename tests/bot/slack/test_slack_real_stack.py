"""The real stack behind Slack: simulator over HTTP, TWS client, the assistant, the dispatcher."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from langgraph.checkpoint.memory import InMemorySaver
from slack_support import (
    BOT_USER,
    RecordingAudit,
    assert_valid_blocks,
    mention_envelope,
    slack_harness,
)

from agents.assistant import Assistant
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)


async def test_tws_failed_answers_with_real_job_names() -> None:
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
        audit = RecordingAudit()
        dispatcher = Dispatcher(assistant=assistant, audit=audit)
        async with slack_harness(dispatcher=dispatcher) as h:
            await h.command("failed")
            await h.settle()
            (answer,) = h.mock.of("chat.update")
            assert_valid_blocks(answer["blocks"])
            shown = json.dumps(answer["blocks"])
            assert "failed" in answer["text"]
            for job in ("PAYROLL_EXTRACT", "AP_SELECT_INVOICES", "TRE_BANK_PARSE"):
                assert job in shown
            # a follow-up mention in the answer's thread continues the same conversation
            await h.event(
                mention_envelope(
                    f"<@{BOT_USER}> why PAYROLL_EXTRACT",
                    event_id="EvWhy",
                    ts="1700000009.1",
                    thread_ts=answer["ts"],
                )
            )
            await h.settle()
            why = h.mock.of("chat.update")[-1]
            assert_valid_blocks(why["blocks"])
            assert "PAYROLL_EXTRACT" in why["text"]
            # both questions belong to one conversation: the thread of the first answer
            first, second = audit.actions("question")
            assert first["thread"] == second["thread"] == answer["ts"]
