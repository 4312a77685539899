"""`PlaceTable`: where each incident lives on each platform, and how far setting it up got.

One row per incident and platform. The row is the journal of opening the place: stored
right after the platform created it, then the state message id, then ``pinned``, then the
announcement id. A driver that resumes after a crash reads the row and does only what is
missing. ``rendered_version`` says which incident version the state message shows, so
stale state messages can be found and refreshed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from integrations.db.rows import PlaceRow
from integrations.db.schema import INCIDENTS, PLACES

if TYPE_CHECKING:
    from integrations.db.database import Database

__all__ = ["PlaceTable"]


def _row(row: sa.Row[Any]) -> PlaceRow:
    return PlaceRow(
        incident_id=row.incident_id,
        platform=row.platform,
        channel=row.channel,
        thread=row.thread,
        state_message_id=row.state_message_id,
        pinned=bool(row.pinned),
        announce_channel=row.announce_channel,
        announce_thread=row.announce_thread,
        announcement_message_id=row.announcement_message_id,
        rendered_version=row.rendered_version,
        opened_at=row.opened_at,
    )


class PlaceTable:
    """The places of incidents."""

    def __init__(self, db: Database) -> None:
        """Use ``db``."""
        self._db = db

    async def add(
        self,
        *,
        incident_id: str,
        platform: str,
        channel: str,
        thread: str | None,
        announce_channel: str | None,
        announce_thread: str | None,
        at: datetime,
    ) -> PlaceRow:
        """Store a place unless the incident already has one on that platform.

        Args:
            incident_id: The incident (must exist).
            platform: The platform.
            channel: The channel.
            thread: The thread, if the place is one.
            announce_channel: Where the announcement goes, if anywhere.
            announce_thread: The announcement's thread, if any.
            at: Now.

        Returns:
            The stored place (the earlier one when there was one: the first place wins).
        """
        stmt = self._db.insert(PLACES).values(
            incident_id=incident_id,
            platform=platform,
            channel=channel,
            thread=thread,
            state_message_id=None,
            pinned=False,
            announce_channel=announce_channel,
            announce_thread=announce_thread,
            announcement_message_id=None,
            rendered_version=0,
            opened_at=at,
        )
        query = sa.select(PLACES).where(
            PLACES.c.incident_id == incident_id, PLACES.c.platform == platform
        )
        async with self._db.transaction("store place") as conn:
            await conn.execute(
                stmt.on_conflict_do_nothing(index_elements=["incident_id", "platform"])
            )
            return _row((await conn.execute(query)).one())

    async def for_incident(self, incident_id: str) -> list[PlaceRow]:
        """The places of an incident, by platform."""
        query = (
            sa.select(PLACES).where(PLACES.c.incident_id == incident_id).order_by(PLACES.c.platform)
        )
        async with self._db.transaction("read places", read_only=True) as conn:
            return [_row(row) for row in await conn.execute(query)]

    async def find(self, *, platform: str, channel: str, thread: str | None = None) -> str | None:
        """The incident whose place this is (a message there belongs to it), or None.

        Args:
            platform: The platform.
            channel: The channel.
            thread: The thread, for places that are threads (Teams): then it must match too.

        Returns:
            The incident id.
        """
        query = sa.select(PLACES.c.incident_id).where(
            PLACES.c.platform == platform, PLACES.c.channel == channel
        )
        if thread is not None:
            query = query.where(PLACES.c.thread == thread)
        async with self._db.transaction("find place", read_only=True) as conn:
            found = (await conn.execute(query)).first()
        return None if found is None else str(found.incident_id)

    async def set_state_message(
        self, *, incident_id: str, platform: str, message_id: str, version: int
    ) -> None:
        """Record the posted state message and the incident version it shows."""
        await self._set(
            incident_id, platform, state_message_id=message_id, rendered_version=version
        )

    async def set_pinned(self, *, incident_id: str, platform: str) -> None:
        """Record that the state message is pinned."""
        await self._set(incident_id, platform, pinned=True)

    async def set_announcement(self, *, incident_id: str, platform: str, message_id: str) -> None:
        """Record the posted announcement."""
        await self._set(incident_id, platform, announcement_message_id=message_id)

    async def mark_rendered(self, *, incident_id: str, platform: str, version: int) -> None:
        """Record that the state message shows ``version`` (never moves backwards)."""
        stmt = (
            sa.update(PLACES)
            .where(
                PLACES.c.incident_id == incident_id,
                PLACES.c.platform == platform,
                PLACES.c.rendered_version < version,
            )
            .values(rendered_version=version)
        )
        async with self._db.transaction("mark place rendered") as conn:
            await conn.execute(stmt)

    async def behind(self, *, limit: int = 500) -> list[PlaceRow]:
        """Places whose posted state message shows an older version than the incident's."""
        query = (
            sa.select(PLACES)
            .join(INCIDENTS, INCIDENTS.c.id == PLACES.c.incident_id)
            .where(
                PLACES.c.state_message_id.is_not(None),
                PLACES.c.rendered_version < INCIDENTS.c.version,
            )
            .order_by(PLACES.c.opened_at)
            .limit(limit)
        )
        async with self._db.transaction("read stale places", read_only=True) as conn:
            return [_row(row) for row in await conn.execute(query)]

    async def _set(self, incident_id: str, platform: str, **values: Any) -> None:
        stmt = (
            sa.update(PLACES)
            .where(PLACES.c.incident_id == incident_id, PLACES.c.platform == platform)
            .values(**values)
        )
        async with self._db.transaction("update place") as conn:
            await conn.execute(stmt)
