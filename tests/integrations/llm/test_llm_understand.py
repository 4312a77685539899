"""The LLM path, against a local OpenAI-compatible fake server (no network, no model)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from langgraph.checkpoint.memory import InMemorySaver

from agents.assistant import Assistant
from agents.intents import IntentKind
from agents.llm_understand import LLMUnderstander
from agents.messages import Actor, ChatEvent, Platform
from integrations.llm import LLMClient, LLMError
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer


class FakeOpenAI:
    """Answers /v1/chat/completions with a scripted content string."""

    def __init__(self) -> None:
        self.content = "{}"
        self.status = 200
        self.requests: list[dict[str, object]] = []
        self.url = ""

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.status != 200:
            return web.json_response({"error": {"message": "overloaded"}}, status=self.status)
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    yield fake
    await runner.cleanup()


def understander(fake: FakeOpenAI) -> LLMUnderstander:
    llm = LLMClient(
        model="openai/fake-model", api_base=fake.url, api_key="sk-test", timeout_seconds=5
    )
    return LLMUnderstander(llm=llm)


async def test_parser_questions_never_reach_the_llm(fake_llm: FakeOpenAI) -> None:
    intent = await understander(fake_llm)("what failed tonight?", None, None)
    assert intent.kind is IntentKind.LIST
    assert fake_llm.requests == []


async def test_the_llm_reads_what_the_parser_cannot(fake_llm: FakeOpenAI) -> None:
    fake_llm.content = json.dumps({"kind": "status", "subject": "payroll_extract"})
    intent = await understander(fake_llm)(
        "could you look into the payroll extraction for me", None, None
    )
    assert intent.kind is IntentKind.STATUS
    assert intent.subject == "PAYROLL_EXTRACT"
    sent = fake_llm.requests[0]
    assert sent["model"] == "fake-model"
    assert "payroll extraction" in json.dumps(sent["messages"])


@pytest.mark.parametrize(
    "content",
    [
        "I think you mean the payroll job",  # not JSON
        json.dumps({"kind": "reboot_everything"}),  # not a kind
        json.dumps({"kind": "status", "subject": "X' OR name LIKE '%"}),  # not a TWS name
        "[1, 2]",  # not an object
    ],
)
async def test_bad_llm_answers_fall_back_to_the_parser(fake_llm: FakeOpenAI, content: str) -> None:
    fake_llm.content = content
    intent = await understander(fake_llm)("how are things in the batch tonight", None, None)
    assert intent.kind is IntentKind.UNKNOWN
    assert len(fake_llm.requests) == 1


async def test_llm_errors_fall_back(fake_llm: FakeOpenAI) -> None:
    fake_llm.status = 500
    intent = await understander(fake_llm)("how are things in the batch tonight", None, None)
    assert intent.kind is IntentKind.UNKNOWN


async def test_unreachable_llm_is_an_llm_error() -> None:
    llm = LLMClient(
        model="openai/fake-model",
        api_base="http://127.0.0.1:9/v1",
        api_key="sk-x",
        timeout_seconds=2,
    )
    with pytest.raises(LLMError):
        await llm.complete_json(system="s", user="u")


async def test_end_to_end_answer_through_the_llm(fake_llm: FakeOpenAI) -> None:
    fake_llm.content = json.dumps({"kind": "why", "subject": "PAYROLL_EXTRACT"})
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    async with (
        SimulatorServer(speed=0, now=now, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        assistant = Assistant(
            scheduler=client,
            checkpointer=InMemorySaver(),
            zone=UTC,
            understander=understander(fake_llm),
        )
        actor = Actor(platform=Platform.CONSOLE, user_id="u", display_name="u")
        reply = await assistant.ask(
            ChatEvent(
                event_id="1",
                actor=actor,
                channel_id="c",
                text="what went wrong with the payroll extraction?",
            )
        )
    assert reply.headline.startswith("PAYROLL_EXTRACT ABEND"), reply.headline
