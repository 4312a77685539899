"""Opening the incident database on SQLite (a temp dir) or the real PostgreSQL server.

PostgreSQL tests need the server at RESYNC_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test): with CI=true a missing server fails the run;
elsewhere those tests skip and say why. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest

from integrations.db import Database, open_database

URLS = (
    os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "postgresql://root@127.0.0.1:5432/test",
)


async def postgres_url() -> str:
    """A reachable PostgreSQL URL; skip (or fail under CI) when there is none."""
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


async def drop_schema(url: str, schema: str) -> None:
    """Remove a test schema and everything in it."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An open, migrated incident database of ``kind`` (``sqlite`` or ``postgres``)."""
    if kind == "sqlite":
        db = await open_database(None, data_dir=tmp_path)
        try:
            yield db
        finally:
            await db.close()
        return
    url = await postgres_url()
    schema = f"inc_test_{uuid.uuid4().hex[:12]}"
    db = await open_database(url, data_dir=tmp_path, schema=schema)
    try:
        yield db
    finally:
        await db.close()
        await drop_schema(url, schema)
