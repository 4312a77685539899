"""The LLM path, against a local OpenAI-compatible fake server (no network, no model).

The fake server records every request it gets. A test of the LLM path checks both ends:
the server received the question (so the LLM was really asked), and the answer is the one
the fake LLM scripted, which the parser alone does not give for that text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from langgraph.checkpoint.memory import InMemorySaver

from agents.assistant import Assistant
from agents.intents import Intent, IntentKind, ListFilter
from agents.llm_understand import LLMUnderstander
from agents.messages import Actor, ChatEvent, Platform, Reply
from agents.understand import understand
from integrations.llm import LLMClient, LLMError
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

MODEL = "openai/fake-model"
SENT_MODEL = "fake-model"  # litellm drops the provider prefix before calling the endpoint
API_KEY = "sk-test"
NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)

# The parser files this as UNKNOWN: it has no question word it knows and no TWS name.
UNREADABLE = "could you look into the payroll extraction for me"
# The parser reads the kind (WHY) but finds no job name in it.
NO_NAME = "what went wrong with the payroll extraction?"


class FakeOpenAI:
    """Answers /v1/chat/completions with a scripted content string and records each request."""

    def __init__(self) -> None:
        self.content = "{}"
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.url = ""

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("Authorization", ""))
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

    def user_messages(self) -> list[str]:
        """The user turn of every request received, in order."""
        return [
            str(message["content"])
            for body in self.requests
            for message in body["messages"]
            if message["role"] == "user"
        ]


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


def understander(fake: FakeOpenAI, *, agent: bool = True) -> LLMUnderstander:
    llm = LLMClient(model=MODEL, api_base=fake.url, api_key=API_KEY, timeout_seconds=5)
    return LLMUnderstander(llm=llm, open_questions=agent)


def assert_asked_once_about(fake: FakeOpenAI, text: str) -> None:
    """The fake server got exactly one request, for the configured model, carrying `text`."""
    assert len(fake.requests) == 1, fake.requests
    sent = fake.requests[0]
    assert sent["model"] == SENT_MODEL
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]
    assert fake.user_messages()[0].endswith(f"Message: {text}"), fake.user_messages()
    assert fake.authorizations == [f"Bearer {API_KEY}"]


# -- questions the parser reads: the LLM is never asked


@pytest.mark.parametrize(
    ("text", "focus", "last_kind"),
    [
        ("what failed tonight?", None, None),
        ("why did PAYROLL_EXTRACT fail?", None, None),
        ("is AGT_LNX01 up?", None, None),
        # a follow-up: the subject comes from the conversation, not the LLM
        ("why did it fail?", "PAYROLL_DAILY.PAYROLL_EXTRACT", IntentKind.STATUS),
    ],
)
async def test_parser_questions_never_reach_the_llm(
    fake_llm: FakeOpenAI, text: str, focus: str | None, last_kind: IntentKind | None
) -> None:
    # Were the LLM asked anyway, its answer would show in the intent.
    fake_llm.content = json.dumps({"kind": "help"})
    parsed = understand(text, focus=focus, last_kind=last_kind)
    assert parsed.kind not in (IntentKind.UNKNOWN, IntentKind.HELP)

    intent = await understander(fake_llm)(text, focus, last_kind)

    assert intent == parsed
    assert fake_llm.requests == []


# -- questions the parser cannot read: the LLM is asked and its answer is used


async def test_the_llm_reads_what_the_parser_cannot(fake_llm: FakeOpenAI) -> None:
    assert understand(UNREADABLE, focus=None, last_kind=None).kind is IntentKind.UNKNOWN
    fake_llm.content = json.dumps(
        {"kind": "list", "subject": None, "list_filter": "late", "workstation": "agt_lnx01"}
    )

    # With the agent off, the router reads it (with the agent on, the agent takes it).
    intent = await understander(fake_llm, agent=False)(UNREADABLE, None, None)

    assert_asked_once_about(fake_llm, UNREADABLE)
    assert intent == Intent(
        kind=IntentKind.LIST, list_filter=ListFilter.LATE, workstation="AGT_LNX01"
    )


async def test_with_the_agent_on_no_router_call_precedes_it(fake_llm: FakeOpenAI) -> None:
    # Were the router asked, its "list" would come back instead of the agent's question.
    fake_llm.content = json.dumps({"kind": "list", "list_filter": "late"})

    intent = await understander(fake_llm)(UNREADABLE, "PAYROLL_DAILY.PAYROLL_CALC", None)

    assert fake_llm.requests == []
    assert intent.kind is IntentKind.UNKNOWN
    assert intent.arguments["question"] == UNREADABLE
    assert intent.arguments["focus"] == "PAYROLL_DAILY.PAYROLL_CALC"


async def test_the_llm_names_the_job_the_parser_could_not_find(fake_llm: FakeOpenAI) -> None:
    parsed = understand(NO_NAME, focus=None, last_kind=None)
    assert (parsed.kind, parsed.subject) == (IntentKind.WHY, None)
    fake_llm.content = json.dumps({"kind": "why", "subject": "payroll_extract"})

    intent = await understander(fake_llm)(NO_NAME, None, None)

    assert_asked_once_about(fake_llm, NO_NAME)
    assert intent == Intent(kind=IntentKind.WHY, subject="PAYROLL_EXTRACT")


async def test_the_llm_is_told_the_conversation_subject(fake_llm: FakeOpenAI) -> None:
    fake_llm.content = json.dumps({"kind": "successors", "subject": "PAYROLL_CALC"})

    intent = await understander(fake_llm, agent=False)(
        UNREADABLE, "PAYROLL_DAILY.PAYROLL_CALC", None
    )

    assert intent == Intent(kind=IntentKind.SUCCESSORS, subject="PAYROLL_CALC")
    assert_asked_once_about(fake_llm, UNREADABLE)
    assert "PAYROLL_DAILY.PAYROLL_CALC" in fake_llm.user_messages()[0]


# -- the LLM fails: the parser's own answer, after the LLM was asked


@pytest.mark.parametrize(
    "content",
    [
        "I think you mean the payroll job",  # not JSON
        json.dumps({"kind": "reboot_everything"}),  # not a kind
        json.dumps({"kind": "why", "subject": "X' OR name LIKE '%"}),  # not a TWS name
        json.dumps({"kind": "why", "subject": 42}),  # not a string
        "[1, 2]",  # not an object
        "",  # nothing
    ],
)
async def test_bad_llm_answers_fall_back_to_the_parser(fake_llm: FakeOpenAI, content: str) -> None:
    fake_llm.content = content
    parsed = understand(NO_NAME, focus=None, last_kind=None)

    intent = await understander(fake_llm)(NO_NAME, None, None)

    assert_asked_once_about(fake_llm, NO_NAME)
    # The parser's WHY without a name (which then asks "which job?"), not a blank UNKNOWN.
    assert intent == parsed
    assert intent.kind is IntentKind.WHY


@pytest.mark.parametrize("status", [400, 401, 500, 503])
async def test_llm_errors_fall_back_to_the_parser(fake_llm: FakeOpenAI, status: int) -> None:
    fake_llm.status = status
    fake_llm.content = json.dumps({"kind": "why", "subject": "PAYROLL_EXTRACT"})

    intent = await understander(fake_llm)(NO_NAME, None, None)

    assert fake_llm.requests, "the LLM was never asked"
    assert all(text.endswith(f"Message: {NO_NAME}") for text in fake_llm.user_messages())
    assert intent == understand(NO_NAME, focus=None, last_kind=None)


async def test_unreachable_llm_falls_back_to_the_parser() -> None:
    llm = LLMClient(
        model=MODEL, api_base="http://127.0.0.1:9/v1", api_key="sk-x", timeout_seconds=2
    )
    with pytest.raises(LLMError):
        await llm.complete_json(system="s", user="u")
    intent = await LLMUnderstander(llm=llm)(NO_NAME, None, None)
    assert intent == understand(NO_NAME, focus=None, last_kind=None)


# -- end to end: the reply follows what the LLM said


async def ask_once(understand_step: LLMUnderstander | None, text: str) -> Reply:
    async with (
        SimulatorServer(speed=0, now=NOW, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        if understand_step is None:
            assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
        else:
            assistant = Assistant(
                scheduler=client,
                checkpointer=InMemorySaver(),
                zone=UTC,
                understander=understand_step,
            )
        actor = Actor(platform=Platform.CONSOLE, user_id="u", display_name="u")
        return await assistant.ask(ChatEvent(event_id="1", actor=actor, channel_id="c", text=text))


async def test_without_the_llm_the_question_gets_asked_back() -> None:
    reply = await ask_once(None, NO_NAME)
    assert reply.headline.startswith("Which job"), reply.headline


@pytest.mark.parametrize("job", ["PAYROLL_EXTRACT", "BILLING_CDR_DEDUP"])
async def test_end_to_end_answer_through_the_llm(fake_llm: FakeOpenAI, job: str) -> None:
    # The fake LLM picks the job; the text names neither, so the reply can only follow it.
    fake_llm.content = json.dumps({"kind": "why", "subject": job})

    reply = await ask_once(understander(fake_llm), NO_NAME)

    assert_asked_once_about(fake_llm, NO_NAME)
    assert reply.headline.startswith(f"{job} ABEND"), reply.headline
