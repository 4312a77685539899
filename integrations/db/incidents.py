"""`IncidentTable`: incidents and their timelines, exactly once and compare-and-swap.

Domain-neutral: documents and timeline data are dicts the caller owns; the table only
knows the columns it indexes. What it guarantees, on SQLite and PostgreSQL alike:

- **One incident per declare key.** ``declare_key`` is UNIQUE: of two transactions (any
  replica) inserting the same key, one commits and the other's INSERT fails; the loser
  rolls back everything it did (its number too) and returns the winner's row.
- **Numbers never collide and never skip.** ``incident_counters`` holds the last number of
  each year; ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` increments it atomically and
  holds the row lock until commit, so concurrent declares queue on it, and a rolled-back
  declare gives its number back.
- **Updates are compare-and-swap.** ``UPDATE ... WHERE id = ? AND version = ?``: a writer
  that read an older version changes nothing and gets the current row to retry on.
- **Timeline sequence numbers are gapless** (taken from ``incidents.last_seq`` under the
  row lock), and an entry with an idempotency key is stored once.
- **Guards.** A change can carry a guard (the audit write) that runs after the write and
  before the commit; if it raises, nothing is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.db.errors import DatabaseError, MissingRowError
from integrations.db.rows import (
    Appended,
    Created,
    Guard,
    IncidentRow,
    NewEntry,
    TimelineRow,
    Updated,
    from_json,
    to_json,
)
from integrations.db.schema import COUNTERS, INCIDENTS, TIMELINE
from integrations.db.steps import insert_steps

if TYPE_CHECKING:
    from integrations.db.database import Database

__all__ = ["IncidentTable"]

DocumentFactory = Callable[[str, int], Mapping[str, Any]]
"""Builds the document once the id and number are allocated: ``(incident_id, number)``."""


def _incident(row: sa.Row[Any]) -> IncidentRow:
    return IncidentRow(
        id=row.id,
        year=row.year,
        number=row.number,
        title=row.title,
        severity=row.severity,
        status=row.status,
        declare_key=row.declare_key,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        document=from_json(row.document),
    )


def _entry(row: sa.Row[Any]) -> TimelineRow:
    return TimelineRow(
        incident_id=row.incident_id,
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        actor=row.actor,
        text=row.text,
        data=from_json(row.data),
        key=row.event_key,
    )


class IncidentTable:
    """Incidents and timelines in the incident database."""

    def __init__(self, db: Database) -> None:
        """Use ``db``."""
        self._db = db

    # --- reads --------------------------------------------------------------------------

    async def get(self, incident_id: str) -> IncidentRow | None:
        """One incident, or None."""
        async with self._db.transaction("read incident", read_only=True) as conn:
            return await self._get(conn, INCIDENTS.c.id == incident_id)

    async def get_by_key(self, declare_key: str) -> IncidentRow | None:
        """The incident a declare key made, or None."""
        async with self._db.transaction("read incident by key", read_only=True) as conn:
            return await self._get(conn, INCIDENTS.c.declare_key == declare_key)

    async def list_by_status(
        self, statuses: Sequence[str], *, limit: int | None = None
    ) -> list[IncidentRow]:
        """Incidents in any of ``statuses``, oldest first.

        Args:
            statuses: Status names.
            limit: At most this many.

        Returns:
            The incidents.
        """
        query = (
            sa.select(INCIDENTS)
            .where(INCIDENTS.c.status.in_(list(statuses)))
            .order_by(INCIDENTS.c.created_at, INCIDENTS.c.id)
            .limit(limit)
        )
        async with self._db.transaction("list incidents", read_only=True) as conn:
            return [_incident(row) for row in await conn.execute(query)]

    async def stats_rows(self, *, since: datetime | None = None) -> list[IncidentRow]:
        """Every incident created since ``since`` (all when None), oldest first."""
        query = sa.select(INCIDENTS).order_by(INCIDENTS.c.created_at, INCIDENTS.c.id)
        if since is not None:
            query = query.where(INCIDENTS.c.created_at >= since)
        async with self._db.transaction("read incident stats", read_only=True) as conn:
            return [_incident(row) for row in await conn.execute(query)]

    async def timeline(self, incident_id: str, *, after_seq: int = 0) -> list[TimelineRow]:
        """The timeline of an incident in order (entries after ``after_seq``)."""
        query = (
            sa.select(TIMELINE)
            .where(TIMELINE.c.incident_id == incident_id, TIMELINE.c.seq > after_seq)
            .order_by(TIMELINE.c.seq)
        )
        async with self._db.transaction("read timeline", read_only=True) as conn:
            return [_entry(row) for row in await conn.execute(query)]

    # --- writes -------------------------------------------------------------------------

    async def create_if_absent(
        self,
        *,
        declare_key: str,
        id_prefix: str,
        year: int,
        at: datetime,
        title: str,
        severity: str,
        status: str,
        document: DocumentFactory,
        timeline: Sequence[NewEntry] = (),
        enqueue: Sequence[str] = (),
        guard: Guard | None = None,
    ) -> Created:
        """Create the incident of ``declare_key`` unless it exists (exactly once, any replica).

        Args:
            declare_key: What makes the declaration unique (a retry carries the same key).
            id_prefix: The id prefix: ids read ``{prefix}-{year}-{number:04d}``.
            year: The year the number belongs to.
            at: Now (created and updated time).
            title: The title column.
            severity: The severity column.
            status: The status column.
            document: Builds the document from the allocated id and number.
            timeline: Entries to append in the same transaction.
            enqueue: Steps to enqueue in the same transaction.
            guard: Runs before the commit (only when this call creates the incident).

        Returns:
            The incident, and whether this call created it.

        Raises:
            DatabaseError: The database failed.
        """
        existing = await self.get_by_key(declare_key)
        if existing is not None:
            return Created(existing, created=False)
        try:
            async with self._db.transaction("create incident") as conn:
                # Again inside the write transaction: on SQLite this read is decisive.
                found = await self._get(conn, INCIDENTS.c.declare_key == declare_key)
                if found is not None:
                    return Created(found, created=False)
                number = await self._next_number(conn, year)
                incident_id = f"{id_prefix}-{year}-{number:04d}"
                body = dict(document(incident_id, number))
                values = {
                    "id": incident_id,
                    "year": year,
                    "number": number,
                    "title": title,
                    "severity": severity,
                    "status": status,
                    "declare_key": declare_key,
                    "version": 1,
                    "last_seq": 0,
                    "created_at": at,
                    "updated_at": at,
                    "document": to_json(body),
                }
                await conn.execute(sa.insert(INCIDENTS).values(**values))
                for entry in timeline:
                    await self._append(conn, incident_id, entry)
                await insert_steps(self._db, conn, incident_id=incident_id, names=enqueue, at=at)
                row = IncidentRow(
                    id=incident_id,
                    year=year,
                    number=number,
                    title=title,
                    severity=severity,
                    status=status,
                    declare_key=declare_key,
                    version=1,
                    created_at=at,
                    updated_at=at,
                    document=body,
                )
                if guard is not None:
                    await guard(row)
                return Created(row, created=True)
        except IntegrityError as exc:
            # Another transaction committed this key first: its incident is the answer.
            winner = await self.get_by_key(declare_key)
            if winner is None:
                raise DatabaseError(
                    f"{self._db.description}: create incident failed: {exc.orig}"
                ) from exc
            return Created(winner, created=False)

    async def update(
        self,
        incident_id: str,
        *,
        expected_version: int,
        at: datetime,
        title: str,
        severity: str,
        status: str,
        document: Mapping[str, Any],
        timeline: Sequence[NewEntry] = (),
        enqueue: Sequence[str] = (),
        guard: Guard | None = None,
    ) -> Updated:
        """Replace the incident if it is still at ``expected_version`` (compare-and-swap).

        Args:
            incident_id: The incident.
            expected_version: The version the change was computed from.
            at: Now (updated time).
            title: The title column.
            severity: The severity column.
            status: The status column.
            document: The new document.
            timeline: Entries to append in the same transaction.
            enqueue: Steps to enqueue in the same transaction (each at most once ever).
            guard: Runs before the commit (only when the swap succeeded).

        Returns:
            Applied and the new row; or not applied and the current row (None: no such row).

        Raises:
            DatabaseError: The database failed.
        """
        stmt = (
            sa.update(INCIDENTS)
            .where(INCIDENTS.c.id == incident_id, INCIDENTS.c.version == expected_version)
            .values(
                title=title,
                severity=severity,
                status=status,
                document=to_json(dict(document)),
                version=expected_version + 1,
                updated_at=at,
            )
            .returning(*INCIDENTS.c)
        )
        async with self._db.transaction("update incident") as conn:
            written = (await conn.execute(stmt)).first()
            if written is None:
                return Updated(False, await self._get(conn, INCIDENTS.c.id == incident_id))
            for entry in timeline:
                await self._append(conn, incident_id, entry)
            await insert_steps(self._db, conn, incident_id=incident_id, names=enqueue, at=at)
            row = _incident(written)
            if guard is not None:
                await guard(row)
            return Updated(True, row)

    async def append(
        self, incident_id: str, entry: NewEntry, *, guard: Guard | None = None
    ) -> Appended:
        """Append one timeline entry (once per ``entry.key`` when it has one).

        Args:
            incident_id: The incident.
            entry: The entry.
            guard: Runs before the commit (only when this call adds the entry); it gets
                the incident row.

        Returns:
            The entry, and whether this call added it.

        Raises:
            MissingRowError: No such incident.
            DatabaseError: The database failed.
        """
        async with self._db.transaction("append timeline entry") as conn:
            stored, created = await self._append(conn, incident_id, entry)
            if created and guard is not None:
                incident = await self._get(conn, INCIDENTS.c.id == incident_id)
                assert incident is not None  # the append above locked it
                await guard(incident)
            return Appended(stored, created)

    # --- inside a transaction ---------------------------------------------------------

    async def _get(
        self, conn: AsyncConnection, where: sa.ColumnElement[bool]
    ) -> IncidentRow | None:
        row = (await conn.execute(sa.select(INCIDENTS).where(where))).first()
        return None if row is None else _incident(row)

    async def _next_number(self, conn: AsyncConnection, year: int) -> int:
        stmt = (
            self._db.insert(COUNTERS)
            .values(year=year, last_number=1)
            .on_conflict_do_update(
                index_elements=[COUNTERS.c.year],
                set_={"last_number": COUNTERS.c.last_number + 1},
            )
            .returning(COUNTERS.c.last_number)
        )
        return int((await conn.execute(stmt)).scalar_one())

    async def _append(
        self, conn: AsyncConnection, incident_id: str, entry: NewEntry
    ) -> tuple[TimelineRow, bool]:
        # Lock the incident row first: appends to one incident then run one at a time, so
        # the key check below and the sequence number cannot race (SQLite: the write lock).
        locked = sa.select(INCIDENTS.c.last_seq).where(INCIDENTS.c.id == incident_id)
        last = (await conn.execute(locked.with_for_update())).scalar_one_or_none()
        if last is None:
            raise MissingRowError(f"{self._db.description}: no incident {incident_id}")
        if entry.key is not None:
            query = sa.select(TIMELINE).where(
                TIMELINE.c.incident_id == incident_id, TIMELINE.c.event_key == entry.key
            )
            found = (await conn.execute(query)).first()
            if found is not None:
                return _entry(found), False
        seq = int(last) + 1
        await conn.execute(
            sa.update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(last_seq=seq)
        )
        values = {
            "incident_id": incident_id,
            "seq": seq,
            "at": entry.at,
            "kind": entry.kind,
            "actor": entry.actor,
            "text": entry.text,
            "data": to_json(entry.data),
            "event_key": entry.key,
        }
        await conn.execute(sa.insert(TIMELINE).values(**values))
        return (
            TimelineRow(
                incident_id=incident_id,
                seq=seq,
                at=entry.at,
                kind=entry.kind,
                actor=entry.actor,
                text=entry.text,
                data=dict(entry.data),
                key=entry.key,
            ),
            True,
        )
