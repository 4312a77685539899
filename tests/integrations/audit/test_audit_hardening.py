"""Hardening of the audit log (issue "Hardening", item 15), on the real SQLite and PostgreSQL stores.

(a) a record moved below seq 1 is reported at its real position; (b) a duplicated row at a
page boundary is found; (c) one damaged key row makes only its subject's records unreadable;
(d) CEF escapes CR and LF separately; (e) no command creates a log where there is none.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from config.settings import Settings
from integrations.audit import open_audit_log, verify_store
from integrations.audit.datakeys import subject_ref
from integrations.audit.export import to_cef
from integrations.audit.store_postgres import PostgresStore
from integrations.audit.store_sqlite import SqliteStore
from integrations.audit.verify import Fault

RESYNC = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[3]
RECORDS = 30
PAGE = 20000  # the stores' chunk: rows are read 20,000 at a time
PG_URLS = (
    os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "postgresql://root@127.0.0.1:5432/test",
)


async def _fill(settings: Settings, count: int, *, schema: str = "resync_audit") -> bytes:
    log = await open_audit_log(settings, pg_schema=schema)
    try:
        for start in range(0, count, 4000):
            await asyncio.gather(
                *(
                    log.record(
                        action="job.rerun",
                        outcome="ok",
                        actor_id=f"U{i % 2}",
                        actor_identity=f"p{i % 2}@example.com",
                        target=f"JS{i}",
                    )
                    for i in range(start, min(start + 4000, count))
                )
            )
        return log.public_key
    finally:
        await log.close()


def _copy(src: Path, dst: Path) -> Path:
    """Copy a live database, WAL included, with SQLite's backup API."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)
    return dst


async def _verify(db: Path, key: bytes) -> Fault | None:
    store = SqliteStore(db)
    try:
        await store.open()
        report = await verify_store(store, trusted_key=key)
    finally:
        await store.close()
    return report.fault


def _drop_primary_key(conn: sqlite3.Connection) -> None:
    """What an attacker does first to store a seq twice (CREATE TABLE AS keeps no key)."""
    conn.executescript(
        "CREATE TABLE plain AS SELECT * FROM audit_records; DROP TABLE audit_records; "
        "ALTER TABLE plain RENAME TO audit_records;"
    )


