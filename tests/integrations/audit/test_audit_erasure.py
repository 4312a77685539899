"""Erasing a data subject: their records unreadable, everyone else's readable, chain intact."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from config.settings import Settings
from integrations.audit import open_audit_log


async def test_erase_subject(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_records=5)
    log = await open_audit_log(settings)
    people = ["alice@example.com", "bob@example.com", "carol@example.com"]
    for i in range(30):
        await log.record(
            action="approval.granted",
            outcome="ok",
            actor_id=f"U{i % 3}",
            actor_identity=people[i % 3],
            parameters={"n": i},
        )
    assert await log.erase(subject="bob@example.com") == 1
    # Recording for the erased subject again starts a new key; old records stay erased.
    await log.record(action="question", outcome="answered", actor_id="U1", actor_identity=people[1])
    records = await log.read()
    assert len(records) == 31
    old_bob = [r for r in records[:30] if (r.seq - 1) % 3 == 1]
    others = [r for r in records[:30] if (r.seq - 1) % 3 != 1]
    assert all(r.status == "erased" and r.content is None for r in old_bob)
    assert all(r.status == "ok" and r.content is not None for r in others)
    assert records[30].status == "ok"
    assert (await log.read(actor="bob@example.com"))[0].seq == 31
    report = await log.verify(deep=True)
    assert report.fault is None, report.fault
    await log.close()

    # The wrapped key is gone from the file (secure_delete + WAL checkpoint).
    with closing(sqlite3.connect(tmp_path / "audit.db")) as conn:
        rows = conn.execute(
            "SELECT wrapped, subject_ref FROM audit_keys WHERE erased_us IS NOT NULL"
        )
        assert [tuple(r) for r in rows] == [(None, None)]

    # Reopened (another process, say), the erased subject stays erased.
    log = await open_audit_log(settings)
    try:
        again = await log.read()
        assert [r.status for r in again].count("erased") == 10
        assert (await log.verify()).fault is None
    finally:
        await log.close()


async def test_erase_unknown_subject_is_a_no_op(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    try:
        await log.record(action="a", outcome="ok", actor_id="U1", actor_identity=None)
        assert await log.erase(subject="nobody") == 0
        assert (await log.read())[0].status == "ok"
    finally:
        await log.close()
