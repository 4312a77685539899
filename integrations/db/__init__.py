"""The incident database: one schema through SQLAlchemy Core, migrated by Alembic.

Owns the tables of incidents (``incidents``, ``incident_counters``, ``incident_timeline``,
``incident_places``, ``incident_steps``), their migrations (shipped in
``integrations/db/migrations``, run by `open_database`), and domain-neutral access to
them: `IncidentTable` (create-if-absent by declare key, compare-and-swap updates,
timeline), `PlaceTable` (where an incident lives, and how far opening it got) and
`StepTable` (the outbox of side effects). SQLite under ``RESYNC_DATA_DIR`` by default,
PostgreSQL when ``RESYNC_DATABASE_URL`` is set. The domain rules live in
``agents/incidents``; nothing here imports them.

Errors::

    DatabaseError           the database could not be reached or answered an error (names
    │                       the store and the call)
    ├── MigrationError      the schema could not be brought to the head revision
    └── MissingRowError     the call names a row that does not exist
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The rows and the errors are plain Python; everything else needs SQLAlchemy (and opening,
# Alembic), so it is imported on first use (PEP 562): the incident service can be built, and
# `resync ask` can answer, without paying for SQLAlchemy until the database is used.
from integrations.db.errors import DatabaseError, MigrationError, MissingRowError
from integrations.db.rows import (
    Appended,
    Created,
    Guard,
    IncidentRow,
    NewEntry,
    PlaceRow,
    StepRow,
    TimelineRow,
    Updated,
)

if TYPE_CHECKING:
    from integrations.db.database import Database
    from integrations.db.incidents import IncidentTable
    from integrations.db.opening import DEFAULT_SCHEMA, SQLITE_FILE, open_database
    from integrations.db.places import PlaceTable
    from integrations.db.steps import StepTable

_LAZY = {
    "Database": "integrations.db.database",
    "DEFAULT_SCHEMA": "integrations.db.opening",
    "IncidentTable": "integrations.db.incidents",
    "PlaceTable": "integrations.db.places",
    "SQLITE_FILE": "integrations.db.opening",
    "StepTable": "integrations.db.steps",
    "open_database": "integrations.db.opening",
}


def __getattr__(name: str) -> Any:
    """The SQLAlchemy-backed names, imported on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "DEFAULT_SCHEMA",
    "SQLITE_FILE",
    "Appended",
    "Created",
    "Database",
    "DatabaseError",
    "Guard",
    "IncidentRow",
    "IncidentTable",
    "MigrationError",
    "MissingRowError",
    "NewEntry",
    "PlaceRow",
    "PlaceTable",
    "StepRow",
    "StepTable",
    "TimelineRow",
    "Updated",
    "open_database",
]
