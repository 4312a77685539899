"""Fixtures for end-to-end questions: the simulator over HTTP, the client, the assistant."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import structlog
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, NOW, Ask, RecordingAudit, make_asker, no_sleep

from agents.assistant import Assistant
from bot.core.dispatcher import Dispatcher
from bot.logging import configure_logging
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(
        scenario="normal", speed=0, now=NOW, control=True, api_keys=[API_KEY]
    ) as server:
        yield server


@pytest.fixture
async def client(sim: SimulatorServer) -> AsyncIterator[TWSClient]:
    async with TWSClient(base_url=sim.url, api_key=API_KEY, sleep=no_sleep) as tws:
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


@pytest.fixture
async def ask(client: TWSClient, audit: RecordingAudit, tmp_path: Path) -> AsyncIterator[Ask]:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.db")) as saver:
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        yield make_asker(Dispatcher(assistant=assistant, audit=audit))
