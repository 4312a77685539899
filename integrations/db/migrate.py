"""Running the shipped Alembic migrations from code (no ``alembic.ini``, works installed).

The migrations folder is named by package resource (``integrations.db:migrations``), so
it is found wherever the package is installed. `upgrade` runs ``alembic upgrade head`` in
one transaction that first takes a migration lock (PostgreSQL: an advisory transaction
lock; SQLite: ``BEGIN IMMEDIATE``), so replicas starting together migrate one after the
other and the later ones find nothing to do.

Almost every start finds the schema at head already, so `upgrade` first reads the stored
revision with one plain query and compares it with the newest shipped one (read from the
revision files' ``revision``/``down_revision`` lines): Alembic itself (and Mako behind it)
is imported and run only when there is something to migrate.
"""

from __future__ import annotations

import re
import zlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from integrations.db.errors import MigrationError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SCRIPT_LOCATION", "alembic_config", "head_revision", "shipped_head", "upgrade"]

SCRIPT_LOCATION = "integrations.db:migrations"
VERSION_TABLE = "incidents_alembic_version"

# ``revision: str = "r0001"`` and ``down_revision: str | None = None`` in a revision file.
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)\s*$", re.M
)


def alembic_config() -> Config:
    """An Alembic config for the shipped migrations (also for ``command.revision``).

    Returns:
        The config; `upgrade` adds the connection to ``attributes``.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["version_table"] = VERSION_TABLE
    return config


def head_revision() -> str:
    """The newest shipped revision, as Alembic reads the migrations folder."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {SCRIPT_LOCATION}")
    return head


@cache
def shipped_head() -> str:
    """The newest shipped revision, read from the revision files without importing Alembic.

    A revision that no other revision names as its ``down_revision`` is a head. When the
    files cannot be read that simply (not exactly one head, e.g. a merge revision with a
    tuple), Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    versions = resources.files("integrations.db.migrations").joinpath("versions")
    for entry in versions.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("__"):
            continue
        found = dict(_REVISION_LINE.findall(entry.read_text("utf-8")))
        if not found.get("revision"):
            return head_revision()
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else head_revision()


def _lock_key(scope: str) -> int:
    # A stable signed 32-bit number per schema, for pg_advisory_xact_lock.
    return zlib.crc32(f"resync-incidents-migrate:{scope}".encode()) - 2**31


def _stored_revision(connection: sa.Connection) -> str | None:
    """The revision the schema is at, or None (no version table, or not one row)."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    rows = connection.execute(sa.select(version.c.version_num)).all()
    return str(rows[0][0]) if len(rows) == 1 else None


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the stored revision is the shipped head (one read, no lock taken)."""
    from integrations.db.database import BEGIN_OPTION

    try:
        async with engine.connect() as conn:
            # A read: on SQLite a deferred BEGIN, not the write lock a migration takes.
            reader = await conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
            async with reader.begin():
                stored = await reader.run_sync(_stored_revision)
    except (SQLAlchemyError, OSError):
        return False  # the locked upgrade below reports what is wrong, in its words
    return stored == shipped_head()


def _upgrade(connection: sa.Connection) -> str | None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext

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
    if await _at_head(engine):
        return shipped_head()
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
    if revision != shipped_head():
        raise MigrationError(f"{description}: schema at {revision}, expected {shipped_head()}")
    return revision
