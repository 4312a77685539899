"""SQLite back end: one file in WAL mode, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` writes.

All calls run on one dedicated thread that owns the connection. ``BEGIN IMMEDIATE`` takes
SQLite's single writer lock, so writers in several processes still append one chain;
``synchronous=FULL`` makes a commit durable before `append` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from integrations.audit.errors import AuditStorageError
from integrations.audit.records import KeyRow, Row, now_us
from integrations.audit.store import BatchWrite, Head, PageCursor, Planner, SignedHead

__all__ = ["SCHEMA", "SqliteStore", "private_file"]

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_records (
    seq INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, key_id TEXT NOT NULL,
    nonce BLOB NOT NULL, prev_hash BLOB NOT NULL, ciphertext BLOB NOT NULL, hash BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS audit_records_ts ON audit_records (ts_us);
CREATE TABLE IF NOT EXISTS audit_keys (
    key_id TEXT PRIMARY KEY, subject_ref TEXT UNIQUE, kek_id TEXT NOT NULL, wrapped BLOB,
    created_us INTEGER NOT NULL, erased_us INTEGER);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER NOT NULL, hash BLOB NOT NULL, statement TEXT NOT NULL, signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash BLOB NOT NULL,
    epoch INTEGER NOT NULL, kek_id TEXT NOT NULL, statement TEXT NOT NULL,
    signature BLOB NOT NULL);
"""

_HEAD = "SELECT seq, hash, epoch, kek_id FROM audit_head WHERE id = 1"
# A wrapped key altered into TEXT (``wrapped || x'00'`` is TEXT in SQLite) still reads as
# bytes: it is then a damaged key, not a missing (erased) one.
_KEY_COLUMNS = "key_id, subject_ref, kek_id, CAST(wrapped AS BLOB), created_us, erased_us"


def _key_row(row: tuple[object, ...]) -> KeyRow:
    key_id, ref, kek_id, wrapped, created, erased = row
    # SQLite keeps whatever was written: a damaged row must not stop reading the others.
    return KeyRow(
        key_id=str(key_id),
        subject_ref=None if ref is None else str(ref),
        kek_id=str(kek_id),
        wrapped=wrapped if isinstance(wrapped, bytes) else None,
        created_us=created if isinstance(created, int) else 0,
        erased_us=erased if isinstance(erased, int) else None,
    )


def private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only (0600), or tighten it to that.

    SQLite creates its ``-wal`` and ``-shm`` files with the database file's permissions, so
    a database file created here keeps the whole database private whatever the umask.

    Args:
        path: The database file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            with contextlib.suppress(FileNotFoundError):
                if existing.stat().st_mode & 0o077:
                    existing.chmod(0o600)


