"""Incidents: declare once, run the lifecycle, open rooms, page, remind, write the postmortem.

Platform-neutral (the chat layer adds the Slack modal, the Teams form and the commands on
top of `IncidentService`). Modules: `model` (the incident, lifecycle, roles, places),
`policy` (severity levels, id prefix, who may manage), `changes` (every change as a pure
function), `audit` (records; a change is not committed unless its record is written),
`ports` (`IncidentRooms`), `effects` / `opening` / `paging` / `context` (side effects
exactly once: the step outbox, the drive lease, the place journal), `mutations` and
`upkeep` (the two halves of the service), `service` (`IncidentService`), `reminders`,
`stats`, `severity` (suggestion from deadlines at risk), `postmortem`, `replies` (neutral
`Reply` values), `loading` (rows to model). Storage: `integrations.db`; paging:
`integrations.pager`. See docs/incidents.md.

Errors::

    IncidentError
    ├── IncidentNotFoundError     no incident has that id
    ├── IncidentInputError        a value is missing or unknown (summary, severity, role, status)
    ├── IncidentTransitionError   the lifecycle does not allow the status change (or it is closed)
    ├── IncidentPermissionError   only the lead or a manager group may do this
    ├── IncidentConflictError     the incident kept changing under the change (retries exhausted)
    ├── IncidentAuditError        the audit record could not be written: nothing was changed
    ├── IncidentStorageError      the incident database failed
    └── RoomsError                a rooms implementation could not do a step (retried later)
"""

from __future__ import annotations

from agents.incidents.errors import (
    IncidentAuditError,
    IncidentConflictError,
    IncidentError,
    IncidentInputError,
    IncidentNotFoundError,
    IncidentPermissionError,
    IncidentStorageError,
    IncidentTransitionError,
    RoomsError,
)
from agents.incidents.model import (
    DeadlineAtRisk,
    FollowUp,
    Impact,
    Incident,
    IncidentStatus,
    LinkedObject,
    Location,
    Person,
    Place,
    Role,
    TimelineEntry,
)
from agents.incidents.policy import IncidentPolicy, SeverityLevel
from agents.incidents.ports import IncidentRooms, OpenedPlace
from agents.incidents.postmortem import JobEvidence, gather_evidence, render_postmortem
from agents.incidents.reminders import DueReminder
from agents.incidents.service import (
    ChangeResult,
    DeclareResult,
    IncidentService,
    Postmortem,
    RecoveryReport,
)
from agents.incidents.severity import SeveritySuggestion, impact_from_forecast, suggest_severity
from agents.incidents.stats import IncidentStats, SeverityStats

__all__ = [
    "ChangeResult",
    "DeadlineAtRisk",
    "DeclareResult",
    "DueReminder",
    "FollowUp",
    "Impact",
    "Incident",
    "IncidentAuditError",
    "IncidentConflictError",
    "IncidentError",
    "IncidentInputError",
    "IncidentNotFoundError",
    "IncidentPermissionError",
    "IncidentPolicy",
    "IncidentRooms",
    "IncidentService",
    "IncidentStats",
    "IncidentStatus",
    "IncidentStorageError",
    "IncidentTransitionError",
    "JobEvidence",
    "LinkedObject",
    "Location",
    "OpenedPlace",
    "Person",
    "Place",
    "Postmortem",
    "RecoveryReport",
    "Role",
    "RoomsError",
    "SeverityLevel",
    "SeverityStats",
    "SeveritySuggestion",
    "TimelineEntry",
    "gather_evidence",
    "impact_from_forecast",
    "render_postmortem",
    "suggest_severity",
]
