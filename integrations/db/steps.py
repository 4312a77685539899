"""`StepTable`: the outbox of side effects (open the rooms, page, resolve the page).

A step is written in the same transaction as the change that decides it, at most once per
incident and name (the primary key), so a decision and its side effect cannot drift apart:
a process killed after the commit leaves the step ``pending`` and whoever drives the
incident next (the same call retried, or `recover`) carries it out. Steps only move
``pending`` -> ``done`` | ``failed`` | ``skipped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.db.rows import StepRow, from_json, to_json
from integrations.db.schema import STEPS

if TYPE_CHECKING:
    from integrations.db.database import Database

__all__ = ["PENDING", "StepTable", "insert_steps"]

PENDING = "pending"
_FINAL = ("done", "failed", "skipped")


async def insert_steps(
    db: Database, conn: AsyncConnection, *, incident_id: str, names: Sequence[str], at: datetime
) -> None:
    """Enqueue steps inside an open transaction; a step already there is left alone.

    Args:
        db: The database (for its dialect).
        conn: The open transaction.
        incident_id: The incident.
        names: The steps.
        at: Now.
    """
    for name in names:
        stmt = db.insert(STEPS).values(
            incident_id=incident_id,
            name=name,
            state=PENDING,
            attempts=0,
            not_before=at,
            detail="{}",
            created_at=at,
            updated_at=at,
        )
        await conn.execute(stmt.on_conflict_do_nothing(index_elements=["incident_id", "name"]))


def _row(row: sa.Row[Any]) -> StepRow:
    return StepRow(
        incident_id=row.incident_id,
        name=row.name,
        state=row.state,
        attempts=row.attempts,
        not_before=row.not_before,
        detail=from_json(row.detail),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class StepTable:
    """The side-effect steps of incidents."""

    def __init__(self, db: Database) -> None:
        """Use ``db``."""
        self._db = db

    async def enqueue(self, *, incident_id: str, names: Sequence[str], at: datetime) -> None:
        """Enqueue steps on their own (insert if absent).

        Args:
            incident_id: The incident (must exist).
            names: The steps.
            at: Now.
        """
        async with self._db.transaction("enqueue steps") as conn:
            await insert_steps(self._db, conn, incident_id=incident_id, names=names, at=at)

    async def get(self, *, incident_id: str, name: str) -> StepRow | None:
        """One step, or None when it was never enqueued."""
        query = sa.select(STEPS).where(STEPS.c.incident_id == incident_id, STEPS.c.name == name)
        async with self._db.transaction("read step", read_only=True) as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _row(row)

    async def for_incident(self, incident_id: str) -> list[StepRow]:
        """All steps of an incident, oldest first."""
        query = (
            sa.select(STEPS)
            .where(STEPS.c.incident_id == incident_id)
            .order_by(STEPS.c.created_at, STEPS.c.name)
        )
        async with self._db.transaction("read steps", read_only=True) as conn:
            return [_row(row) for row in await conn.execute(query)]

    async def due(self, *, now: datetime, limit: int = 500) -> list[StepRow]:
        """Pending steps whose time has come, oldest first (what `recover` drives).

        Args:
            now: Now.
            limit: At most this many.

        Returns:
            The steps.
        """
        query = (
            sa.select(STEPS)
            .where(STEPS.c.state == PENDING, STEPS.c.not_before <= now)
            .order_by(STEPS.c.created_at, STEPS.c.incident_id, STEPS.c.name)
            .limit(limit)
        )
        async with self._db.transaction("read due steps", read_only=True) as conn:
            return [_row(row) for row in await conn.execute(query)]

    async def retry_later(
        self,
        *,
        incident_id: str,
        name: str,
        attempts: int,
        not_before: datetime,
        detail: dict[str, Any],
        at: datetime,
    ) -> None:
        """Record a failed attempt of a pending step that will be tried again.

        Args:
            incident_id: The incident.
            name: The step.
            attempts: Attempts made so far.
            not_before: Not again before this time.
            detail: What the attempt said.
            at: Now.
        """
        await self._set(
            incident_id,
            name,
            values={
                "attempts": attempts,
                "not_before": not_before,
                "detail": to_json(detail),
                "updated_at": at,
            },
        )

    async def finish(
        self,
        *,
        incident_id: str,
        name: str,
        state: str,
        attempts: int,
        detail: dict[str, Any],
        at: datetime,
    ) -> bool:
        """Move a pending step to a final state.

        Args:
            incident_id: The incident.
            name: The step.
            state: ``done``, ``failed`` or ``skipped``.
            attempts: Attempts made in all.
            detail: What the last attempt said.
            at: Now.

        Returns:
            True when this call moved it (False: it was already final).

        Raises:
            ValueError: ``state`` is not a final state.
        """
        if state not in _FINAL:
            raise ValueError(f"{state!r} is not one of {', '.join(_FINAL)}")
        return await self._set(
            incident_id,
            name,
            values={
                "state": state,
                "attempts": attempts,
                "detail": to_json(detail),
                "updated_at": at,
            },
        )

    async def _set(self, incident_id: str, name: str, *, values: dict[str, Any]) -> bool:
        stmt = (
            sa.update(STEPS)
            .where(
                STEPS.c.incident_id == incident_id,
                STEPS.c.name == name,
                # Only a pending step moves: a late writer cannot undo a final state.
                STEPS.c.state == PENDING,
            )
            .values(**values)
        )
        async with self._db.transaction("update step") as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)
