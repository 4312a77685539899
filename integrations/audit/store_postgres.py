"""PostgreSQL back end (psycopg 3, async): one schema, ``SELECT ... FOR UPDATE`` on the head.

Every writer, in any process, locks the single head row first, so appends from many
processes form one chain. A commit returns once PostgreSQL has made it durable
(``synchronous_commit`` as configured on the server; ``on`` by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
from psycopg import sql

from integrations.audit.errors import AuditStorageError
from integrations.audit.records import KeyRow, Row, now_us
from integrations.audit.store import BatchWrite, Head, PageCursor, Planner, SignedHead

__all__ = ["PostgresStore"]

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.audit_records (
    seq BIGINT PRIMARY KEY, ts_us BIGINT NOT NULL, key_id TEXT NOT NULL,
    nonce BYTEA NOT NULL, prev_hash BYTEA NOT NULL, ciphertext BYTEA NOT NULL, hash BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS audit_records_ts ON {s}.audit_records (ts_us);
CREATE TABLE IF NOT EXISTS {s}.audit_keys (
    key_id TEXT PRIMARY KEY, subject_ref TEXT UNIQUE, kek_id TEXT NOT NULL, wrapped BYTEA,
    created_us BIGINT NOT NULL, erased_us BIGINT);
CREATE TABLE IF NOT EXISTS {s}.audit_checkpoints (
    id BIGSERIAL PRIMARY KEY, seq BIGINT NOT NULL, hash BYTEA NOT NULL, statement TEXT NOT NULL, signature BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash BYTEA NOT NULL,
    epoch BIGINT NOT NULL, kek_id TEXT NOT NULL, statement TEXT NOT NULL,
    signature BYTEA NOT NULL);
"""
_KEY_COLUMNS = "key_id, subject_ref, kek_id, wrapped, created_us, erased_us"


def _key_row(row: tuple[Any, ...]) -> KeyRow:
    key_id, ref, kek_id, wrapped, created, erased = row
    return KeyRow(
        key_id=key_id,
        subject_ref=ref,
        kek_id=kek_id,
        wrapped=None if wrapped is None else bytes(wrapped),
        created_us=created,
        erased_us=erased,
    )


