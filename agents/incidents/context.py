"""`EffectContext`: what the side-effect steps share (database, rooms, audit, clock, policy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from agents.incidents.audit import IncidentAudit
from agents.incidents.model import Incident
from agents.incidents.policy import IncidentPolicy
from agents.incidents.ports import IncidentRooms
from agents.messages import Reply
from integrations.db import Database

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
