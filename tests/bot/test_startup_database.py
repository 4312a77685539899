"""Start-up cost of the incident database: opened on first use, migrated only when behind.

`resync ask` must not pay for SQLAlchemy, Alembic or a migration it does not need. Each
import check runs in a fresh interpreter, where ``sys.modules`` shows what was imported;
the database is a real SQLite file (and the real PostgreSQL server for the eager path).
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from pathlib import Path

import psycopg
import pytest
from probe_support import clean_env, run_probe

from integrations.db import DatabaseError, open_database
from integrations.db.migrate import head_revision, shipped_head

POSTGRES = os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

# Opens the database (argv: url or "", data dir, schema, "lazy" or "eager", "read" or ""),
# reads the open incidents when asked, then prints whether it was open at once and what
# got imported.
_PROBE = """
import asyncio, json, sys
from pathlib import Path
from integrations.db import open_database
url, data_dir, schema, mode, read = sys.argv[1:6]

async def main():
    db = await open_database(url or None, data_dir=Path(data_dir), schema=schema,
                             lazy=mode == "lazy")
    opened = db.opened
    if read:
        await db.incidents.list_by_status(["open"])
    await db.close()
    heavy = [m for m in ("sqlalchemy", "alembic", "mako") if m in sys.modules]
    print(json.dumps({"opened": opened, "imported": heavy}))

asyncio.run(main())
"""


def _probe(
    data_dir: Path, *, mode: str, read: bool = False, url: str = "", schema: str = "s"
) -> dict[str, object]:
    args = (url, str(data_dir), schema, mode, "read" if read else "")
    result: dict[str, object] = run_probe(_PROBE, *args, env=clean_env("RESYNC_"))
    return result


def test_the_shipped_head_is_read_as_alembic_reads_it() -> None:
    assert shipped_head() == head_revision()


def test_a_lazy_sqlite_database_imports_nothing_until_used(tmp_path: Path) -> None:
    unused = _probe(tmp_path, mode="lazy")
    assert unused == {"opened": False, "imported": []}
    # The file exists already, private: a data directory that cannot hold it fails at start.
    assert stat.S_IMODE(os.stat(tmp_path / "incidents.db").st_mode) == 0o600
    used = _probe(tmp_path, mode="lazy", read=True)  # the first read opens and migrates
    assert used == {"opened": False, "imported": ["sqlalchemy", "alembic", "mako"]}


def test_a_database_at_head_opens_without_alembic(tmp_path: Path) -> None:
    first = _probe(tmp_path, mode="eager")  # a new file: migrated by Alembic
    assert first == {"opened": True, "imported": ["sqlalchemy", "alembic", "mako"]}
    again = _probe(tmp_path, mode="eager")  # at head: one read, no Alembic
    assert again == {"opened": True, "imported": ["sqlalchemy"]}


async def test_first_uses_open_and_migrate_once(tmp_path: Path) -> None:
    db = await open_database(None, data_dir=tmp_path, lazy=True)
    try:
        assert not db.opened
        with pytest.raises(DatabaseError, match="not opened yet"):
            _ = db.engine
        # Eight questions at once on a cold database: one opening, every one answered.
        results = await asyncio.gather(*(db.incidents.list_by_status(["open"]) for _ in range(8)))
        assert results == [[]] * 8
        engine = db.engine
        assert await db.open() is engine
        async with db.transaction("read revision", read_only=True) as conn:
            revision = await conn.exec_driver_sql(
                "SELECT version_num FROM incidents_alembic_version"
            )
            assert revision.scalar_one() == head_revision()
    finally:
        await db.close()


async def test_a_failed_first_use_is_tried_again(tmp_path: Path) -> None:
    db = await open_database(None, data_dir=tmp_path, lazy=True)
    path = tmp_path / "incidents.db"
    path.write_bytes(b"this is not an SQLite database, but 512 bytes of it " * 10)
    try:
        with pytest.raises(DatabaseError, match=r"incidents\.db"):
            await db.incidents.list_by_status(["open"])
        assert not db.opened
        path.write_bytes(b"")  # an empty file is an empty SQLite database
        assert await db.incidents.list_by_status(["open"]) == []
        assert db.opened
    finally:
        await db.close()


async def test_a_closed_lazy_database_is_not_reopened(tmp_path: Path) -> None:
    db = await open_database(None, data_dir=tmp_path, lazy=True)
    await db.close()
    with pytest.raises(DatabaseError, match="closed"):
        await db.incidents.list_by_status(["open"])


async def _postgres_url() -> str:
    try:
        conn = await psycopg.AsyncConnection.connect(POSTGRES, connect_timeout=3)
    except psycopg.Error:
        message = f"PostgreSQL not reachable at {POSTGRES}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    await conn.close()
    return POSTGRES


@pytest.mark.postgres
async def test_postgres_opens_at_once_and_skips_alembic_at_head(tmp_path: Path) -> None:
    url = await _postgres_url()
    schema = f"startup_{uuid.uuid4().hex[:12]}"
    try:
        # Lazy is for the local file only: a shared server that is down must stop the start.
        first = _probe(tmp_path, mode="lazy", url=url, schema=schema)
        assert first == {"opened": True, "imported": ["sqlalchemy", "alembic", "mako"]}
        again = _probe(tmp_path, mode="lazy", url=url, schema=schema)
        assert again == {"opened": True, "imported": ["sqlalchemy"]}
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
