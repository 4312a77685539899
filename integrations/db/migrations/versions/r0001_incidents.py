"""Incidents, their yearly counters, timeline, places and side-effect steps.

Revision ID: r0001
Revises:
Create Date: 2026-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("declare_key", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("year", "number", name="uq_incidents_year_number"),
        sa.UniqueConstraint("declare_key", name="uq_incidents_declare_key"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_created_at", "incidents", ["created_at"])
    op.create_table(
        "incident_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "incident_timeline",
        sa.Column(
            "incident_id",
            sa.String(64),
            sa.ForeignKey("incidents.id", ondelete="CASCADE", name="fk_timeline_incident"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        _time("at"),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("event_key", sa.String(255), nullable=True),
        sa.UniqueConstraint("incident_id", "event_key", name="uq_timeline_event_key"),
    )
    op.create_table(
        "incident_places",
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
        sa.Column("rendered_version", sa.Integer, nullable=False),
        _time("opened_at"),
    )
    op.create_index("ix_incident_places_channel", "incident_places", ["platform", "channel"])
    op.create_table(
        "incident_steps",
        sa.Column(
            "incident_id",
            sa.String(64),
            sa.ForeignKey("incidents.id", ondelete="CASCADE", name="fk_steps_incident"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _time("not_before"),
        sa.Column("detail", sa.Text, nullable=False),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index("ix_incident_steps_state", "incident_steps", ["state", "not_before"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("incident_steps")
    op.drop_table("incident_places")
    op.drop_table("incident_timeline")
    op.drop_table("incident_counters")
    op.drop_table("incidents")