def _cli(*argv: str, data_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESYNC_")}
    env.update(RESYNC_DATA_DIR=str(data_dir), **extra)
    return subprocess.run(
        [*RESYNC, *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings, bytes]:
    data = tmp_path_factory.mktemp("small")
    settings = Settings(data_dir=data, audit_checkpoint_every_records=10)
    key = asyncio.run(_fill(settings, RECORDS))
    return data / "audit.db", settings, key


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    data = tmp_path_factory.mktemp("big")
    key = asyncio.run(_fill(Settings(data_dir=data), 2 * PAGE))
    return data / "audit.db", key


# --- (a) a sequence number below 1 --------------------------------------------------------


@pytest.mark.parametrize(("victim", "bogus"), [(7, 0), (7, -5), (1, -1), (RECORDS, 0)])
async def test_record_moved_below_1_is_reported_at_its_real_position(
    small: tuple[Path, Settings, bytes], tmp_path: Path, victim: int, bogus: int
) -> None:
    db, _, key = small
    target = _copy(db, tmp_path / "moved.db")
    with closing(sqlite3.connect(target)) as conn, conn:
        conn.execute("UPDATE audit_records SET seq = ? WHERE seq = ?", (bogus, victim))
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == victim, fault
    assert f"impossible sequence number {bogus}" in fault.problem


async def test_copy_stored_below_1_is_reported_at_the_record_it_copies(
    small: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, key = small
    target = _copy(db, tmp_path / "copied.db")
    with closing(sqlite3.connect(target)) as conn, conn:
        conn.execute(
            "INSERT INTO audit_records SELECT -3, ts_us, key_id, nonce, prev_hash, ciphertext, "
            "hash FROM audit_records WHERE seq = 12"
        )
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == 12, fault


# --- (b) a duplicate at a page boundary -----------------------------------------------------


async def test_two_full_pages_verify(two_pages: tuple[Path, bytes]) -> None:
    db, key = two_pages
    store = SqliteStore(db)
    try:
        report = await verify_store(store, trusted_key=key)
    finally:
        await store.close()
    assert report.fault is None
    assert report.records == 2 * PAGE


@pytest.mark.parametrize("seq", [PAGE, 2 * PAGE])
async def test_duplicate_at_a_page_boundary_is_found(
    two_pages: tuple[Path, bytes], tmp_path: Path, seq: int
) -> None:
    db, key = two_pages
    target = _copy(db, tmp_path / "dup.db")
    with closing(sqlite3.connect(target)) as conn, conn:
        _drop_primary_key(conn)
        conn.execute("INSERT INTO audit_records SELECT * FROM audit_records WHERE seq = ?", (seq,))
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == seq, fault
    assert "stored twice" in fault.problem


# --- (c) one damaged key row -----------------------------------------------------------------


def _damage_key(db: Path, subject: str, how: str) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        (log_id,) = conn.execute("SELECT value FROM audit_meta WHERE name = 'log_id'").fetchone()
        ref = subject_ref(bytes.fromhex(log_id), subject)
        if how == "wrapped":
            conn.execute(
                "UPDATE audit_keys SET wrapped = substr(wrapped, 1, 20) || x'00' || "
                "substr(wrapped, 22) WHERE subject_ref = ?",
                (ref,),
            )
        else:
            conn.execute(
                "UPDATE audit_keys SET kek_id = 'not-the-kek' WHERE subject_ref = ?", (ref,)
            )


def test_one_damaged_key_row_hides_only_its_subjects_records(
    small: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, _ = small
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    for name in ("audit.key", "audit-signing.key"):
        (data / name).write_bytes((db.parent / name).read_bytes())
    target = _copy(db, data / "audit.db")
    _damage_key(target, "p1@example.com", "wrapped")

    shown = _cli("audit", "show", data_dir=data)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("[unreadable]") == RECORDS // 2
    assert shown.stdout.count("p0@example.com") == RECORDS // 2  # the others read fine
    assert f"({RECORDS} records)" in shown.stdout

    deep = _cli("audit", "verify", "--deep", data_dir=data)
    assert deep.returncode == 1
    assert "FAIL: seq 2: its data key is damaged" in deep.stdout  # p1's first record


async def test_a_key_row_marked_with_another_kek_hides_only_its_subject(
    small: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, settings, _ = small
    target = _copy(db, tmp_path / "other-kek.db")
    _damage_key(target, "p0@example.com", "kek_id")
    log = await open_audit_log(settings, store=SqliteStore(target))
    try:
        records = await log.read()
        exported = [to_cef(record) for record in records]
    finally:
        await log.close()
    assert [r.status for r in records] == ["unreadable", "ok"] * (RECORDS // 2)
    assert sum("record unreadable" in line for line in exported) == RECORDS // 2


# --- (d) CEF line breaks ----------------------------------------------------------------------


async def test_cef_escapes_cr_and_lf_each(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    try:
        await log.record(
            action="question",
            outcome="ok",
            actor_id="U1",
            actor_identity="cr\ronly",
            target="line1\r\nline2\nline3",
        )
        (record,) = await log.read()
    finally:
        await log.close()
    line = to_cef(record)
    assert "cs1=line1\\r\\nline2\\nline3" in line
    assert "suser=cr\\ronly" in line
    assert "\r" not in line
    assert "\n" not in line


# --- (e) no log where there is none --------------------------------------------------------------


@pytest.mark.parametrize("command", [["verify"], ["show"]])
def test_commands_refuse_a_data_dir_that_does_not_exist(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "typo"
    done = _cli("audit", *command, data_dir=missing)
    assert done.returncode == 1
    assert f"no audit log at {missing / 'audit.db'}" in done.stderr
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists()  # nothing created: no directory, no empty log, no keys


def test_verify_refuses_a_data_dir_without_a_log(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    done = _cli("audit", "verify", data_dir=empty)
    assert done.returncode == 1
    assert "holds no audit.db" in done.stderr
    assert list(empty.iterdir()) == []


# --- PostgreSQL --------------------------------------------------------------------------------


async def _pg_url() -> str | None:
    for url in PG_URLS:
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=3)
        except psycopg.Error:
            continue
        await conn.close()
        return url
    return None


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[tuple[Settings, str, str]]:
    url = await _pg_url()
    if url is None:
        message = f"PostgreSQL not reachable at {PG_URLS[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    try:
        yield Settings(data_dir=tmp_path, database_url=SecretStr(url)), schema, url
    finally:
        store = PostgresStore(url, schema=schema)
        await store.drop()
        await store.close()


async def _pg_verify(url: str, schema: str) -> Fault | None:
    store = PostgresStore(url, schema=schema)
    try:
        return (await verify_store(store)).fault
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_duplicates_at_page_boundaries_are_found(
    pg: tuple[Settings, str, str],
) -> None:
    settings, schema, url = pg
    await _fill(settings, 2 * PAGE, schema=schema)
    table = f'"{schema}".audit_records'
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT audit_records_pkey")
        for seq in (PAGE, 2 * PAGE):
            await conn.execute(f"INSERT INTO {table} SELECT * FROM {table} WHERE seq = %s", (seq,))  # noqa: S608
            fault = await _pg_verify(url, schema)
            assert fault is not None
            assert fault.seq == seq, fault
            await conn.execute(
                f"DELETE FROM {table} WHERE ctid = (SELECT max(ctid) FROM {table} WHERE seq = %s)",  # noqa: S608
                (seq,),
            )
        assert await _pg_verify(url, schema) is None


@pytest.mark.postgres
async def test_postgres_record_moved_below_1_is_reported_at_its_real_position(
    pg: tuple[Settings, str, str],
) -> None:
    settings, schema, url = pg
    await _fill(settings, 10, schema=schema)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'UPDATE "{schema}".audit_records SET seq = -4 WHERE seq = 6')  # noqa: S608
    fault = await _pg_verify(url, schema)
    assert fault is not None
    assert fault.seq == 6, fault


@pytest.mark.postgres
async def test_postgres_damaged_key_row_hides_only_its_subject(
    pg: tuple[Settings, str, str],
) -> None:
    settings, schema, url = pg
    await _fill(settings, 10, schema=schema)
    log = await open_audit_log(settings, pg_schema=schema)
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            cur = await conn.execute(
                f"SELECT value FROM \"{schema}\".audit_meta WHERE name = 'log_id'"  # noqa: S608
            )
            row = await cur.fetchone()
            assert row is not None
            log_id = row[0]
            await conn.execute(
                f"UPDATE \"{schema}\".audit_keys SET wrapped = wrapped || '\\x00'::bytea "  # noqa: S608
                "WHERE subject_ref = %s",
                (subject_ref(bytes.fromhex(log_id), "p1@example.com"),),
            )
        statuses = [r.status for r in await log.read()]
    finally:
        await log.close()
    assert statuses == ["ok", "unreadable"] * 5


@pytest.mark.postgres
async def test_postgres_verify_refuses_a_missing_schema(pg: tuple[Settings, str, str]) -> None:
    settings, _, url = pg
    # The CLI uses the default schema; a database without it must stay without it.
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        found = await (
            await conn.execute("SELECT to_regclass('resync_audit.audit_head')")
        ).fetchone()
    if found is not None and found[0] is not None:
        pytest.skip("this database already holds a log in the default schema resync_audit")
    done = _cli("audit", "verify", data_dir=settings.data_dir, RESYNC_DATABASE_URL=url)
    assert done.returncode == 1
    assert "no audit log in PostgreSQL schema resync_audit" in done.stderr
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        after = await (
            await conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'resync_audit'")
        ).fetchone()
    assert after == (0,)
