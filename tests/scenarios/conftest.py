"""Fixtures for end-to-end questions: the simulator over HTTP, the client, the assistant."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.assistant import Assistant
from bot.dispatch import Dispatcher
from bot.logging import configure_logging
from bot.messages import Actor, ChatEvent, Platform, Reply
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
API_KEY = "test-api-key"

Ask = Callable[..., Awaitable[Reply]]


class RecordingAudit:
    """Keeps what the dispatcher records (the real log is tested in tests/integrations/audit)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def record(self, **fields: Any) -> None:
        self.records.append(fields)


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(
        scenario="normal", speed=0, now=NOW, control=True, api_keys=[API_KEY]
    ) as server:
        yield server


@pytest.fixture
async def client(sim: SimulatorServer) -> AsyncIterator[TWSClient]:
    async with TWSClient(base_url=sim.url, api_key=API_KEY, sleep=_no_sleep) as tws:
        yield tws


@pytest.fixture
def read_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A function returning the structured log lines written so far in the test."""
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in stream.getvalue().splitlines() if raw.startswith("{")]

    yield lines
    structlog.reset_defaults()


@pytest.fixture
async def audit() -> RecordingAudit:
    return RecordingAudit()


def make_asker(dispatcher: Dispatcher) -> Ask:
    actor = Actor(platform=Platform.SLACK, user_id="U123", display_name="Ops")

    async def ask(text: str, *, channel: str = "C1", thread: str | None = "t1") -> Reply:
        event = ChatEvent(
            event_id=f"e-{text}", actor=actor, channel_id=channel, thread_id=thread, text=text
        )
        return await dispatcher.handle(event)

    return ask


@pytest.fixture
async def ask(client: TWSClient, audit: RecordingAudit, tmp_path: Path) -> AsyncIterator[Ask]:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.db")) as saver:
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        yield make_asker(Dispatcher(assistant=assistant, audit=audit))
