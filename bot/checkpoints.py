"""Durable conversation and approval state: LangGraph checkpoints in PostgreSQL or SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from integrations.audit.store_sqlite import private_file

if TYPE_CHECKING:  # LangGraph loads only when a checkpointer is opened (start-up time)
    from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["open_checkpointer"]


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Durable conversation and approval state.

    PostgreSQL when ``RESYNC_DATABASE_URL`` is set, so every replica sees the same threads
    and runbook requests (plain Redis cannot host LangGraph checkpoints); SQLite under
    ``data_dir`` otherwise.
    """
    if settings.database_url is not None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        url = settings.database_url.get_secret_value()
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await _setup_once(saver, url)
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = settings.data_dir / "checkpoints.db"
    private_file(path)  # conversations in clear: this user only, whatever the umask
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


# Any constant shared by every replica; names the advisory lock around the checkpoint setup.
_CHECKPOINT_SETUP_LOCK = 0x7E5C_0001


async def _setup_once(saver: Any, url: str) -> None:
    """Create or migrate the checkpoint tables, one replica at a time.

    LangGraph's ``setup()`` is safe to repeat but not to run concurrently: replicas starting
    together on a fresh database race on ``checkpoint_migrations`` (duplicate key). A
    PostgreSQL advisory lock on a connection of its own serialises them. The lock is polled
    (``pg_try_advisory_lock``), not waited for: a waiting ``SELECT pg_advisory_lock`` holds a
    snapshot, and the setup's ``CREATE INDEX CONCURRENTLY`` waits for every such snapshot —
    a deadlock.
    """
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as lock:
        while True:
            cursor = await lock.execute(
                "SELECT pg_try_advisory_lock(%s)", (_CHECKPOINT_SETUP_LOCK,)
            )
            row = await cursor.fetchone()
            if row is not None and row[0]:
                break
            await asyncio.sleep(0.2)
        try:
            await saver.setup()  # creates or migrates its tables; safe to repeat
        finally:
            await lock.execute("SELECT pg_advisory_unlock(%s)", (_CHECKPOINT_SETUP_LOCK,))
