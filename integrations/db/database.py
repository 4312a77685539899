"""`Database`: the async engine, its transactions, and the tables that use them.

All statements run in `Database.transaction`, which maps driver failures to
`DatabaseError` naming the store and the call. Integrity errors are left to the callers
(the UNIQUE constraints are how exactly-once is decided), and any other exception raised
inside the block (an audit guard) rolls the transaction back and propagates unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from integrations.db.errors import DatabaseError
from integrations.db.incidents import IncidentTable
from integrations.db.places import PlaceTable
from integrations.db.steps import StepTable

__all__ = ["Database"]

# Read by the SQLite "begin" listener: how to open the transaction.
BEGIN_OPTION = "resync_sqlite_begin"


class Database:
    """The incident database: an engine and its tables."""

    def __init__(self, *, engine: AsyncEngine, description: str) -> None:
        """Wrap an engine whose schema is at the head revision.

        Args:
            engine: The async engine (see `integrations.db.open_database`).
            description: What to call the store in errors (never holds credentials).
        """
        self.engine = engine
        self.description = description
        self.incidents = IncidentTable(self)
        self.places = PlaceTable(self)
        self.steps = StepTable(self)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def insert(self, table: sa.Table) -> Any:
        """A dialect INSERT (both support ``ON CONFLICT`` and ``RETURNING``).

        Args:
            table: The table.

        Returns:
            The dialect's insert construct.
        """
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
        try:
            async with self.engine.connect() as conn:
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
        """Close the connection pool."""
        await self.engine.dispose()
