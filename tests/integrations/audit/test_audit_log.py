"""Recording, group commit, checkpoints, AD binding, key rotation, export formats."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from integrations.audit import AuditKeyError, open_audit_log
from integrations.audit.export import cef_escape_extension, cef_escape_header, to_cef, to_jsonl
from integrations.audit.keys import generate_kek_file


async def _wait_for(
    condition: Callable[[], Awaitable[bool]],
    *,
    what: str,
    timeout: float = 5.0,
    interval: float = 0.02,
) -> None:
    """Poll ``condition`` every ``interval`` seconds; fail the test after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def test_record_fields_round_trip(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    try:
        receipt = await log.record(
            action="job.rerun",
            outcome="ok",
            actor_id="U42",
            actor_identity="ann@example.com",
            platform="slack",
            channel="C1",
            thread="T1",
            target="JS_PAYROLL",
            parameters={"job": "J1", "when": Path("x")},
            correlation={"event_id": "e1", "approval_id": "a1", "tws_request_id": "r1"},
        )
        assert receipt.sequence == 1
        assert len(receipt.hash) == 64
        (record,) = await log.read()
        assert record.content is not None
        assert record.content["actor_identity"] == "ann@example.com"
        assert record.content["parameters"] == {"job": "J1", "when": "x"}
        assert record.content["correlation"]["tws_request_id"] == "r1"
        assert record.content["time"].endswith("Z")
        assert await log.read(action="nope") == []
        assert len(await log.read(actor="U42", outcome="ok")) == 1
        assert await log.read(since_us=record.ts_us + 1) == []
        assert len(await log.read(until_us=record.ts_us + 1)) == 1
    finally:
        await log.close()
    # Nothing personal is stored in clear.
    raw = (tmp_path / "audit.db").read_bytes()
    assert b"ann@example.com" not in raw
    assert b"JS_PAYROLL" not in raw


async def test_concurrent_writers_share_one_chain_and_batch(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_records=100)
    log = await open_audit_log(settings)
    calls = 0
    append = log.store.append

    async def counting(planner: Any) -> Any:
        nonlocal calls
        calls += 1
        return await append(planner)

    log.store.append = counting  # type: ignore[method-assign]
    try:
        receipts = await asyncio.gather(
            *(
                log.record(action="a", outcome="ok", actor_id=f"U{i % 9}", actor_identity=None)
                for i in range(1000)
            )
        )
        assert sorted(r.sequence for r in receipts) == list(range(1, 1001))
        report = await log.verify()
        assert report.fault is None
        assert report.checkpoints == 10
        assert calls < 100  # group commit: many records per transaction
    finally:
        await log.close()
    with closing(sqlite3.connect(tmp_path / "audit.db")) as conn:
        assert conn.execute("SELECT count(*) FROM audit_keys").fetchone()[0] == 9


async def test_checkpointer_writes_even_when_idle(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_seconds=0.1)
    log = await open_audit_log(settings)
    try:
        await log.start_checkpointer()

        async def three_checkpoints() -> bool:
            return (await log.verify()).checkpoints >= 3

        # Wait for the checkpoints themselves, not a guess at how long three take.
        await _wait_for(three_checkpoints, what="3 checkpoints from the idle checkpointer")
        report = await log.verify()
        assert report.fault is None
        assert report.checkpoints >= 3
    finally:
        await log.close()


async def test_ciphertext_moved_elsewhere_does_not_decrypt(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    for i in range(3):
        await log.record(
            action="a", outcome="ok", actor_id="U1", actor_identity=None, target=str(i)
        )
    await log.close()
    with closing(sqlite3.connect(tmp_path / "audit.db")) as conn, conn:
        nonce, ct = conn.execute(
            "SELECT nonce, ciphertext FROM audit_records WHERE seq = 1"
        ).fetchone()
        conn.execute(
            "UPDATE audit_records SET nonce = ?, ciphertext = ? WHERE seq = 3", (nonce, ct)
        )
    log = await open_audit_log(Settings(data_dir=tmp_path))
    try:
        statuses = [r.status for r in await log.read()]
        assert statuses == ["ok", "ok", "undecryptable"]
    finally:
        await log.close()


async def test_rotate_key_rewraps_without_rewriting_history(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    log = await open_audit_log(settings)
    for i in range(10):
        await log.record(action="a", outcome="ok", actor_id=f"U{i % 3}", actor_identity=None)
    with closing(sqlite3.connect(tmp_path / "audit.db")) as conn:
        before = conn.execute("SELECT hash FROM audit_records ORDER BY seq").fetchall()
    new_file = tmp_path / "new.key"
    new_kek = generate_kek_file(new_file)
    assert await log.rotate_key(new_kek=new_kek) == 3
    await log.record(action="after", outcome="ok", actor_id="U9", actor_identity=None)
    await log.close()
    with closing(sqlite3.connect(tmp_path / "audit.db")) as conn:
        after = conn.execute("SELECT hash FROM audit_records ORDER BY seq LIMIT 10").fetchall()
    assert before == after
    with pytest.raises(AuditKeyError, match="wrong key-encryption key"):
        await open_audit_log(settings)  # the old key no longer opens the log
    log = await open_audit_log(Settings(data_dir=tmp_path, audit_key_file=new_file))
    try:
        assert [r.status for r in await log.read()] == ["ok"] * 11
        assert (await log.verify(deep=True)).fault is None
    finally:
        await log.close()


async def test_export_formats(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    try:
        await log.record(
            action="job|rerun",
            outcome="failed",
            actor_id="U1",
            actor_identity="a=b\\c",
            target="line1\nline2",
            parameters={"k": "v"},
        )
        (record,) = await log.read()
    finally:
        await log.close()
    line = to_cef(record)
    assert line.startswith("CEF:0|Resync|Resync|")
    assert "|job\\|rerun|job\\|rerun failed|7|" in line
    assert "suser=a\\=b\\\\c" in line
    assert "cs1=line1\\nline2" in line
    assert "\n" not in line
    assert json.loads(to_jsonl(record))["action"] == "job|rerun"
    assert cef_escape_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert cef_escape_extension("x=1\r\ny\\") == "x\\=1\\r\\ny\\\\"