class PostgresStore:
    """An audit log in one PostgreSQL schema."""

    def __init__(self, url: str, *, schema: str = "resync_audit") -> None:
        """Prepare (does not connect) the store.

        Args:
            url: ``postgresql://...``.
            schema: The schema holding the tables (created when missing).
        """
        self._url = url
        self.schema = schema
        self.description = f"PostgreSQL schema {schema}"
        self._conn: psycopg.AsyncConnection[Any] | None = None

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=sql.Identifier(self.schema))

    def _error(self, exc: Exception) -> AuditStorageError:
        return AuditStorageError(f"{self.description}: {type(exc).__name__}: {exc}")

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            except psycopg.Error as exc:
                raise AuditStorageError(
                    f"{self.description}: cannot connect to PostgreSQL ({type(exc).__name__})"
                ) from None
        return self._conn

    async def exists(self) -> bool:
        """Whether this schema holds a log (looks only; creates nothing)."""
        conn = await self._connection()
        try:
            cur = await conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL",
                (sql.Identifier(self.schema, "audit_head").as_string(conn),),
            )
            found = await cur.fetchone()
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return bool(found and found[0])

    async def ping(self) -> None:
        """Read the head on a connection of its own (readiness; the writer's is never shared)."""
        try:
            conn = await psycopg.AsyncConnection.connect(self._url, connect_timeout=3)
            async with conn:
                await conn.execute(self._q("SELECT seq FROM {s}.audit_head"))
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def open(self) -> None:
        """Create the schema and tables when missing."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        await conn.execute(self._q(statement))
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def meta(self) -> dict[str, str]:
        """The log's metadata."""
        conn = await self._connection()
        try:
            cur = await conn.execute(self._q("SELECT name, value FROM {s}.audit_meta"))
            return dict(await cur.fetchall())
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def initialize(self, values: dict[str, str], head: SignedHead) -> dict[str, str]:
        """Write metadata and the genesis head unless another writer already did."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
                cur = await conn.execute(self._q("SELECT 1 FROM {s}.audit_head"))
                if await cur.fetchone() is None:
                    async with conn.cursor() as c:
                        await c.executemany(
                            self._q(
                                "INSERT INTO {s}.audit_meta (name, value) VALUES (%s, %s) "
                                "ON CONFLICT DO NOTHING"
                            ),
                            list(values.items()),
                        )
                    h = head.head
                    await conn.execute(
                        self._q("INSERT INTO {s}.audit_head VALUES (1, %s, %s, %s, %s, %s, %s)"),
                        (h.seq, h.hash, h.epoch, h.kek_id, head.statement.decode(), head.signature),
                    )
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return await self.meta()

    async def append(self, planner: Planner) -> BatchWrite:
        """Write one batch in one transaction holding the head row lock; durable on return."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                cur = await conn.execute(
                    self._q(
                        "SELECT seq, hash, epoch, kek_id FROM {s}.audit_head WHERE id = 1 FOR UPDATE"
                    )
                )
                found = await cur.fetchone()
                if found is None:
                    raise AuditStorageError(f"{self.description}: the log is not initialized")
                head = Head(seq=found[0], hash=bytes(found[1]), epoch=found[2], kek_id=found[3])
                refs = planner.wanted_refs(head)
                keys: dict[str, KeyRow] = {}
                if refs:
                    cur = await conn.execute(
                        self._q(
                            f"SELECT {_KEY_COLUMNS} FROM {{s}}.audit_keys WHERE subject_ref = ANY(%s)"  # noqa: S608
                        ),
                        (refs,),
                    )
                    for row in await cur.fetchall():
                        key = _key_row(row)
                        if key.subject_ref is not None:
                            keys[key.subject_ref] = key
                batch = planner.plan(head, keys)
                async with conn.cursor() as c:
                    if batch.new_keys:
                        await c.executemany(
                            self._q("INSERT INTO {s}.audit_keys VALUES (%s, %s, %s, %s, %s, %s)"),
                            [
                                (
                                    k.key_id,
                                    k.subject_ref,
                                    k.kek_id,
                                    k.wrapped,
                                    k.created_us,
                                    k.erased_us,
                                )
                                for k in batch.new_keys
                            ],
                        )
                    if batch.rows:
                        await c.executemany(
                            self._q(
                                "INSERT INTO {s}.audit_records VALUES (%s, %s, %s, %s, %s, %s, %s)"
                            ),
                            [
                                (s, t, k.decode(), n, p, ct, h)
                                for s, t, k, n, p, ct, h in batch.rows
                            ],
                        )
                    if batch.checkpoints:
                        await c.executemany(
                            self._q(
                                "INSERT INTO {s}.audit_checkpoints (seq, hash, statement, signature) "
                                "VALUES (%s, %s, %s, %s)"
                            ),
                            [(x.seq, x.hash, x.statement, x.signature) for x in batch.checkpoints],
                        )
                await conn.execute(
                    self._q(
                        "UPDATE {s}.audit_head SET seq = %s, hash = %s, statement = %s, signature = %s WHERE id = 1"
                    ),
                    (batch.head.seq, batch.head.hash, batch.statement, batch.signature),
                )
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return batch

    async def rows(
        self, *, since_us: int | None = None, until_us: int | None = None, chunk: int = 20000
    ) -> AsyncIterator[list[Row]]:
        """Stored records in sequence order, in chunks, exactly as stored.

        Every stored row is returned once, duplicates of a ``seq`` included (`PageCursor`).
        """
        conn = await self._connection()
        where = ""
        extra: list[int] = []
        if since_us is not None:
            where += " AND ts_us >= %s"
            extra.append(since_us)
        if until_us is not None:
            where += " AND ts_us < %s"
            extra.append(until_us)
        columns = "seq, ts_us, convert_to(key_id, 'UTF8'), nonce, prev_hash, ciphertext, hash"
        # ctid orders rows that share a seq (only possible once the primary key is gone);
        # with the key in place the index gives seq order and the sort on ctid is free.
        first = self._q(
            f"SELECT {columns} FROM {{s}}.audit_records WHERE TRUE{where} "  # noqa: S608
            "ORDER BY seq, ctid LIMIT %s"
        )
        more = self._q(
            f"SELECT {columns} FROM {{s}}.audit_records WHERE seq >= %s{where} "  # noqa: S608
            "ORDER BY seq, ctid LIMIT %s OFFSET %s"
        )
        page = PageCursor()
        while True:
            try:
                if page.start is None:
                    cur = await conn.execute(first, (*extra, chunk))
                else:
                    cur = await conn.execute(more, (page.start[0], *extra, chunk, page.start[1]))
                fetched = await cur.fetchall()
            except psycopg.Error as exc:
                raise self._error(exc) from None
            batch: list[Row] = [
                (s, t, bytes(k), bytes(n), bytes(p), bytes(c), bytes(h))
                for s, t, k, n, p, c, h in fetched
            ]
            if batch:
                yield batch
            if len(batch) < chunk:
                return
            page.advance(batch)

    async def checkpoints(self) -> list[tuple[object, object, object, object]]:
        """Raw checkpoint rows as stored."""
        conn = await self._connection()
        try:
            cur = await conn.execute(
                self._q(
                    "SELECT seq, hash, statement, signature FROM {s}.audit_checkpoints ORDER BY id"
                )
            )
            return [
                (s, bytes(h), st.encode(), bytes(sig)) for s, h, st, sig in await cur.fetchall()
            ]
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def signed_head(self) -> tuple[object, ...] | None:
        """The raw head row."""
        conn = await self._connection()
        try:
            cur = await conn.execute(
                self._q("SELECT seq, hash, epoch, kek_id, statement, signature FROM {s}.audit_head")
            )
            row = await cur.fetchone()
        except psycopg.Error as exc:
            raise self._error(exc) from None
        if row is None:
            return None
        return (row[0], bytes(row[1]), row[2], row[3], row[4].encode(), bytes(row[5]))

    async def key_rows(self) -> list[KeyRow]:
        """Every data key row."""
        conn = await self._connection()
        try:
            cur = await conn.execute(self._q(f"SELECT {_KEY_COLUMNS} FROM {{s}}.audit_keys"))  # noqa: S608
            return [_key_row(r) for r in await cur.fetchall()]
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def erase(self, subject_ref: str) -> int:
        """Destroy the subject's data keys, then VACUUM the key table (drops dead tuples)."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                await conn.execute(self._q("SELECT 1 FROM {s}.audit_head WHERE id = 1 FOR UPDATE"))
                cur = await conn.execute(
                    self._q(
                        "UPDATE {s}.audit_keys SET wrapped = NULL, subject_ref = NULL, erased_us = %s "
                        "WHERE subject_ref = %s"
                    ),
                    (now_us(), subject_ref),
                )
                count = cur.rowcount
                await conn.execute(self._q("UPDATE {s}.audit_head SET epoch = epoch + 1"))
            await conn.execute(self._q("VACUUM {s}.audit_keys"))
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return count

    async def rewrap(
        self,
        transform: Callable[[list[KeyRow], dict[str, str]], tuple[list[KeyRow], dict[str, str]]],
    ) -> int:
        """Replace key rows and metadata in one locked transaction (KEK rotation)."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                await conn.execute(self._q("SELECT 1 FROM {s}.audit_head WHERE id = 1 FOR UPDATE"))
                cur = await conn.execute(self._q(f"SELECT {_KEY_COLUMNS} FROM {{s}}.audit_keys"))  # noqa: S608
                keys = [_key_row(r) for r in await cur.fetchall()]
                cur = await conn.execute(self._q("SELECT name, value FROM {s}.audit_meta"))
                meta = dict(await cur.fetchall())
                new_keys, new_meta = transform(keys, meta)
                async with conn.cursor() as c:
                    if new_keys:
                        await c.executemany(
                            self._q(
                                "UPDATE {s}.audit_keys SET kek_id = %s, wrapped = %s WHERE key_id = %s"
                            ),
                            [(k.kek_id, k.wrapped, k.key_id) for k in new_keys],
                        )
                    await c.executemany(
                        self._q(
                            "INSERT INTO {s}.audit_meta (name, value) VALUES (%s, %s) "
                            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
                        ),
                        list(new_meta.items()),
                    )
                await conn.execute(
                    self._q("UPDATE {s}.audit_head SET epoch = epoch + 1, kek_id = %s"),
                    (new_meta["kek_id"],),
                )
            await conn.execute(self._q("VACUUM {s}.audit_keys"))
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return len(new_keys)

    async def drop(self) -> None:
        """Drop the whole schema (tests)."""
        conn = await self._connection()
        await conn.execute(self._q("DROP SCHEMA IF EXISTS {s} CASCADE"))

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
