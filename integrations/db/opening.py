"""`open_database`: pick SQLite or PostgreSQL, create the engine, migrate to head.

- No URL: the SQLite file ``incidents.db`` under ``data_dir`` (created 0600), through
  ``sqlite+aiosqlite``, in WAL mode with a busy timeout, foreign keys on.
- ``postgresql://`` (or ``postgres://``): ``postgresql+psycopg``, every connection on its
  own schema (``search_path``), created when missing.

``lazy=True`` defers the SQLite engine and its migration to the first transaction (the file
is still created at once, so a data directory that cannot hold it fails at start). A
PostgreSQL database is always opened at once: a shared server that is down or refuses the
credentials must stop the process at start, not surprise the first incident. SQLAlchemy is
imported when an engine is made, not with this module.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.db.database import BEGIN_OPTION, Database
from integrations.db.errors import DatabaseError

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["DEFAULT_SCHEMA", "SQLITE_FILE", "open_database"]

SQLITE_FILE = "incidents.db"
DEFAULT_SCHEMA = "resync_incidents"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_BUSY_TIMEOUT_MS = 30_000


async def open_database(
    url: str | None, *, data_dir: Path, schema: str = DEFAULT_SCHEMA, lazy: bool = False
) -> Database:
    """Open the incident database and bring its schema to the head revision.

    Args:
        url: ``postgresql://...``; None for SQLite under ``data_dir``. A ``sqlite://`` URL
            names another SQLite file.
        data_dir: Where the SQLite file lives (created when missing).
        schema: The PostgreSQL schema (tests use one per run).
        lazy: SQLite only: create the engine and migrate on first use (see the module
            docstring); PostgreSQL is opened at once either way.

    Returns:
        The open database (with ``lazy`` and SQLite: opened by its first transaction).

    Raises:
        DatabaseError: The URL is not usable or the database is not reachable.
        MigrationError: The schema could not be migrated.
    """
    if url is None:
        path = data_dir / SQLITE_FILE
    else:
        parsed = _parse(url)
        if parsed.get_backend_name() != "sqlite":
            engine = await _postgres(parsed, schema=schema)
            description = (
                f"PostgreSQL {parsed.host}:{parsed.port or 5432}/{parsed.database} schema {schema}"
            )
            await _migrated(engine, scope=schema, description=description)
            return Database(engine=engine, description=description)
        path = Path(parsed.database or "")
    description = f"SQLite {path}"
    _create_private(path)

    async def opener() -> AsyncEngine:
        return await _migrated(_sqlite(path), scope="sqlite", description=description)

    if lazy:
        return Database.deferred(opener, description=description, dialect="sqlite")
    return Database(engine=await opener(), description=description)


async def _migrated(engine: AsyncEngine, *, scope: str, description: str) -> AsyncEngine:
    """``engine`` with its schema at head; disposed of when that fails."""
    from integrations.db.migrate import upgrade

    try:
        await upgrade(engine, scope=scope, description=description)
    except BaseException:
        await engine.dispose()
        raise
    return engine


def _parse(url: str) -> URL:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError("the database URL is not a URL (expected postgresql://...)") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise DatabaseError(f"unsupported database {backend!r}: expected postgresql://... or none")


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only, before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError(f"SQLite {path}: cannot create the file: {exc}") from exc
    os.close(descriptor)


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode, waiting out another connection that holds a lock.

    WAL is a property of the file, so most connections find it set and change nothing. The
    switch itself can fail with "database is locked" *without* SQLite calling the busy handler:
    when two connections both hold a shared lock and both want more, SQLite fails one at once
    rather than let them deadlock. That happens when replicas (or one process's pool) open a
    new file together, so the switch is retried here until the busy timeout is spent.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()
            if mode and str(mode[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, whichever adapter wraps it
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        # Blocking on purpose: this runs inside the driver's connect, at start-up only.
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _sqlite(path: Path) -> AsyncEngine:
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    # Again for a deferred open, maybe long after the start: SQLite must never be the one
    # to create the file (with the umask's permissions).
    _create_private(path)
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching to WAL takes a lock, and without it a connection
        # opened while another process switches fails at once with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


async def _postgres(url: URL, *, schema: str) -> AsyncEngine:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    if not _SCHEMA_NAME.fullmatch(schema):
        raise DatabaseError(f"bad schema name {schema!r}: lower-case letters, digits and _")
    where = f"PostgreSQL {url.host}:{url.port or 5432}/{url.database}"
    # The schema must exist before the engine's first connection: the dialect reads the
    # connection's current schema once, and a missing schema would read as none.
    bootstrap = create_async_engine(url, poolclass=NullPool)
    try:
        async with bootstrap.begin() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x5E5C_0001})
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    except (SQLAlchemyError, OSError) as exc:
        cause = getattr(exc, "orig", None) or exc
        raise DatabaseError(f"{where}: cannot create schema {schema}: {cause}") from exc
    finally:
        await bootstrap.dispose()
    return create_async_engine(
        url,
        connect_args={"options": f"-c search_path={schema}"},
        pool_size=5,
        max_overflow=10,
        pool_pre_ping=True,
    )
