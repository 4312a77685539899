"""Every change to an incident as a pure function returning a `Change`.

A `Change` holds the new incident, its audit before/after, its timeline entries and the
side effects it decides.

The service applies a `Change` in one transaction (compare-and-swap on the incident's
version, timeline entries, enqueued steps, audit record), so all of it happens or none.
A function returns None when the change would change nothing (same severity again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agents.incidents.errors import IncidentInputError, IncidentTransitionError
from agents.incidents.model import (
    TRANSITIONS,
    FollowUp,
    Incident,
    IncidentStatus,
    LinkedObject,
    Person,
    Role,
)
from agents.incidents.policy import SeverityLevel
from integrations.db.rows import NewEntry

__all__ = [
    "PAGE_ACKNOWLEDGE",
    "PAGE_RESOLVE",
    "PAGE_TRIGGER",
    "POSTMORTEM",
    "ROOMS",
    "Change",
    "add_follow_up",
    "add_link",
    "add_note",
    "add_update",
    "assign_role",
    "change_severity",
    "change_status",
]

ROOMS = "rooms"
PAGE_TRIGGER = "page.trigger"
PAGE_ACKNOWLEDGE = "page.acknowledge"
PAGE_RESOLVE = "page.resolve"
POSTMORTEM = "postmortem"
"""Prefix of the step that posts the postmortem draft in the rooms: ``postmortem.v{version}``
(one per resolution, so a reopened incident resolved again posts its new draft)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change, ready to apply.

    Attributes:
        action: The audit action (``incident.severity`` ...).
        incident: The incident after the change.
        before: The changed fields before (for the audit record).
        after: The changed fields after.
        entries: Timeline entries to append with it.
        enqueue: Side-effect steps it decides (each happens at most once per incident).
    """

    action: str
    incident: Incident
    before: dict[str, object]
    after: dict[str, object]
    entries: tuple[NewEntry, ...] = ()
    enqueue: tuple[str, ...] = ()


def _open_for_changes(incident: Incident, what: str) -> None:
    if incident.status is IncidentStatus.CLOSED:
        raise IncidentTransitionError(f"{incident.id} is closed: cannot {what}")


def _with_participant(incident: Incident, person: Person) -> tuple[Person, ...]:
    if any(p.same(person.identity) for p in incident.participants):
        return incident.participants
    return (*incident.participants, person)


def _entry(kind: str, text: str, *, by: Person, now: datetime, **data: object) -> NewEntry:
    return NewEntry(at=now, kind=kind, text=text, actor=by.identity, data=dict(data))


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise IncidentInputError(f"{what} is empty: say what it is")
    return text


def change_severity(
    incident: Incident, *, level: SeverityLevel, by: Person, now: datetime, escalate: bool = False
) -> Change | None:
    """Set the severity; page when the new level pages (or when escalating), once ever.

    Args:
        incident: The incident.
        level: The new level.
        by: Who.
        now: Now.
        escalate: Page whatever the level (escalation = raise severity + page).

    Returns:
        The change, or None when nothing would change.
    """
    _open_for_changes(incident, "change the severity")
    if escalate and not incident.status.open:
        raise IncidentTransitionError(
            f"{incident.id} is {incident.status.value}: reopen it (active) before escalating"
        )
    page = (escalate or level.pages) and not incident.paged
    if level.name == incident.severity and not page:
        return None
    after = incident.model_copy(
        update={
            "severity": level.name,
            "paged": incident.paged or page,
            "participants": _with_participant(incident, by),
        }
    )
    verb = "Escalated" if escalate else "Severity"
    text = f"{verb} {incident.severity} → {level.name} ({level.label}) by {by.name}"
    if page:
        text += "; paging on-call"
    return Change(
        action="incident.escalate" if escalate else "incident.severity",
        incident=after,
        before={"severity": incident.severity, "paged": incident.paged},
        after={"severity": level.name, "paged": after.paged},
        entries=(
            _entry("severity", text, by=by, now=now, before=incident.severity, after=level.name),
        ),
        enqueue=(PAGE_TRIGGER,) if page else (),
    )


def change_status(
    incident: Incident,
    *,
    status: IncidentStatus,
    by: Person,
    now: datetime,
    summary: str | None = None,
) -> Change | None:
    """Move the incident along its lifecycle (`agents.incidents.model.TRANSITIONS`).

    Args:
        incident: The incident.
        status: The new status.
        by: Who.
        now: Now.
        summary: Required to resolve: what happened and what fixed it.

    Returns:
        The change, or None when it is already in that status.

    Raises:
        IncidentTransitionError: The lifecycle does not allow it.
        IncidentInputError: Resolving without a summary.
    """
    if status is incident.status:
        return None
    if status not in TRANSITIONS[incident.status]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[incident.status])) or "nothing"
        raise IncidentTransitionError(
            f"{incident.id} is {incident.status.value}: cannot become {status.value} "
            f"(allowed: {allowed})"
        )
    resolution = incident.resolution
    if status is IncidentStatus.RESOLVED:
        resolution = _text(summary or "", "the resolution summary")
    times = dict(incident.status_times)
    if status is IncidentStatus.ACTIVE:
        times.setdefault(IncidentStatus.ACTIVE, now)  # the first time: acknowledged
        times.pop(IncidentStatus.RESOLVED, None)  # reopened: the resolution no longer holds
    else:
        times[status] = now
    enqueue: tuple[str, ...] = ()
    if incident.paged and status is IncidentStatus.ACTIVE:
        enqueue = (PAGE_ACKNOWLEDGE,)
    elif incident.paged and status is IncidentStatus.RESOLVED:
        enqueue = (PAGE_RESOLVE,)
    if status is IncidentStatus.RESOLVED:
        # The version this change writes: one postmortem post per resolution.
        enqueue += (f"{POSTMORTEM}.v{incident.version + 1}",)
    after = incident.model_copy(
        update={
            "status": status,
            "status_times": times,
            "resolution": resolution,
            "participants": _with_participant(incident, by),
        }
    )
    text = f"Status {incident.status.value} → {status.value} by {by.name}"
    if status is IncidentStatus.RESOLVED:
        text += f": {resolution}"
    return Change(
        action="incident.status",
        incident=after,
        before={"status": incident.status.value},
        after={"status": status.value, **({"resolution": resolution} if resolution else {})},
        entries=(
            _entry(
                "status", text, by=by, now=now, before=incident.status.value, after=status.value
            ),
        ),
        enqueue=enqueue,
    )


def assign_role(
    incident: Incident, *, role: Role, person: Person, by: Person, now: datetime
) -> Change | None:
    """Give ``role`` to ``person`` (replacing whoever held it).

    Returns:
        The change, or None when they already hold it.
    """
    _open_for_changes(incident, "assign roles")
    current = incident.roles.get(role)
    if current is not None and current.same(person.identity):
        return None
    with_actor = incident.model_copy(update={"participants": _with_participant(incident, by)})
    participants = _with_participant(with_actor, person)
    after = incident.model_copy(
        update={"roles": {**incident.roles, role: person}, "participants": participants}
    )
    return Change(
        action="incident.role",
        incident=after,
        before={"role": role.value, "holder": current.identity if current else None},
        after={"role": role.value, "holder": person.identity},
        entries=(
            _entry(
                "role",
                f"{person.name} is now {role.value} (set by {by.name})",
                by=by,
                now=now,
                role=role.value,
                holder=person.identity,
            ),
        ),
    )


def add_note(incident: Incident, *, text: str, by: Person, now: datetime) -> Change:
    """Add a note to the timeline."""
    _open_for_changes(incident, "add notes")
    note = _text(text, "the note")
    return Change(
        action="incident.note",
        incident=incident.model_copy(update={"participants": _with_participant(incident, by)}),
        before={},
        after={"note": note},
        entries=(_entry("note", note, by=by, now=now),),
    )


def add_update(incident: Incident, *, text: str, by: Person, now: datetime) -> Change:
    """Record a status update (it restarts the reminder clock)."""
    _open_for_changes(incident, "post updates")
    update = _text(text, "the update")
    after = incident.model_copy(
        update={
            "last_update_at": now,
            "last_update": update,
            "participants": _with_participant(incident, by),
        }
    )
    return Change(
        action="incident.update",
        incident=after,
        before={
            "last_update_at": incident.last_update_at.isoformat()
            if incident.last_update_at
            else None
        },
        after={"last_update_at": now.isoformat(), "update": update},
        entries=(_entry("update", update, by=by, now=now),),
    )


def add_link(incident: Incident, *, link: LinkedObject, by: Person, now: datetime) -> Change | None:
    """Link a TWS job or job stream (once per kind and name).

    Returns:
        The change, or None when it is linked already.
    """
    _open_for_changes(incident, "link objects")
    if any(o.kind == link.kind and o.name == link.name for o in incident.links):
        return None
    state = f" ({link.state})" if link.state else ""
    kind = "job stream" if link.kind == "job_stream" else "job"
    return Change(
        action="incident.link",
        incident=incident.model_copy(
            update={
                "links": (*incident.links, link),
                "participants": _with_participant(incident, by),
            }
        ),
        before={},
        after={"link": link.model_dump(mode="json")},
        entries=(
            _entry(
                "link",
                f"Linked {kind} {link.name}{state} by {by.name}",
                by=by,
                now=now,
                object_kind=link.kind,
                name=link.name,
                state=link.state,
            ),
        ),
    )


def add_follow_up(
    incident: Incident, *, text: str, owner: str | None, by: Person, now: datetime
) -> Change:
    """Add a follow-up task (allowed after closing too: postmortems produce them)."""
    task = FollowUp(
        number=len(incident.follow_ups) + 1,
        text=_text(text, "the follow-up"),
        owner=owner,
        created_at=now,
        created_by=by.identity,
    )
    who = f" ({owner})" if owner else ""
    return Change(
        action="incident.follow_up",
        incident=incident.model_copy(
            update={
                "follow_ups": (*incident.follow_ups, task),
                "participants": _with_participant(incident, by),
            }
        ),
        before={},
        after={"follow_up": task.model_dump(mode="json")},
        entries=(
            _entry(
                "follow_up",
                f"Follow-up #{task.number}: {task.text}{who}",
                by=by,
                now=now,
                number=task.number,
            ),
        ),
    )
