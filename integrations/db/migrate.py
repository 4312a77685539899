"""Running the shipped Alembic migrations from code (no ``alembic.ini``, works installed).

The migrations folder is named by package resource (``integrations.db:migrations``), so
it is found wherever the package is installed. `upgrade` runs ``alembic upgrade head`` in
one transaction that first takes a migration lock (PostgreSQL: an advisory transaction
lock; SQLite: ``BEGIN IMMEDIATE``), so replicas starting together migrate one after the
other and the later ones find nothing to do.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from integrations.db.errors import MigrationError

__all__ = ["SCRIPT_LOCATION", "alembic_config", "head_revision", "upgrade"]

SCRIPT_LOCATION = "integrations.db:migrations"
VERSION_TABLE = "incidents_alembic_version"


def alembic_config() -> Config:
    """An Alembic config for the shipped migrations (also for ``command.revision``).

    Returns:
        The config; `upgrade` adds the connection to ``attributes``.
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["version_table"] = VERSION_TABLE
    return config


def head_revision() -> str:
    """The newest shipped revision."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {SCRIPT_LOCATION}")
    return head


def _lock_key(scope: str) -> int:
    # A stable signed 32-bit number per schema, for pg_advisory_xact_lock.
    return zlib.crc32(f"resync-incidents-migrate:{scope}".encode()) - 2**31


def _upgrade(connection: sa.Connection) -> str | None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def upgrade(engine: AsyncEngine, *, scope: str, description: str) -> str:
    """Bring the schema to the head revision.

    Args:
        engine: The engine (PostgreSQL connections already on their schema).
        scope: What the lock is about (the schema name), so two schemas migrate in parallel.
        description: What to call the store in errors.

    Returns:
        The revision the schema is at afterwards.

    Raises:
        MigrationError: A migration failed (nothing of it was committed on PostgreSQL).
    """
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(scope)}
                )
            revision = await conn.run_sync(_upgrade)
    except (SQLAlchemyError, OSError) as exc:
        cause = getattr(exc, "orig", None) or exc
        raise MigrationError(
            f"{description}: alembic upgrade head failed: {type(cause).__name__}: {cause}"
        ) from exc
    if revision != head_revision():
        raise MigrationError(f"{description}: schema at {revision}, expected {head_revision()}")
    return revision
