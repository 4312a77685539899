"""The PostgreSQL store against the real server: one chain across processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from config.settings import Settings
from integrations.audit import open_audit_log
from integrations.audit.store_postgres import PostgresStore

pytestmark = pytest.mark.postgres

URLS = (
    os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "postgresql://root@127.0.0.1:5432/test",
)


async def _reachable() -> str | None:
    for url in URLS:
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=3)
        except psycopg.Error:
            continue
        await conn.close()
        return url
    return None


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[tuple[Settings, str]]:
    url = await _reachable()
    if url is None:
        message = f"PostgreSQL not reachable at {URLS[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    settings = Settings(
        data_dir=tmp_path, database_url=SecretStr(url), audit_checkpoint_every_records=25
    )
    try:
        yield settings, schema
    finally:
        store = PostgresStore(url, schema=schema)
        await store.drop()
        await store.close()


async def test_record_read_erase_verify(pg: tuple[Settings, str]) -> None:
    settings, schema = pg
    log = await open_audit_log(settings, pg_schema=schema)
    try:
        receipts = await asyncio.gather(
            *(
                log.record(action="a", outcome="ok", actor_id=f"U{i % 4}", actor_identity=None)
                for i in range(100)
            )
        )
        assert sorted(r.sequence for r in receipts) == list(range(1, 101))
        assert await log.erase(subject="U1") == 1
        records = await log.read()
        assert [r.status for r in records].count("erased") == 25
        report = await log.verify(deep=True)
        assert report.fault is None
        assert report.checkpoints == 4
        statement, signature = await log.checkpoint()
        assert (await log.verify(checkpoint=(statement, signature))).fault is None
    finally:
        await log.close()


async def test_tampering_is_found(pg: tuple[Settings, str]) -> None:
    settings, schema = pg
    log = await open_audit_log(settings, pg_schema=schema)
    for _ in range(10):
        await log.record(action="a", outcome="ok", actor_id="U1", actor_identity=None)
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            f"UPDATE \"{schema}\".audit_records SET ciphertext = ciphertext || '\\x00'::bytea WHERE seq = 7"  # noqa: S608
        )
    try:
        report = await log.verify()
        assert report.fault is not None
        assert report.fault.seq == 7
    finally:
        await log.close()


WRITER = """
import asyncio, sys
from pathlib import Path
from pydantic import SecretStr
from config.settings import Settings
from integrations.audit import open_audit_log

async def main() -> None:
    settings = Settings(data_dir=Path(sys.argv[1]), database_url=SecretStr(sys.argv[2]),
                        audit_checkpoint_every_records=25)
    log = await open_audit_log(settings, pg_schema=sys.argv[3])
    await asyncio.gather(*(log.record(action="w", outcome="ok", actor_id=f"{sys.argv[4]}-{i % 3}",
                                      actor_identity=None) for i in range(150)))
    await log.close()

asyncio.run(main())
"""


async def test_writers_in_several_processes_keep_one_chain(pg: tuple[Settings, str]) -> None:
    settings, schema = pg
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    log = await open_audit_log(settings, pg_schema=schema)  # creates keys and schema once
    await log.close()
    root = Path(__file__).resolve().parents[3]

    def spawn(tag: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", WRITER, str(settings.data_dir), url, schema, tag], cwd=root
        )

    procs = [spawn(f"P{i}") for i in range(3)]
    codes = await asyncio.gather(*(asyncio.to_thread(p.wait, 60) for p in procs))
    assert codes == [0, 0, 0]
    log = await open_audit_log(settings, pg_schema=schema)
    try:
        report = await log.verify(deep=True)
        assert report.fault is None, report.fault
        assert report.last_seq == 450
        records = await log.read()
        assert sorted(r.seq for r in records) == list(range(1, 451))
        assert {str(r.content["actor_id"])[:2] for r in records if r.content} == {"P0", "P1", "P2"}
    finally:
        await log.close()