class SqliteStore:
    """An audit log in one SQLite file."""

    def __init__(self, path: Path, *, pragmas: Mapping[str, str | int] | None = None) -> None:
        """Prepare (does not open) the store.

        Args:
            path: The database file (created when missing).
            pragmas: Extra PRAGMAs applied after the defaults (tests simulate a full disk
                with ``max_page_count``).
        """
        self.path = path
        self.description = f"SQLite {path}"
        self._pragmas = dict(pragmas or {})
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")
        self._conn: sqlite3.Connection | None = None

    # --- plumbing ---------------------------------------------------------------------------
    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._conn is None:
                self._conn = self._connect()
            return fn(self._conn)
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from None

    def _storage_error(self, exc: sqlite3.Error) -> AuditStorageError:
        text = str(exc)
        if "full" in text:
            hint = "the disk (or the database size limit) is full; free space, nothing in this batch was recorded"
        elif "not a database" in text or "malformed" in text:
            hint = "the file is corrupted or not an audit database; restore it from a backup"
        elif "locked" in text or "busy" in text:
            hint = "another process holds the write lock too long"
        else:
            hint = "the audit store failed"
        return AuditStorageError(f"{self.description}: {text} ({hint})")

    def _connect(self) -> sqlite3.Connection:
        # Encrypted content, but clear metadata (counts, times, who shares a key): private.
        private_file(self.path)
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=30.0, check_same_thread=False
        )
        # Text that is not UTF-8 (an altered row) must read as damaged, not stop every read.
        conn.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        for name, value in self._pragmas.items():
            conn.execute(f"PRAGMA {name}={value}")
        return conn

    @staticmethod
    def _write(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    # --- contract ---------------------------------------------------------------------------
    async def exists(self) -> bool:
        """Whether the database file exists (looks only; creates nothing)."""
        return self.path.is_file()

    async def ping(self) -> None:
        """Read the head on a read-only connection of its own (readiness)."""

        def read() -> None:
            uri = f"{self.path.as_uri()}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=2.0)) as conn:
                conn.execute("SELECT seq FROM audit_head").fetchone()

        try:
            await asyncio.to_thread(read)
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from None

    async def open(self) -> None:
        """Create the schema when missing."""

        def create(conn: sqlite3.Connection) -> None:
            conn.executescript(SCHEMA)

        await self._run(create)

    async def meta(self) -> dict[str, str]:
        """The log's metadata."""

        def read(conn: sqlite3.Connection) -> dict[str, str]:
            return {str(n): str(v) for n, v in conn.execute("SELECT name, value FROM audit_meta")}

        return await self._run(read)

    async def initialize(self, values: dict[str, str], head: SignedHead) -> dict[str, str]:
        """Write metadata and the genesis head unless another writer already did."""

        def init(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM audit_head").fetchone() is not None:
                return
            conn.executemany(
                "INSERT OR IGNORE INTO audit_meta (name, value) VALUES (?, ?)", values.items()
            )
            h = head.head
            conn.execute(
                "INSERT INTO audit_head VALUES (1, ?, ?, ?, ?, ?, ?)",
                (h.seq, h.hash, h.epoch, h.kek_id, head.statement.decode(), head.signature),
            )

        await self._run(lambda conn: self._write(conn, init))
        return await self.meta()

    async def append(self, planner: Planner) -> BatchWrite:
        """Write one batch in one ``BEGIN IMMEDIATE`` transaction; durable on return."""

        def write(conn: sqlite3.Connection) -> BatchWrite:
            found = conn.execute(_HEAD).fetchone()
            if found is None:
                raise AuditStorageError(f"{self.description}: the log is not initialized")
            head = Head(seq=found[0], hash=found[1], epoch=found[2], kek_id=found[3])
            refs = planner.wanted_refs(head)
            keys: dict[str, KeyRow] = {}
            for start in range(0, len(refs), 500):
                part = refs[start : start + 500]
                marks = ",".join("?" * len(part))
                for row in conn.execute(
                    f"SELECT {_KEY_COLUMNS} FROM audit_keys WHERE subject_ref IN ({marks})",  # noqa: S608
                    part,
                ):
                    key = _key_row(row)
                    if key.subject_ref is not None:
                        keys[key.subject_ref] = key
            batch = planner.plan(head, keys)
            if batch.new_keys:
                conn.executemany(
                    "INSERT INTO audit_keys VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (k.key_id, k.subject_ref, k.kek_id, k.wrapped, k.created_us, k.erased_us)
                        for k in batch.new_keys
                    ],
                )
            conn.executemany(
                "INSERT INTO audit_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s, t, k.decode(), n, p, c, h) for s, t, k, n, p, c, h in batch.rows],
            )
            if batch.checkpoints:
                conn.executemany(
                    "INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?)",
                    [(c.seq, c.hash, c.statement, c.signature) for c in batch.checkpoints],
                )
            conn.execute(
                "UPDATE audit_head SET seq = ?, hash = ?, statement = ?, signature = ? WHERE id = 1",
                (batch.head.seq, batch.head.hash, batch.statement, batch.signature),
            )
            return batch

        return await self._run(lambda conn: self._write(conn, write))

    async def rows(
        self, *, since_us: int | None = None, until_us: int | None = None, chunk: int = 20000
    ) -> AsyncIterator[list[Row]]:
        """Stored records in sequence order, in chunks, exactly as stored.

        Every stored row is returned once, duplicates of a ``seq`` included (verification
        must see them), wherever they fall relative to a chunk's end (`next_page`).
        """
        where = ""
        params: list[int] = []
        if since_us is not None:
            where += " AND ts_us >= ?"
            params.append(since_us)
        if until_us is not None:
            where += " AND ts_us < ?"
            params.append(until_us)
        columns = "seq, ts_us, CAST(key_id AS BLOB), nonce, prev_hash, ciphertext, hash"
        # rowid orders rows that share a seq (only possible once the primary key is gone).
        first = f"SELECT {columns} FROM audit_records WHERE 1{where} ORDER BY seq, rowid LIMIT ?"  # noqa: S608
        more = (
            f"SELECT {columns} FROM audit_records WHERE seq >= ?{where} "  # noqa: S608
            "ORDER BY seq, rowid LIMIT ? OFFSET ?"
        )
        page = PageCursor()
        while True:
            start = page.start

            def read(
                conn: sqlite3.Connection, start: tuple[object, int] | None = start
            ) -> list[Row]:
                if start is None:
                    return conn.execute(first, (*params, chunk)).fetchall()
                return conn.execute(more, (start[0], *params, chunk, start[1])).fetchall()

            batch = await self._run(read)
            if batch:
                yield batch
            if len(batch) < chunk:
                return
            page.advance(batch)

    async def checkpoints(self) -> list[tuple[object, object, object, object]]:
        """Raw checkpoint rows as stored."""
        return await self._run(
            lambda conn: conn.execute(
                "SELECT seq, hash, CAST(statement AS BLOB), signature "
                "FROM audit_checkpoints ORDER BY rowid"
            ).fetchall()
        )

    async def signed_head(self) -> tuple[object, ...] | None:
        """The raw head row."""
        return await self._run(
            lambda conn: conn.execute(
                "SELECT seq, hash, epoch, kek_id, CAST(statement AS BLOB), signature "
                "FROM audit_head"
            ).fetchone()
        )

    async def key_rows(self) -> list[KeyRow]:
        """Every data key row."""
        return await self._run(
            lambda conn: [
                _key_row(r)
                for r in conn.execute(f"SELECT {_KEY_COLUMNS} FROM audit_keys")  # noqa: S608
            ]
        )

    async def erase(self, subject_ref: str) -> int:
        """Destroy the subject's data keys (secure_delete, then a WAL checkpoint)."""

        def erase(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "UPDATE audit_keys SET wrapped = NULL, subject_ref = NULL, erased_us = ? "
                "WHERE subject_ref = ?",
                (now_us(), subject_ref),
            )
            conn.execute("UPDATE audit_head SET epoch = epoch + 1")
            return cursor.rowcount

        def run(conn: sqlite3.Connection) -> int:
            count = self._write(conn, erase)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return count

        return await self._run(run)

    async def rewrap(
        self,
        transform: Callable[[list[KeyRow], dict[str, str]], tuple[list[KeyRow], dict[str, str]]],
    ) -> int:
        """Replace key rows and metadata in one locked transaction (KEK rotation)."""

        def rewrap(conn: sqlite3.Connection) -> int:
            keys = [_key_row(r) for r in conn.execute(f"SELECT {_KEY_COLUMNS} FROM audit_keys")]  # noqa: S608
            meta = {str(n): str(v) for n, v in conn.execute("SELECT name, value FROM audit_meta")}
            new_keys, new_meta = transform(keys, meta)
            conn.executemany(
                "UPDATE audit_keys SET kek_id = ?, wrapped = ? WHERE key_id = ?",
                [(k.kek_id, k.wrapped, k.key_id) for k in new_keys],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO audit_meta (name, value) VALUES (?, ?)", new_meta.items()
            )
            conn.execute(
                "UPDATE audit_head SET epoch = epoch + 1, kek_id = ?", (new_meta["kek_id"],)
            )
            return len(new_keys)

        def run(conn: sqlite3.Connection) -> int:
            count = self._write(conn, rewrap)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return count

        return await self._run(run)

    async def close(self) -> None:
        """Close the connection and its thread."""

        def close(conn: sqlite3.Connection) -> None:
            conn.close()

        if self._conn is not None:
            await self._run(close)
            self._conn = None
        self._executor.shutdown(wait=True)
