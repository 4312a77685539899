"""The errors of `agents.incidents` (the tree is drawn in the package docstring)."""

from __future__ import annotations

__all__ = [
    "IncidentAuditError",
    "IncidentConflictError",
    "IncidentError",
    "IncidentInputError",
    "IncidentNotFoundError",
    "IncidentPermissionError",
    "IncidentStorageError",
    "IncidentTransitionError",
    "RoomsError",
]


class IncidentError(Exception):
    """Something about an incident could not be done; the message says what and why."""


class IncidentNotFoundError(IncidentError):
    """No incident has that id."""


class IncidentInputError(IncidentError):
    """A value is missing or unknown (an empty summary, an unknown severity or role)."""


class IncidentTransitionError(IncidentError):
    """The status change is not allowed from the incident's current status."""


class IncidentPermissionError(IncidentError):
    """The person may not do this; the message says who may."""


class IncidentConflictError(IncidentError):
    """The incident kept changing while the change was applied (retries exhausted)."""


class IncidentAuditError(IncidentError):
    """The audit record could not be written, so nothing was changed."""


class IncidentStorageError(IncidentError):
    """The incident database failed (the message names the store and the call)."""


class RoomsError(IncidentError):
    """An `IncidentRooms` implementation could not do a step (it is tried again later)."""
