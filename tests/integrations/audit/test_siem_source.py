"""Reading records after a cursor: clock skew, missing records, erasure, decryption."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from siem_support import write_records

from config.settings import Settings
from integrations.audit import AuditLog, open_audit_log
from integrations.audit import log as log_module
from integrations.audit.forward import AuditSource, open_source
from integrations.audit.records import now_us


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[AuditLog]:
    audit = await open_audit_log(Settings(data_dir=tmp_path))
    yield audit
    await audit.close()


@pytest.fixture
async def source(log: AuditLog, tmp_path: Path) -> AsyncIterator[AuditSource]:
    opened = await open_source(Settings(data_dir=tmp_path))
    yield opened
    await opened.store.close()


async def test_reads_decrypted_records_after_the_cursor_in_batches(
    log: AuditLog, source: AuditSource
) -> None:
    await write_records(log, 7)
    assert await source.head_seq() == 7
    first = await source.after(seq=0, ts_us=0, limit=3)
    assert [r.seq for r in first] == [1, 2, 3]
    assert first[0].content is not None
    assert first[0].content["target"] == "T0"
    rest = await source.after(seq=3, ts_us=first[-1].ts_us, limit=100)
    assert [r.seq for r in rest] == [4, 5, 6, 7]
    assert await source.after(seq=7, ts_us=rest[-1].ts_us, limit=100) == []


async def test_a_writer_clock_far_behind_is_not_skipped(
    log: AuditLog, source: AuditSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    await write_records(log, 2)
    cursor = (await source.after(seq=0, ts_us=0, limit=10))[-1]
    # Another writer whose clock is an hour behind (beyond the 5-minute window).
    monkeypatch.setattr(log_module, "now_us", lambda: now_us() - 3_600_000_000)
    await write_records(log, 1, start=2)
    monkeypatch.undo()
    alone = await source.after(seq=cursor.seq, ts_us=cursor.ts_us, limit=10)
    assert [r.seq for r in alone] == [3]  # found although it is the newest and "oldest"
    await write_records(log, 1, start=3)
    found = await source.after(seq=cursor.seq, ts_us=cursor.ts_us, limit=10)
    assert [r.seq for r in found] == [3, 4]
    assert found[0].content is not None
    assert found[0].content["target"] == "T2"


async def test_a_record_missing_from_the_store_is_skipped_not_a_dead_end(
    log: AuditLog, source: AuditSource, tmp_path: Path
) -> None:
    await write_records(log, 5)
    with closing(sqlite3.connect(tmp_path / "audit.db")) as conn:
        conn.execute("DELETE FROM audit_records WHERE seq = 3")
        conn.commit()
    before = await source.after(seq=0, ts_us=0, limit=10)
    assert [r.seq for r in before] == [1, 2]
    after = await source.after(seq=2, ts_us=before[-1].ts_us, limit=10)
    assert [r.seq for r in after] == [4, 5]


async def test_an_erasure_is_honoured_for_records_not_yet_forwarded(
    log: AuditLog, source: AuditSource
) -> None:
    await write_records(log, 3)  # p0, p1, p2
    await source.head_seq()
    read = await source.after(seq=0, ts_us=0, limit=10)  # keys are now cached
    assert all(r.status == "ok" for r in read)
    await write_records(log, 3, start=3)  # p0, p1, p2 again
    assert await log.erase(subject="p1@example.com") == 1
    await source.head_seq()  # each pass looks at the head first (the epoch changed)
    later = await source.after(seq=3, ts_us=read[-1].ts_us, limit=10)
    assert [(r.seq, r.status) for r in later] == [(4, "ok"), (5, "erased"), (6, "ok")]
