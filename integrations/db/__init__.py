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

from integrations.db.database import Database
from integrations.db.errors import DatabaseError, MigrationError, MissingRowError
from integrations.db.incidents import IncidentTable
from integrations.db.opening import DEFAULT_SCHEMA, SQLITE_FILE, open_database
from integrations.db.places import PlaceTable
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
from integrations.db.steps import StepTable

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
