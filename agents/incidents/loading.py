"""Reading incidents back from `integrations.db` rows into the model.

Also the one place where database failures become `IncidentStorageError`, so the service
raises errors of its own layer only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agents.incidents.errors import IncidentNotFoundError, IncidentStorageError
from agents.incidents.model import Incident, Location, Place, TimelineEntry
from integrations.db import Database, DatabaseError, IncidentRow, PlaceRow, TimelineRow

__all__ = ["entry_from", "incident_from", "load_incident", "place_from", "storage"]


@contextmanager
def storage() -> Iterator[None]:
    """Turn `DatabaseError` into `IncidentStorageError` (same message)."""
    try:
        yield
    except DatabaseError as exc:
        raise IncidentStorageError(str(exc)) from exc


def place_from(row: PlaceRow) -> Place:
    """A stored place as the model's `Place`."""
    announce = (
        Location(platform=row.platform, channel=row.announce_channel, thread=row.announce_thread)
        if row.announce_channel
        else None
    )
    return Place(
        platform=row.platform,
        room=Location(platform=row.platform, channel=row.channel, thread=row.thread),
        state_message_id=row.state_message_id,
        pinned=row.pinned,
        announce_at=announce,
        announcement_message_id=row.announcement_message_id,
        rendered_version=row.rendered_version,
    )


def entry_from(row: TimelineRow) -> TimelineEntry:
    """A stored timeline row as the model's `TimelineEntry`."""
    return TimelineEntry(
        seq=row.seq, at=row.at, kind=row.kind, actor=row.actor, text=row.text, data=row.data
    )


def incident_from(
    row: IncidentRow,
    *,
    places: list[PlaceRow] | None = None,
    timeline: list[TimelineRow] | None = None,
) -> Incident:
    """A stored incident as the model, with its places and (optionally) timeline."""
    return Incident.from_document(
        row.document,
        version=row.version,
        places=tuple(place_from(p) for p in places or ()),
        timeline=tuple(entry_from(e) for e in timeline or ()),
    )


async def load_incident(db: Database, incident_id: str, *, timeline: bool = False) -> Incident:
    """Read an incident with its places (and timeline when asked).

    Args:
        db: The incident database.
        incident_id: The id (case-blind).
        timeline: Also read the timeline.

    Returns:
        The incident.

    Raises:
        IncidentNotFoundError: No such incident.
        IncidentStorageError: The database failed.
    """
    key = incident_id.strip().upper()
    with storage():
        row = await db.incidents.get(key)
        if row is None:
            raise IncidentNotFoundError(f"no incident {incident_id}")
        places = await db.places.for_incident(key)
        entries = await db.incidents.timeline(key) if timeline else None
    return incident_from(row, places=places, timeline=entries)
