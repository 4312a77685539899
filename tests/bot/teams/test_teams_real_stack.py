"""The real stack behind Teams: simulator over HTTP, TWS client, LangGraph assistant."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from teams_support import card_of, eventually, mention_of_bot, message, running_bot

from agents.assistant import Assistant
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

THREAD = "19:ops@thread.tacv2;messageid=1700000000001"
OTHER_THREAD = "19:ops@thread.tacv2;messageid=1700000000002"


async def test_same_questions_same_answers_with_follow_ups_in_a_thread() -> None:
    async with (
        SimulatorServer(scenario="normal", speed=0, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
        async with running_bot(asker=assistant) as bot:
            url = bot.connector.url

            async def ask(text: str, count: int, thread: str = THREAD) -> dict[str, Any]:
                await bot.post(
                    message(
                        f"<at>Resync</at> {text}",
                        service_url=url,
                        conversation_id=thread,
                        conversation_type="channel",
                        entities=[mention_of_bot()],
                    )
                )
                return card_of((await bot.connector.wait_for(count, timeout=15))[-1].body)

            status = await ask("status of PAYROLL_EXTRACT", 1)
            assert "PAYROLL\\_EXTRACT" in status["body"][0]["text"]  # escaped for markdown
            predecessors = await ask("and its predecessors?", 2)
            headline = predecessors["body"][0]["text"]
            assert "PAYROLL\\_EXTRACT" in headline  # the follow-up kept the thread's subject
            assert "predecessor" in headline
            elsewhere = await ask("and its predecessors?", 3, thread=OTHER_THREAD)
            assert elsewhere["body"][0]["text"].startswith(
                "Which job?"
            )  # another thread: no subject
            await eventually(lambda: len(bot.audit.of("question")) == 3)
            outcomes = [r["outcome"] for r in bot.audit.of("question")]
            assert outcomes == ["answered", "answered", "answered"]
            assert len(bot.audit.of("chat.message")) == 3
