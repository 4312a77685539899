"""`LLMClient.complete_tools`: one tool-calling turn through litellm, against a local fake.

The fake OpenAI-compatible server answers with a scripted message (text or tool calls) and
a usage block, and records what it was sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from integrations.llm import LLMClient, LLMError

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "job_status",
            "description": "Status of one job.",
            "parameters": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
        },
    }
]
MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "Question: q"}]


class Fake:
    def __init__(self) -> None:
        self.message: dict[str, Any] = {"role": "assistant", "content": "hello"}
        self.status = 200
        self.body: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        if self.body is not None:
            return web.Response(text=self.body, content_type="application/json")
        if self.status != 200:
            return web.json_response({"error": {"message": "no"}}, status=self.status)
        return web.json_response(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "fake-model",
                "choices": [{"index": 0, "message": self.message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
            }
        )


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    server = Fake()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    yield server
    await runner.cleanup()


def client(fake: Fake) -> LLMClient:
    return LLMClient(
        model="openai/fake-model", api_base=fake.url, api_key="sk-t", timeout_seconds=5
    )


async def test_tool_calls_are_parsed_with_their_usage(fake: Fake) -> None:
    fake.message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "job_status", "arguments": '{"name": "PAYROLL_EXTRACT"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "job_status", "arguments": "not json"},
            },
        ],
    }
    llm = client(fake)

    turn = await llm.complete_tools(messages=MESSAGES, tools=TOOLS)

    assert [call.name for call in turn.tool_calls] == ["job_status", "job_status"]
    assert turn.tool_calls[0].arguments == {"name": "PAYROLL_EXTRACT"}
    assert turn.tool_calls[0].id == "call_1"
    # Arguments that are not a JSON object are empty, and kept as sent for the transcript.
    assert turn.tool_calls[1].arguments == {}
    assert turn.tool_calls[1].raw_arguments == "not json"
    assert (turn.prompt_tokens, turn.completion_tokens) == (120, 30)
    sent = fake.requests[0]
    assert sent["tools"][0]["function"]["name"] == "job_status"
    assert sent["messages"] == MESSAGES
    assert (llm.usage.calls, llm.usage.tokens) == (1, 150)


async def test_a_turn_without_tools_offers_none_and_counts_usage(fake: Fake) -> None:
    fake.message = {"role": "assistant", "content": "PAYROLL_EXTRACT ended ABEND."}
    llm = client(fake)

    turn = await llm.complete_tools(messages=MESSAGES, tools=())

    assert turn.content == "PAYROLL_EXTRACT ended ABEND."
    assert turn.tool_calls == ()
    assert "tools" not in fake.requests[0]
    assert "tool_choice" not in fake.requests[0]
    assert llm.usage.calls == 1


async def test_the_router_call_counts_in_the_same_usage(fake: Fake) -> None:
    fake.message = {"role": "assistant", "content": json.dumps({"kind": "help"})}
    llm = client(fake)

    assert await llm.complete_json(system="s", user="u") == {"kind": "help"}
    await llm.complete_tools(messages=MESSAGES, tools=TOOLS)

    assert (llm.usage.calls, llm.usage.prompt_tokens, llm.usage.completion_tokens) == (2, 240, 60)


@pytest.mark.parametrize("status", [400, 500, 503])
async def test_endpoint_errors_are_llm_errors(fake: Fake, status: int) -> None:
    fake.status = status
    llm = client(fake)
    with pytest.raises(LLMError):
        await llm.complete_tools(messages=MESSAGES, tools=TOOLS)
    assert llm.usage.calls == 1  # a failed call still cost one


async def test_a_garbage_answer_is_an_llm_error(fake: Fake) -> None:
    fake.body = '{"choices": "nope"}'
    with pytest.raises(LLMError):
        await client(fake).complete_tools(messages=MESSAGES, tools=TOOLS)


async def test_an_unreachable_endpoint_is_an_llm_error() -> None:
    llm = LLMClient(model="openai/fake-model", api_base="http://127.0.0.1:9/v1", timeout_seconds=2)
    with pytest.raises(LLMError):
        await llm.complete_tools(messages=MESSAGES, tools=TOOLS)
