"""The incident model: what an incident is, its lifecycle, and how it is stored.

An `Incident` is a frozen pydantic model; changes make new copies (`agents.incidents.changes`).
It is stored as one JSON document per incident (`Incident.to_document`), with the fields
that are kept elsewhere left out: ``version`` (the row's compare-and-swap counter),
``places`` (the places table, which is also the journal of opening them) and ``timeline``
(the timeline table).

Lifecycle::

    triage ──> active ──> monitoring ──> resolved ──> closed
      │          ^  │         │  ^           │
      │          │  └─────────┼──┘ (regress)  │ reopen: resolved -> active
      └──────────┴────────────┴─> resolved <──┘
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.messages import Actor

__all__ = [
    "TRANSITIONS",
    "DeadlineAtRisk",
    "FollowUp",
    "Impact",
    "Incident",
    "IncidentStatus",
    "LinkedObject",
    "Location",
    "Person",
    "Place",
    "Role",
    "TimelineEntry",
    "room_name",
]


class IncidentStatus(StrEnum):
    """Where an incident is in its lifecycle."""

    TRIAGE = "triage"  # declared; nobody has taken it yet
    ACTIVE = "active"  # someone works on it (entering it first = acknowledged)
    MONITORING = "monitoring"  # a fix is in; watching
    RESOLVED = "resolved"  # over, with a summary
    CLOSED = "closed"  # follow-ups captured; nothing more happens

    @property
    def open(self) -> bool:
        """True before resolution (reminders and the open list care)."""
        return self in (IncidentStatus.TRIAGE, IncidentStatus.ACTIVE, IncidentStatus.MONITORING)


TRANSITIONS: Mapping[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.TRIAGE: frozenset(
        {IncidentStatus.ACTIVE, IncidentStatus.MONITORING, IncidentStatus.RESOLVED}
    ),
    IncidentStatus.ACTIVE: frozenset({IncidentStatus.MONITORING, IncidentStatus.RESOLVED}),
    IncidentStatus.MONITORING: frozenset({IncidentStatus.ACTIVE, IncidentStatus.RESOLVED}),
    IncidentStatus.RESOLVED: frozenset({IncidentStatus.ACTIVE, IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
}
"""The allowed status changes; anything else is refused."""


class Role(StrEnum):
    """Roles people hold in an incident."""

    LEAD = "lead"  # decides; may change severity, status and roles
    COMMS = "comms"  # keeps stakeholders informed
    SCRIBE = "scribe"  # keeps the timeline


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Person(_Frozen):
    """Someone in an incident, as the audit log and approvals name people.

    Attributes:
        identity: E-mail (lower case) or ``platform:user``.
        name: What to call them.
        platform: Where they were seen.
        user_id: Their id on that platform.
    """

    identity: str
    name: str
    platform: str
    user_id: str

    @classmethod
    def from_actor(cls, actor: Actor) -> Person:
        """The person behind a chat actor."""
        return cls(
            identity=actor.identity,
            name=actor.display_name,
            platform=actor.platform.value,
            user_id=actor.user_id,
        )

    def same(self, identity: str) -> bool:
        """Whether ``identity`` is this person (case-blind)."""
        return self.identity.lower() == identity.strip().lower()


class Location(_Frozen):
    """A conversation: platform, channel, and thread (None at top level)."""

    platform: str
    channel: str
    thread: str | None = None


class Place(_Frozen):
    """The incident's place on one platform and what was posted there.

    Attributes:
        platform: The platform.
        room: The incident's channel (Slack) or thread (Teams).
        state_message_id: The state message (pinned, updated in place), once posted.
        pinned: Whether it is pinned.
        announce_at: Where the incident was announced, if anywhere.
        announcement_message_id: The announcement (updated in place), once posted.
        rendered_version: The incident version the state message shows.
    """

    platform: str
    room: Location
    state_message_id: str | None = None
    pinned: bool = False
    announce_at: Location | None = None
    announcement_message_id: str | None = None
    rendered_version: int = 0


class LinkedObject(_Frozen):
    """A TWS job or job stream the incident is about.

    Attributes:
        kind: ``job`` or ``job_stream``.
        name: Its name as operators write it (``WS#STREAM.JOB`` or ``STREAM.JOB``).
        plan_id: Its id in the current plan, when resolved.
        state: Its status when it was linked (e.g. ``ABEND``).
        linked_at: When it was linked.
        linked_by: Who linked it (identity).
    """

    kind: Literal["job", "job_stream"]
    name: str
    plan_id: str | None = None
    state: str | None = None
    linked_at: datetime
    linked_by: str


class DeadlineAtRisk(_Frozen):
    """One deadline the incident puts at risk.

    Attributes:
        name: The job or job stream whose deadline it is.
        deadline: The deadline, when known.
        expected_end: When it is now expected to end, when known.
        late: Already past the deadline.
        note: Anything else (e.g. "blocked by PAYROLL_EXTRACT").
    """

    name: str
    deadline: datetime | None = None
    expected_end: datetime | None = None
    late: bool = False
    note: str = ""


class Impact(_Frozen):
    """What the incident affects: a sentence and the deadlines at risk."""

    summary: str = ""
    deadlines: tuple[DeadlineAtRisk, ...] = ()


class FollowUp(_Frozen):
    """A task to do after the incident (for the postmortem)."""

    number: int
    text: str
    owner: str | None = None
    created_at: datetime
    created_by: str
    done: bool = False


class TimelineEntry(_Frozen):
    """One line of the incident's timeline (stored in its own table, numbered 1, 2, ...)."""

    seq: int
    at: datetime
    kind: str
    actor: str | None = None
    text: str
    data: dict[str, Any] = Field(default_factory=dict)


_LOADED = {"version", "places", "timeline"}


class Incident(_Frozen):
    """An incident.

    Attributes:
        id: ``{prefix}-{year}-{number:04d}``, e.g. ``INC-2026-0042``.
        number: Its number within the year.
        title: One line.
        description: What is known, in words.
        severity: A severity name of the policy (``SEV1`` ...).
        status: Where it is in the lifecycle.
        status_times: When it entered each status (``active``: the first time, which is
            when it was acknowledged; the others: the last time).
        declared_at: When it was declared.
        declared_by: Who declared it.
        roles: Who holds which role.
        participants: Everyone who acted on it, in order of first action.
        links: The TWS objects it is about.
        impact: What it affects.
        follow_ups: Tasks for afterwards.
        origin: Where it was declared.
        room_name: The name its rooms are opened under (fixed at declaration, so a retried
            opening looks for the same name).
        last_update_at: When the last status update was posted (reminders count from it).
        last_update: The text of the last status update.
        resolution: The summary given when it was resolved.
        paged: Whether a page was decided (the trigger step is enqueued).
        version: The stored version (loaded, not stored in the document).
        places: Its places (loaded from the places table).
        timeline: Its timeline (loaded on request from the timeline table).
    """

    id: str
    number: int
    title: str
    description: str = ""
    severity: str
    status: IncidentStatus = IncidentStatus.TRIAGE
    status_times: dict[IncidentStatus, datetime] = Field(default_factory=dict)
    declared_at: datetime
    declared_by: Person
    roles: dict[Role, Person] = Field(default_factory=dict)
    participants: tuple[Person, ...] = ()
    links: tuple[LinkedObject, ...] = ()
    impact: Impact = Impact()
    follow_ups: tuple[FollowUp, ...] = ()
    origin: Location | None = None
    room_name: str
    last_update_at: datetime | None = None
    last_update: str | None = None
    resolution: str | None = None
    paged: bool = False
    version: int = 0
    places: tuple[Place, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()

    @property
    def lead(self) -> Person | None:
        """Who leads it."""
        return self.roles.get(Role.LEAD)

    @property
    def acknowledged_at(self) -> datetime | None:
        """When it first became active."""
        return self.status_times.get(IncidentStatus.ACTIVE)

    @property
    def resolved_at(self) -> datetime | None:
        """When it was (last) resolved."""
        return self.status_times.get(IncidentStatus.RESOLVED)

    def to_document(self) -> dict[str, Any]:
        """The stored JSON document (loaded-only fields left out)."""
        return self.model_dump(mode="json", exclude=_LOADED)

    @classmethod
    def from_document(
        cls,
        document: Mapping[str, Any],
        *,
        version: int,
        places: tuple[Place, ...] = (),
        timeline: tuple[TimelineEntry, ...] = (),
    ) -> Incident:
        """Read a stored document back, with the fields kept elsewhere."""
        return cls.model_validate(
            {**document, "version": version, "places": places, "timeline": timeline}
        )


_SLUG = re.compile(r"[^a-z0-9]+")


def room_name(incident_id: str, title: str, *, limit: int = 80) -> str:
    """The name an incident's room gets: ``inc-2026-0042-payroll-extract-abended``.

    Lower-case letters, digits and hyphens, at most ``limit`` characters (Slack's rule for
    channel names), always starting with the id so it is unique.

    Args:
        incident_id: The incident id.
        title: Its title.
        limit: The longest name the platform takes.

    Returns:
        The name.
    """
    head = _SLUG.sub("-", incident_id.lower()).strip("-")
    tail = _SLUG.sub("-", title.lower()).strip("-")
    name = f"{head}-{tail}" if tail else head
    return name[:limit].rstrip("-")
