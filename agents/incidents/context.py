"""`EffectContext`: what the side-effect steps share (database, rooms, audit, clock, policy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from agents.incidents.audit import IncidentAudit
from agents.incidents.model import Incident
from agents.incidents.policy import IncidentPolicy
from agents.incidents.ports import IncidentRooms
from agents.messages import Reply
from integrations.db import Database, NewEntry

__all__ = ["EffectContext"]

log = structlog.get_logger(__name__)

_MAX_RETRY_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class EffectContext:
    """The collaborators of the side-effect steps.

    Attributes:
        db: The incident database.
        rooms: The chat platforms.
        audit: The audit records.
        policy: Severities and retry settings.
        zone: The time zone of posted times.
        clock: Now (UTC).
    """

    db: Database
    rooms: IncidentRooms
    audit: IncidentAudit
    policy: IncidentPolicy
    zone: ZoneInfo
    clock: Callable[[], datetime]

    def retry_at(self, attempts: int) -> datetime:
        """When a step that failed ``attempts`` times is tried next (doubling, capped)."""
        delay = min(_MAX_RETRY_SECONDS, self.policy.retry_seconds * 2 ** max(0, attempts - 1))
        return self.clock() + timedelta(seconds=delay)

    async def tell_rooms(self, incident: Incident, reply: Reply, *, key: str) -> None:
        """Post into every room of the incident; failures are logged, not raised.

        Args:
            incident: The incident (with its places).
            reply: What to post.
            key: Stable per message (the platform is appended per place).
        """
        for place in incident.places:
            try:
                await self.rooms.post(
                    at=place.room, reply=reply, key=f"{incident.id}:{key}:{place.platform}"
                )
            except Exception as exc:
                log.error(
                    "incident.post_failed",
                    incident=incident.id,
                    key=key,
                    platform=place.platform,
                    error=f"{type(exc).__name__}: {exc}",
                )

    async def settle(
        self,
        incident_id: str,
        step: str,
        *,
        state: str,
        attempts: int,
        detail: dict[str, Any],
        action: str,
        outcome: str,
        note: NewEntry | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> bool:
        """Move a step to its final state; the driver that moved it records what happened.

        Two drivers may race on one step (replicas, recovery): only the one whose
        ``finish`` moved the step appends the timeline ``note`` and the audit record, so
        each is written once.

        Args:
            incident_id: The incident.
            step: The step's name.
            state: ``done`` or ``failed``.
            attempts: Attempts made.
            detail: Kept with the step (and audited when ``parameters`` is None).
            action: The audit action, e.g. ``incident.page``.
            outcome: The audit outcome, e.g. ``sent``.
            note: The timeline entry, if the step shows on the timeline.
            parameters: The audit parameters when they differ from ``detail``.

        Returns:
            False when another driver had finished it already (nothing recorded).
        """
        moved = await self.db.steps.finish(
            incident_id=incident_id,
            name=step,
            state=state,
            attempts=attempts,
            detail=detail,
            at=self.clock(),
        )
        if not moved:
            return False
        if note is not None:
            await self.db.incidents.append(incident_id, note)
        await self.audit.system(
            action=action,
            outcome=outcome,
            incident_id=incident_id,
            parameters=detail if parameters is None else parameters,
        )
        return True
