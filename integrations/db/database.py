"""`Database`: the async engine, its transactions, and the tables that use them.

All statements run in `Database.transaction`, which maps driver failures to
`DatabaseError` naming the store and the call. Integrity errors are left to the callers
(the UNIQUE constraints are how exactly-once is decided), and any other exception raised
inside the block (an audit guard) rolls the transaction back and propagates unchanged.

A database may be opened on first use (`Database.deferred`, the local SQLite file): the
engine is created and migrated by the first transaction, so a process that never touches
incidents (``resync ask``) neither imports SQLAlchemy nor opens the file. This module
imports SQLAlchemy only inside its methods for that reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from integrations.db.errors import DatabaseError

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from integrations.db.incidents import IncidentTable
    from integrations.db.places import PlaceTable
    from integrations.db.steps import StepTable

__all__ = ["BEGIN_OPTION", "Database", "EngineOpener"]

# Read by the SQLite "begin" listener: how to open the transaction.
BEGIN_OPTION = "resync_sqlite_begin"

EngineOpener = Callable[[], Awaitable["AsyncEngine"]]
"""Creates the engine and brings its schema to head (what a deferred database runs once)."""


class Database:
    """The incident database: an engine and its tables."""

    def __init__(self, *, engine: AsyncEngine, description: str) -> None:
        """Wrap an engine whose schema is at the head revision.

        Args:
            engine: The async engine (see `integrations.db.open_database`).
            description: What to call the store in errors (never holds credentials).
        """
        self._engine: AsyncEngine | None = engine
        self._opener: EngineOpener | None = None
        self._dialect = engine.dialect.name
        self._opening = asyncio.Lock()
        self.description = description

    @classmethod
    def deferred(cls, opener: EngineOpener, *, description: str, dialect: str) -> Database:
        """A database whose engine is created (and migrated) by its first transaction.

        Args:
            opener: Creates the engine and migrates it; called once (again after a failure).
            description: What to call the store in errors (never holds credentials).
            dialect: ``sqlite`` or ``postgresql``, known before the engine exists.

        Returns:
            The database, not opened yet.
        """
        self = cls.__new__(cls)
        self._engine = None
        self._opener = opener
        self._dialect = dialect
        self._opening = asyncio.Lock()
        self.description = description
        return self

    @property
    def engine(self) -> AsyncEngine:
        """The engine (`open` it first when the database is deferred).

        Raises:
            DatabaseError: The database has not been opened yet.
        """
        if self._engine is None:
            raise DatabaseError(f"{self.description}: not opened yet (it opens on first use)")
        return self._engine

    @property
    def opened(self) -> bool:
        """Whether the engine exists (always, unless deferred and not used yet)."""
        return self._engine is not None

    async def open(self) -> AsyncEngine:
        """The engine, created and migrated now if the database was deferred.

        Concurrent first uses wait for one opening; a failed opening is tried again by the
        next use.

        Returns:
            The engine, its schema at head.

        Raises:
            DatabaseError: The database could not be opened or migrated.
        """
        if self._engine is not None:
            return self._engine
        async with self._opening:
            if self._engine is None:
                if self._opener is None:  # closed
                    raise DatabaseError(f"{self.description}: closed")
                self._engine = await self._opener()
            return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._dialect

    @cached_property
    def incidents(self) -> IncidentTable:
        """Incidents, their counters and timeline."""
        from integrations.db.incidents import IncidentTable

        return IncidentTable(self)

    @cached_property
    def places(self) -> PlaceTable:
        """Where each incident lives."""
        from integrations.db.places import PlaceTable

        return PlaceTable(self)

    @cached_property
    def steps(self) -> StepTable:
        """The outbox of side effects."""
        from integrations.db.steps import StepTable

        return StepTable(self)

    def insert(self, table: sa.Table) -> Any:
        """A dialect INSERT (both support ``ON CONFLICT`` and ``RETURNING``).

        Args:
            table: The table.

        Returns:
            The dialect's insert construct.
        """
        from sqlalchemy.dialects import postgresql, sqlite

        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @asynccontextmanager
    async def transaction(
        self, what: str, *, read_only: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """One transaction; committed when the block ends normally.

        On SQLite a writing transaction starts with ``BEGIN IMMEDIATE``: it takes the write
        lock first, so two writers queue on the busy timeout instead of failing to upgrade a
        read lock. Readers use a deferred ``BEGIN`` and never wait (WAL).

        Args:
            what: The call, for error messages (e.g. ``create incident``).
            read_only: The block only reads.

        Yields:
            The connection, inside the transaction.

        Raises:
            DatabaseError: The database failed (the message names the store and the call).
            IntegrityError: A constraint refused a write (callers decide what it means).
        """
        engine = await self.open()
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError

        try:
            async with engine.connect() as conn:
                if read_only:
                    conn = await conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
                async with conn.begin():
                    yield conn
        except IntegrityError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            cause = getattr(exc, "orig", None) or exc
            raise DatabaseError(
                f"{self.description}: {what} failed: {type(cause).__name__}: {cause}"
            ) from exc

    async def close(self) -> None:
        """Close the connection pool (a deferred database never opened has none).

        An opening in progress finishes first, so its engine is not left behind open.
        """
        async with self._opening:
            self._opener = None
            if self._engine is not None:
                await self._engine.dispose()
