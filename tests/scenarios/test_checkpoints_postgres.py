"""Conversation threads in PostgreSQL (RESYNC_DATABASE_URL): a follow-up survives a new process.

Needs the PostgreSQL server (RESYNC_TEST_POSTGRES_URL, default postgres@127.0.0.1:5432/test):
with CI=true an unreachable server fails the run; elsewhere the test skips and says why.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr
from qa_support import make_asker

from agents.assistant import Assistant
from bot.checkpoints import open_checkpointer
from bot.core.dispatcher import Dispatcher
from config.settings import Settings
from integrations.tws.client import TWSClient

pytestmark = pytest.mark.postgres

URLS = (
    os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "postgresql://root@127.0.0.1:5432/test",
)


async def reachable_url() -> str:
    for url in URLS:
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=3)
        except psycopg.Error:
            continue
        await conn.close()
        return url
    message = f"PostgreSQL not reachable at {URLS[0]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def test_follow_up_context_lives_in_postgres(client: TWSClient, tmp_path: Path) -> None:
    url = await reachable_url()
    settings = Settings(data_dir=tmp_path, database_url=SecretStr(url))
    channel = f"C-{uuid.uuid4().hex}"  # a thread of its own in the shared database
    async with open_checkpointer(settings) as saver:
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        ask = make_asker(Dispatcher(assistant=assistant, audit=None))
        await ask("status of PAYROLL_EXTRACT", channel=channel)
    assert not (tmp_path / "checkpoints.db").exists()  # nothing went to SQLite
    async with open_checkpointer(settings) as saver:  # a new process, another replica
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC)
        ask = make_asker(Dispatcher(assistant=assistant, audit=None))
        reply = await ask("and its predecessors?", channel=channel)
    assert "PAYROLL_EXTRACT" in reply.headline, reply.headline
    assert "predecessor" in reply.headline


async def test_replicas_starting_together_on_a_fresh_database_all_open(tmp_path: Path) -> None:
    """LangGraph's setup() races on a fresh database; the advisory lock serialises it."""
    url = await reachable_url()
    name = f"resync_cp_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    fresh = url.rsplit("/", 1)[0] + f"/{name}"
    settings = Settings(data_dir=tmp_path, database_url=SecretStr(fresh))

    async def start() -> None:
        async with open_checkpointer(settings) as saver:
            assert saver is not None

    try:
        results = await asyncio.gather(*(start() for _ in range(6)), return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
