"""Opening the incident database: the SQLite file, migrations to head, and what they create."""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from db_support import drop_schema, postgres_url

from integrations.db import DatabaseError, open_database
from integrations.db.migrate import VERSION_TABLE, head_revision
from integrations.db.schema import METADATA


def _differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    diffs = compare_metadata(context, METADATA)
    return [
        d
        for d in diffs
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == VERSION_TABLE)
    ]


async def _revision(db: Any) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: MigrationContext.configure(
                c, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
        )


async def test_sqlite_file_is_private_and_migrated(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = await open_database(None, data_dir=data_dir)
    try:
        assert stat.S_IMODE(os.stat(data_dir / "incidents.db").st_mode) == 0o600
        assert await _revision(db) == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.close()
    again = await open_database(None, data_dir=data_dir)  # already at head: nothing to do
    try:
        assert await _revision(again) == head_revision()
    finally:
        await again.close()


async def test_concurrent_opens_of_one_sqlite_file(tmp_path: Path) -> None:
    # Eight at once: with a plain "PRAGMA journal_mode=WAL" SQLite failed one of them with
    # "database is locked" (no busy wait on a lock upgrade) or stalled; the switch is retried.
    dbs = await asyncio.gather(*(open_database(None, data_dir=tmp_path) for _ in range(8)))
    for db in dbs:
        assert await _revision(db) == head_revision()
        await db.close()


async def test_urls_that_cannot_work_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="unsupported database 'mysql'"):
        await open_database("mysql://u@h/db", data_dir=tmp_path)
    with pytest.raises(DatabaseError, match="cannot create schema") as caught:
        await open_database("postgresql://nobody:secret@127.0.0.1:1/none", data_dir=tmp_path)
    assert "secret" not in str(caught.value)
    with pytest.raises(DatabaseError, match="bad schema name"):
        await open_database(
            "postgresql://u@127.0.0.1:1/db", data_dir=tmp_path, schema="Robert'); --"
        )


@pytest.mark.postgres
async def test_postgres_schema_is_created_migrated_once_and_matches(tmp_path: Path) -> None:
    url = await postgres_url()
    schema = f"inc_test_{uuid.uuid4().hex[:12]}"
    try:
        # Three replicas starting at once: one migrates, the others find the schema at head.
        dbs = await asyncio.gather(
            *(open_database(url, data_dir=tmp_path, schema=schema) for _ in range(3))
        )
        for db in dbs:
            assert await _revision(db) == head_revision()
            assert schema in db.description
            assert "@" not in db.description
        async with dbs[0].engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            tables = await conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            )
            assert {row[0] for row in tables} >= {"incidents", "incident_timeline", VERSION_TABLE}
        for db in dbs:
            await db.close()
    finally:
        await drop_schema(url, schema)
