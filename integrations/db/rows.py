"""Typed rows and results of the incident tables (plain data: no domain rules here)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Appended",
    "Created",
    "Guard",
    "IncidentRow",
    "NewEntry",
    "PlaceRow",
    "StepRow",
    "TimelineRow",
    "Updated",
    "from_json",
    "to_json",
]


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident as stored.

    Attributes:
        id: The incident id (e.g. ``INC-2026-0042``).
        year: The year its number belongs to.
        number: Its number within the year (1, 2, ...; never reused).
        title: Its title (a column, for listings).
        severity: Its severity name (a column, for listings and stats).
        status: Its status name (a column, for listings).
        declare_key: The key that made it (unique: the same key never makes two).
        version: Incremented by every compare-and-swap update.
        created_at: When it was created (UTC).
        updated_at: When it was last updated (UTC).
        document: The whole document, as the caller stored it.
    """

    id: str
    year: int
    number: int
    title: str
    severity: str
    status: str
    declare_key: str
    version: int
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any]


Guard = Callable[[IncidentRow], Awaitable[None]]
"""Runs inside the transaction, after the write and before the commit; raising rolls it back.

The incident service writes its audit record here, so a change whose record cannot be
written is never committed."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A timeline entry to append.

    Attributes:
        at: When it happened (UTC).
        kind: What kind of entry (e.g. ``declared``, ``note``).
        text: One line for people.
        actor: Who did it (an identity), None for the system.
        data: Structured details (JSON-serializable).
        key: Idempotency key: an entry whose key is already on the incident is not added again.
    """

    at: datetime
    kind: str
    text: str
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    key: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """A stored timeline entry (``seq`` counts 1, 2, ... per incident)."""

    incident_id: str
    seq: int
    at: datetime
    kind: str
    actor: str | None
    text: str
    data: dict[str, Any]
    key: str | None


@dataclass(frozen=True, slots=True)
class Created:
    """The answer of a create-if-absent: the incident, and whether this call created it."""

    row: IncidentRow
    created: bool


@dataclass(frozen=True, slots=True)
class Updated:
    """The answer of a compare-and-swap update.

    Attributes:
        applied: True when the expected version matched and the update was committed.
        row: The row after the update; when not applied, the current row (None: no such row).
    """

    applied: bool
    row: IncidentRow | None


@dataclass(frozen=True, slots=True)
class Appended:
    """The answer of a timeline append: the entry, and whether this call added it."""

    entry: TimelineRow
    created: bool


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """Where an incident lives on one platform, and how far setting it up got.

    Attributes:
        incident_id: The incident.
        platform: ``slack``, ``teams``, ...
        channel: The incident's channel (Slack) or the channel of its thread (Teams).
        thread: Its thread, when the place is a thread.
        state_message_id: The posted state message, once posted.
        pinned: Whether the state message is pinned.
        announce_channel: Where the announcement goes, if anywhere.
        announce_thread: The thread of the announcement, if any.
        announcement_message_id: The posted announcement, once posted.
        rendered_version: The incident version the state message shows.
        opened_at: When the place was stored.
    """

    incident_id: str
    platform: str
    channel: str
    thread: str | None
    state_message_id: str | None
    pinned: bool
    announce_channel: str | None
    announce_thread: str | None
    announcement_message_id: str | None
    rendered_version: int
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class StepRow:
    """One side effect in the outbox.

    Attributes:
        incident_id: The incident.
        name: The step (unique per incident: a step is enqueued at most once).
        state: ``pending``, ``done``, ``failed`` or ``skipped``.
        attempts: Attempts made so far.
        not_before: A pending step is not driven before this time.
        detail: What the last attempt said (JSON-serializable).
        created_at: When it was enqueued.
        updated_at: When it last changed.
    """

    incident_id: str
    name: str
    state: str
    attempts: int
    not_before: datetime
    detail: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def to_json(value: object) -> str:
    """Compact JSON text (documents and data are stored this way)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | None) -> dict[str, Any]:
    """A JSON object read back (an empty dict for NULL)."""
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value
