"""Which open incidents owe a status update: a pure function of the incidents and the time.

An incident of a severity with a cadence owes an update when none was posted for a whole
cadence since the last update (or the declaration). The silence is cut into intervals:
interval ``n`` starts at ``anchor + n * cadence``. Posting one reminder per interval is
made exactly-once across replicas by claiming ``remind:{id}:{anchor}:{n}`` in the `Store`
(`IncidentService.remind`); an update moves the anchor and starts a new series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.incidents.errors import IncidentInputError
from agents.incidents.model import Incident
from agents.incidents.policy import IncidentPolicy

__all__ = ["DueReminder", "due_reminders"]


@dataclass(frozen=True, slots=True)
class DueReminder:
    """An incident that owes a status update.

    Attributes:
        incident_id: The incident.
        severity: Its severity.
        anchor: The last update (or the declaration): the silence starts here.
        interval: How many whole cadences have passed (1 = the first reminder).
        cadence: The severity's cadence.
        silent_for: ``now - anchor``.
    """

    incident_id: str
    severity: str
    anchor: datetime
    interval: int
    cadence: timedelta
    silent_for: timedelta

    @property
    def claim_key(self) -> str:
        """The store key that makes this reminder once across replicas."""
        return f"remind:{self.incident_id}:{int(self.anchor.timestamp())}:{self.interval}"


def due_reminders(
    incidents: Sequence[Incident], *, now: datetime, policy: IncidentPolicy
) -> list[DueReminder]:
    """The reminders due at ``now``.

    Args:
        incidents: Incidents (only open ones can be due).
        now: Now.
        policy: The cadence of each severity.

    Returns:
        One entry per incident that owes an update, oldest silence first.
    """
    due: list[DueReminder] = []
    for incident in incidents:
        if not incident.status.open:
            continue
        try:
            cadence = policy.level(incident.severity).cadence
        except IncidentInputError:
            continue
        if cadence is None:
            continue
        anchor = incident.last_update_at or incident.declared_at
        silent = now - anchor
        interval = int(silent / cadence)
        if interval >= 1:
            due.append(
                DueReminder(
                    incident_id=incident.id,
                    severity=incident.severity,
                    anchor=anchor,
                    interval=interval,
                    cadence=cadence,
                    silent_for=silent,
                )
            )
    return sorted(due, key=lambda item: item.anchor)
