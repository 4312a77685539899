"""An LLM that is down, slow or talks garbage never makes an answer worse.

The same questions are asked of an assistant without an LLM and of one whose LLM (router
and agent) is broken in each way, over the same simulator (clock frozen): every reply is
identical. The standard questions never reach the LLM; the ones the parser cannot read do
(the fake model records it) and still get exactly the answer given without an LLM.
"""

from __future__ import annotations

from datetime import UTC

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from llm_agent_fake import scripted_model
from llm_agent_runner import NOW

from agents.assistant import Assistant
from agents.llm_understand import LLMUnderstander
from agents.messages import Actor, ChatEvent, Platform, Reply
from integrations.llm import LLMClient
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

STANDARD = (
    "what failed tonight?",
    "why did PAYROLL_EXTRACT fail?",
    "status of PAYROLL_DAILY",
    "what will be late?",
    "what depends on PAYROLL_EXTRACT?",
    "what does PAYROLL_VALIDATE wait for?",
    "is AGT_LNX02 up?",
    "how many jobs are in the plan?",
    "what does AWSBIN076E mean?",
    "when will GL_CLOSE finish?",
    "help",
)
UNREADABLE = (
    "walk me through the payroll extraction",
    "what went wrong with the payroll extraction?",
)


async def replies(assistant: Assistant, questions: tuple[str, ...]) -> list[Reply]:
    actor = Actor(platform=Platform.CONSOLE, user_id="u", display_name="u")
    return [
        # One conversation per question: no answer depends on the one before.
        await assistant.ask(ChatEvent(event_id=str(i), actor=actor, channel_id=f"c{i}", text=text))
        for i, text in enumerate(questions)
    ]


@pytest.mark.parametrize("mode", ["down", "slow", "garbage", "agent_down"])
async def test_a_broken_llm_changes_no_answer(mode: str) -> None:
    async with (
        scripted_model() as model,
        SimulatorServer(speed=0, now=NOW, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        plain = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
        expected = await replies(plain, STANDARD + UNREADABLE)

        model.mode, model.delay = mode, 3.0
        for question in UNREADABLE:  # were the model working, it would answer these
            model.script(
                question, [{"tools": [{"name": "job_status", "args": {"name": "PAYROLL_EXTRACT"}}]}]
            )
        llm = LLMClient(
            model="openai/fake-model", api_base=model.url, api_key="sk-t", timeout_seconds=1
        )
        broken = Assistant(
            scheduler=client,
            checkpointer=InMemorySaver(),
            zone=UTC,
            understander=LLMUnderstander(llm=llm),
        )
        standard = await replies(broken, STANDARD)
        assert model.requests == []  # the standard questions never wait for an LLM
        unreadable = await replies(broken, UNREADABLE)

    assert len(model.requests) >= len(UNREADABLE)  # those did ask it
    if mode == "agent_down":
        assert model.agent_requests(), "the agent was never asked"
    assert [r.model_dump() for r in standard + unreadable] == [r.model_dump() for r in expected]
