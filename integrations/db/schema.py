"""The incident schema as SQLAlchemy Core tables: what the queries use.

The migrations in ``integrations/db/migrations/versions`` create exactly these tables; a
test compares the two (a change here needs a new revision there). Documents and timeline
data are JSON text, so the schema stays the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "COUNTERS",
    "INCIDENTS",
    "METADATA",
    "PLACES",
    "STEPS",
    "TIMELINE",
    "UtcDateTime",
]


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime on both back ends.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and given their zone back when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (naive for SQLite)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Give the value its UTC zone back."""
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


METADATA = sa.MetaData()

INCIDENTS = sa.Table(
    "incidents",
    METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("severity", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("declare_key", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Timeline sequence numbers are taken from here under the row lock (no gaps, no clash).
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.UniqueConstraint("year", "number", name="uq_incidents_year_number"),
    sa.UniqueConstraint("declare_key", name="uq_incidents_declare_key"),
    sa.Index("ix_incidents_status", "status"),
    sa.Index("ix_incidents_created_at", "created_at"),
)

# One row per year: the last number handed out (an upsert increments it atomically).
COUNTERS = sa.Table(
    "incident_counters",
    METADATA,
    sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_number", sa.Integer, nullable=False),
)

TIMELINE = sa.Table(
    "incident_timeline",
    METADATA,
    sa.Column(
        "incident_id",
        sa.String(64),
        sa.ForeignKey("incidents.id", ondelete="CASCADE", name="fk_timeline_incident"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(255), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    # A caller's idempotency key: the same event appended twice is stored once.
    sa.Column("event_key", sa.String(255), nullable=True),
    sa.UniqueConstraint("incident_id", "event_key", name="uq_timeline_event_key"),
)

PLACES = sa.Table(
    "incident_places",
    METADATA,
    sa.Column(
        "incident_id",
        sa.String(64),
        sa.ForeignKey("incidents.id", ondelete="CASCADE", name="fk_places_incident"),
        primary_key=True,
    ),
    sa.Column("platform", sa.String(32), primary_key=True),
    sa.Column("channel", sa.String(255), nullable=False),
    sa.Column("thread", sa.String(255), nullable=True),
    sa.Column("state_message_id", sa.String(255), nullable=True),
    sa.Column("pinned", sa.Boolean, nullable=False),
    sa.Column("announce_channel", sa.String(255), nullable=True),
    sa.Column("announce_thread", sa.String(255), nullable=True),
    sa.Column("announcement_message_id", sa.String(255), nullable=True),
    # The incident version the posted state message shows (refreshed while it is behind).
    sa.Column("rendered_version", sa.Integer, nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Index("ix_incident_places_channel", "platform", "channel"),
)

# The outbox of side effects: written in the transaction that decides them, driven after.
STEPS = sa.Table(
    "incident_steps",
    METADATA,
    sa.Column(
        "incident_id",
        sa.String(64),
        sa.ForeignKey("incidents.id", ondelete="CASCADE", name="fk_steps_incident"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("not_before", UtcDateTime, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index("ix_incident_steps_state", "state", "not_before"),
)
