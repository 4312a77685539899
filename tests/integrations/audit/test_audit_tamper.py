"""Tamper suite: an attacker edits the SQLite file directly; verify names the right seq."""

from __future__ import annotations

import random
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from config.settings import Settings
from integrations.audit import open_audit_log, verify_store
from integrations.audit.chain import (
    GENESIS_HASH,
    export_checkpoint,
    import_checkpoint,
    record_hash,
    record_hash_prefix,
)
from integrations.audit.store_sqlite import SqliteStore
from integrations.audit.verify import Fault

RECORDS = 30
EVERY = 10


async def _fill(settings: Settings, count: int, start: int = 0) -> bytes:
    log = await open_audit_log(settings)
    for i in range(start, start + count):
        await log.record(
            action="job.rerun",
            outcome="ok" if i % 3 else "failed",
            actor_id=f"U{i % 4}",
            actor_identity=f"user{i % 4}@example.com",
            target=f"JS{i}",
            parameters={"i": i},
            correlation={"event_id": f"e{i}"},
        )
    key = log.public_key
    await log.close()
    return key


def _snapshot(src: Path, dst: Path) -> None:
    """Copy a live database, WAL included, with SQLite's backup API."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings, bytes]:
    import asyncio

    data = tmp_path_factory.mktemp("tamper")
    settings = Settings(data_dir=data, audit_checkpoint_every_records=EVERY)
    key = asyncio.run(_fill(settings, RECORDS))
    return data / "audit.db", settings, key


async def _verify(
    db: Path, key: bytes, checkpoint: tuple[str, bytes] | None = None
) -> Fault | None:
    store = SqliteStore(db)
    try:
        await store.open()
        report = await verify_store(store, trusted_key=key, checkpoint=checkpoint)
    finally:
        await store.close()
    return report.fault


def _copy(pristine: Path, tmp: Path, name: str) -> Path:
    target = tmp / f"{name}.db"
    _snapshot(pristine, target)
    return target


def _flip(value: object, rng: random.Random) -> object:
    if isinstance(value, bytes):
        i = rng.randrange(len(value))
        return value[:i] + bytes([value[i] ^ rng.randrange(1, 256)]) + value[i + 1 :]
    if isinstance(value, str):
        return _flip(value.encode(), rng)
    assert isinstance(value, int)
    return value ^ (rng.randrange(1, 256) << (8 * rng.randrange(0, 5)))


async def test_pristine_log_verifies(pristine: tuple[Path, Settings, bytes]) -> None:
    db, _, key = pristine
    assert await _verify(db, key) is None


async def test_every_byte_flip_in_every_record_field_is_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, key = pristine
    rng = random.Random(7)
    columns = ("ts_us", "key_id", "nonce", "prev_hash", "ciphertext", "hash")
    for seq in range(1, RECORDS + 1):
        for column in (*columns, "seq"):
            target = _copy(db, tmp_path, f"r{seq}{column}")
            with sqlite3.connect(target) as conn:
                (value,) = conn.execute(
                    f"SELECT CAST({column} AS BLOB) FROM audit_records WHERE seq = ?"  # noqa: S608
                    if column in ("key_id",)
                    else f"SELECT {column} FROM audit_records WHERE seq = ?",  # noqa: S608
                    (seq,),
                ).fetchone()
                new = seq + 256 * rng.randrange(1, 100) if column == "seq" else _flip(value, rng)
                conn.execute(
                    f"UPDATE audit_records SET {column} = ? WHERE seq = ?",  # noqa: S608
                    (new, seq),
                )
            fault = await _verify(target, key)
            assert fault is not None, (seq, column)
            assert fault.seq == seq, (seq, column, fault)
            target.unlink()


async def test_flips_in_checkpoints_and_head_are_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, key = pristine
    rng = random.Random(11)
    with sqlite3.connect(db) as conn:
        cps = [r[0] for r in conn.execute("SELECT seq FROM audit_checkpoints ORDER BY rowid")]
    assert cps == [10, 20, 30]
    for rowid, seq in enumerate(cps, start=1):
        for column in ("seq", "hash", "statement", "signature"):
            target = _copy(db, tmp_path, f"c{seq}{column}")
            with sqlite3.connect(target) as conn:
                (value,) = conn.execute(
                    f"SELECT CAST({column} AS BLOB) FROM audit_checkpoints WHERE rowid = ?",  # noqa: S608
                    (rowid,),
                ).fetchone()
                if column == "seq":
                    value = seq
                conn.execute(
                    f"UPDATE audit_checkpoints SET {column} = ? WHERE rowid = ?",  # noqa: S608
                    (_flip(value, rng), rowid),
                )
            fault = await _verify(target, key)
            assert fault is not None, (seq, column)
            assert fault.seq == seq, (seq, column, fault)
    for column in ("seq", "hash", "statement", "signature"):
        target = _copy(db, tmp_path, f"h{column}")
        with sqlite3.connect(target) as conn:
            (value,) = conn.execute(f"SELECT CAST({column} AS BLOB) FROM audit_head").fetchone()  # noqa: S608
            if column == "seq":
                value = RECORDS
            conn.execute(f"UPDATE audit_head SET {column} = ?", (_flip(value, rng),))  # noqa: S608
        fault = await _verify(target, key)
        assert fault is not None, column
        assert fault.seq == RECORDS, (column, fault)


@pytest.mark.parametrize("victim", [1, 7, 15, RECORDS])
async def test_deleted_record_is_named(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path, victim: int
) -> None:
    db, _, key = pristine
    target = _copy(db, tmp_path, "del")
    with sqlite3.connect(target) as conn:
        conn.execute("DELETE FROM audit_records WHERE seq = ?", (victim,))
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == victim


def _swap(conn: sqlite3.Connection, a: int, b: int, columns: str) -> None:
    ra = conn.execute(f"SELECT {columns} FROM audit_records WHERE seq = ?", (a,)).fetchone()  # noqa: S608
    rb = conn.execute(f"SELECT {columns} FROM audit_records WHERE seq = ?", (b,)).fetchone()  # noqa: S608
    sets = ", ".join(f"{c.strip()} = ?" for c in columns.split(","))
    conn.execute(f"UPDATE audit_records SET {sets} WHERE seq = ?", (*rb, a))  # noqa: S608
    conn.execute(f"UPDATE audit_records SET {sets} WHERE seq = ?", (*ra, b))  # noqa: S608


async def test_reordering_is_found(pristine: tuple[Path, Settings, bytes], tmp_path: Path) -> None:
    db, _, key = pristine
    target = _copy(db, tmp_path, "reorder")
    with sqlite3.connect(target) as conn:
        _swap(conn, 12, 5, "ts_us, key_id, nonce, prev_hash, ciphertext, hash")
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == 5


async def test_swapped_ciphertexts_are_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, key = pristine
    target = _copy(db, tmp_path, "swapct")
    with sqlite3.connect(target) as conn:
        _swap(conn, 9, 22, "ciphertext")
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == 9


async def test_duplicated_record_is_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, key = pristine
    for source in (4, RECORDS):
        target = _copy(db, tmp_path, f"dup{source}")
        with sqlite3.connect(target) as conn:
            conn.execute(
                "INSERT INTO audit_records SELECT ?, ts_us, key_id, nonce, prev_hash, ciphertext, hash "
                "FROM audit_records WHERE seq = ?",
                (RECORDS + 1, source),
            )
        fault = await _verify(target, key)
        assert fault is not None
        assert fault.seq == RECORDS + 1


def _forge(conn: sqlite3.Connection, seq: int, prev: bytes) -> bytes:
    (log_id,) = conn.execute("SELECT value FROM audit_meta WHERE name = 'log_id'").fetchone()
    key_id = conn.execute("SELECT key_id FROM audit_records WHERE seq = 1").fetchone()[0].encode()
    nonce, ciphertext, ts = (
        b"\1" * 12,
        b"forged by an attacker with db access",
        1_700_000_000_000_000,
    )
    digest = record_hash(
        prefix=record_hash_prefix(bytes.fromhex(log_id)),
        seq=seq,
        ts_us=ts,
        prev_hash=prev,
        nonce=nonce,
        key_id=key_id,
        ciphertext=ciphertext,
    )
    conn.execute(
        "INSERT INTO audit_records VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, ts, key_id.decode(), nonce, prev, ciphertext, digest),
    )
    return digest


async def test_forged_record_appended_with_valid_hash_is_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, _, key = pristine
    target = _copy(db, tmp_path, "forge_tail")
    with sqlite3.connect(target) as conn:
        (last,) = conn.execute(
            "SELECT hash FROM audit_records WHERE seq = ?", (RECORDS,)
        ).fetchone()
        _forge(conn, RECORDS + 1, last)
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == RECORDS + 1
    assert "forged" in fault.problem


async def test_forged_record_inserted_in_the_middle_is_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    db, settings, key = pristine
    target = _copy(db, tmp_path, "forge_mid")
    k = 13
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE audit_records SET seq = seq + 1000 WHERE seq >= ?", (k,))
        conn.execute("UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000")
        (prev,) = conn.execute("SELECT hash FROM audit_records WHERE seq = ?", (k - 1,)).fetchone()
        _forge(conn, k, prev)
    fault = await _verify(target, key)
    assert fault is not None
    # Keyless, the first record that no longer links is the one after the forgery...
    assert fault.seq == k + 1
    # ...and the deep check (with the KEK) names the forged record itself.
    _snapshot(target, settings.data_dir / "forged.db")
    log = await open_audit_log(settings, store=SqliteStore(settings.data_dir / "forged.db"))
    try:
        report = await log.verify(deep=True)
    finally:
        await log.close()
    assert report.fault is not None
    assert report.fault.seq == k


async def test_truncation_and_rollback_against_exported_checkpoint(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_records=EVERY)
    key = await _fill(settings, 20)
    db = tmp_path / "audit.db"
    _snapshot(db, tmp_path / "at20.db")
    await _fill(settings, 10, start=20)
    log = await open_audit_log(settings)
    statement, signature = await log.checkpoint()
    await log.close()
    exported = tmp_path / "cp.json"
    exported.write_text(export_checkpoint(text=statement, signature=signature))
    checkpoint = import_checkpoint(exported.read_text())
    assert await _verify(db, key, checkpoint) is None

    # Rollback: the whole file replaced by an older, self-consistent copy.
    rolled = tmp_path / "rolled.db"
    _snapshot(tmp_path / "at20.db", rolled)
    assert await _verify(rolled, key) is None  # consistent on its own...
    fault = await _verify(rolled, key, checkpoint)  # ...but not against the checkpoint
    assert fault is not None
    assert fault.seq == 21

    # Truncation with the head and checkpoints patched back to an older signed state.
    truncated = _copy(db, tmp_path, "trunc")
    with sqlite3.connect(truncated) as conn, sqlite3.connect(tmp_path / "at20.db") as old:
        conn.execute("DELETE FROM audit_records WHERE seq > 20")
        conn.execute("DELETE FROM audit_checkpoints WHERE seq > 20")
        conn.execute("DELETE FROM audit_head")
        conn.executemany(
            "INSERT INTO audit_head VALUES (?, ?, ?, ?, ?, ?, ?)",
            old.execute("SELECT * FROM audit_head").fetchall(),
        )
    assert await _verify(truncated, key) is None
    fault = await _verify(truncated, key, checkpoint)
    assert fault is not None
    assert fault.seq == 21

    # Plain truncation (head not patched) is caught without any checkpoint.
    cut = _copy(db, tmp_path, "cut")
    with sqlite3.connect(cut) as conn:
        conn.execute("DELETE FROM audit_records WHERE seq > 26")
    fault = await _verify(cut, key)
    assert fault is not None
    assert fault.seq == 27

    # Rolled back and regrown (a fork): caught at the checkpoint's seq.
    fork_dir = tmp_path / "fork"
    fork_dir.mkdir()
    for name in ("audit.key", "audit-signing.key"):
        shutil.copy(tmp_path / name, fork_dir / name)
    _snapshot(tmp_path / "at20.db", fork_dir / "audit.db")
    await _fill(Settings(data_dir=fork_dir, audit_checkpoint_every_records=EVERY), 10, start=500)
    fault = await _verify(fork_dir / "audit.db", key, checkpoint)
    assert fault is not None
    assert fault.seq == 30


async def test_empty_log_verifies_and_genesis_is_zero(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    log = await open_audit_log(settings)
    key = log.public_key
    await log.close()
    assert await _verify(tmp_path / "audit.db", key) is None
    assert bytes(32) == GENESIS_HASH


async def test_truncation_to_a_checkpoint_copied_into_the_head_is_found(
    pristine: tuple[Path, Settings, bytes], tmp_path: Path
) -> None:
    """No exported checkpoint: cut the log back to a stored checkpoint and re-sign the head
    with that checkpoint's statement. The statement says it is a checkpoint, not a head."""
    db, _, key = pristine
    target = _copy(db, tmp_path, "cut")
    cut = 20
    with closing(sqlite3.connect(target)) as conn:
        row = conn.execute(
            "SELECT seq, hash, statement, signature FROM audit_checkpoints WHERE seq = ?", (cut,)
        ).fetchone()
        assert row is not None
        conn.execute("DELETE FROM audit_records WHERE seq > ?", (cut,))
        conn.execute("DELETE FROM audit_checkpoints WHERE seq > ?", (cut,))
        conn.execute("UPDATE audit_head SET seq = ?, hash = ?, statement = ?, signature = ?", row)
        conn.commit()
    fault = await _verify(target, key)
    assert fault is not None
    assert fault.seq == cut
    assert "not a head" in fault.problem
