"""What incidents say in chat, as neutral `Reply` values (the adapters render them).

State card (pinned in the incident's room, updated in place), announcement (where the
incident was announced, updated in place), status update, reminder, paging notices, and the
answer to a declaration. Plain text only: the renderers escape for their surface.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agents.formatting import format_clock, format_duration
from agents.incidents.errors import IncidentInputError
from agents.incidents.model import Incident, IncidentStatus, Role
from agents.incidents.policy import IncidentPolicy, SeverityLevel
from agents.messages import Block, Context, Fields, Paragraph, Preformatted, Reply, Table, Tone

__all__ = [
    "announcement",
    "declared_reply",
    "no_pager_reply",
    "paging_failed_reply",
    "postmortem_parts",
    "postmortem_reply",
    "reminder_reply",
    "state_card",
    "update_reply",
]


def _level(incident: Incident, policy: IncidentPolicy) -> SeverityLevel | None:
    try:
        return policy.level(incident.severity)
    except IncidentInputError:  # a level removed from the policy after the incident began
        return None


def _severity(incident: Incident, policy: IncidentPolicy) -> str:
    level = _level(incident, policy)
    return f"{incident.severity} ({level.label})" if level else incident.severity


def _tone(incident: Incident, policy: IncidentPolicy) -> Tone:
    if not incident.status.open:
        return Tone.SUCCESS
    level = _level(incident, policy)
    rank = policy.severities.index(level) if level else len(policy.severities)
    return Tone.ERROR if rank <= 1 else Tone.WARNING if rank == 2 else Tone.INFO


def _who(incident: Incident, role: Role) -> str:
    person = incident.roles.get(role)
    return person.name if person else "unassigned"


def _next_update_due(incident: Incident, policy: IncidentPolicy) -> datetime | None:
    level = _level(incident, policy)
    if level is None or level.cadence is None or not incident.status.open:
        return None
    return (incident.last_update_at or incident.declared_at) + level.cadence


def state_card(
    incident: Incident, *, policy: IncidentPolicy, zone: ZoneInfo, now: datetime | None = None
) -> Reply:
    """The incident at a glance: status, severity, roles, times, links, impact.

    Args:
        incident: The incident.
        policy: Severity names and cadences.
        zone: The time zone times are shown in.
        now: Now (times today are shown without their date).

    Returns:
        The card.
    """

    def clock(moment: datetime | None) -> str:
        return format_clock(moment, zone=zone, today=now)

    fields = [
        ("Status", incident.status.value),
        ("Severity", _severity(incident, policy)),
        ("Lead", _who(incident, Role.LEAD)),
        ("Comms", _who(incident, Role.COMMS)),
        ("Scribe", _who(incident, Role.SCRIBE)),
        ("Declared", f"{clock(incident.declared_at)} by {incident.declared_by.name}"),
        ("Acknowledged", clock(incident.acknowledged_at)),
    ]
    if incident.resolved_at is not None:
        fields.append(("Resolved", clock(incident.resolved_at)))
    if incident.last_update_at is not None:
        fields.append(("Last update", f"{clock(incident.last_update_at)}: {incident.last_update}"))
    blocks: list[Block] = [Fields(items=tuple(fields))]
    if incident.description:
        blocks.append(Paragraph(text=incident.description))
    if incident.links:
        linked = tuple((o.kind.replace("_", " "), o.name, o.state or "-") for o in incident.links)
        blocks.append(Table(columns=("Linked", "Name", "State when linked"), rows=linked))
    if incident.impact.summary:
        blocks.append(Paragraph(text=f"Impact: {incident.impact.summary}"))
    if incident.impact.deadlines:
        rows = tuple(
            (d.name, clock(d.deadline), clock(d.expected_end), "late" if d.late else d.note or "-")
            for d in incident.impact.deadlines
        )
        blocks.append(
            Table(columns=("Deadline at risk", "Deadline", "Expected end", ""), rows=rows)
        )
    if incident.resolution:
        blocks.append(Paragraph(text=f"Resolution: {incident.resolution}"))
    small = [f"{incident.id} v{incident.version}"]
    due = _next_update_due(incident, policy)
    if due is not None:
        small.append(f"next status update due {clock(due)}")
    blocks.append(Context(items=tuple(small)))
    return Reply(
        headline=f"{incident.id} · {_severity(incident, policy)} · {incident.status.value} — {incident.title}",
        tone=_tone(incident, policy),
        blocks=tuple(blocks),
    )


def announcement(incident: Incident, *, policy: IncidentPolicy, zone: ZoneInfo) -> Reply:
    """The announcement where the incident was declared (kept current in place)."""
    verb = "declared" if incident.status.open else incident.status.value
    rooms = ", ".join(f"{p.platform} {p.room.channel}" for p in incident.places) or "opening…"
    return Reply(
        headline=f"Incident {incident.id} {verb}: {_severity(incident, policy)} — {incident.title}",
        tone=_tone(incident, policy),
        blocks=(
            Fields(
                items=(
                    ("Status", incident.status.value),
                    ("Lead", _who(incident, Role.LEAD)),
                    ("Declared", format_clock(incident.declared_at, zone=zone)),
                    ("Room", rooms),
                )
            ),
        ),
    )


def declared_reply(
    incident: Incident, *, created: bool, policy: IncidentPolicy, zone: ZoneInfo
) -> Reply:
    """The answer to a declaration (a repeated one says it was declared already)."""
    card = state_card(incident, policy=policy, zone=zone)
    headline = (
        f"Declared {card.headline}"
        if created
        else f"Already declared as {incident.id}: {incident.title}"
    )
    return card.model_copy(update={"headline": headline})


def update_reply(
    incident: Incident, *, text: str, by: str, at: datetime, policy: IncidentPolicy, zone: ZoneInfo
) -> Reply:
    """A status update, as posted into the incident's rooms."""
    return Reply(
        headline=f"{incident.id} update · {incident.status.value} · {_severity(incident, policy)}",
        tone=_tone(incident, policy),
        blocks=(Paragraph(text=text), Context(items=(f"by {by}", format_clock(at, zone=zone)))),
    )


def reminder_reply(
    incident: Incident, *, silent_for: timedelta, cadence: timedelta, policy: IncidentPolicy
) -> Reply:
    """The reminder posted when no status update came within the severity's cadence."""
    return Reply(
        headline=(
            f"{incident.id}: no status update for {format_duration(silent_for)} "
            f"({incident.severity} expects one every {format_duration(cadence)})"
        ),
        tone=Tone.WARNING,
        blocks=(
            Paragraph(
                text="Post a status update: what is known, what is being done, when the next "
                "update comes."
            ),
            Context(
                items=(f"lead: {_who(incident, Role.LEAD)}", f"comms: {_who(incident, Role.COMMS)}")
            ),
        ),
    )


def paging_failed_reply(incident: Incident, *, action: str, pager: str, error: str) -> Reply:
    """Told in the room when a page could not be sent after the retries."""
    what = (
        "the on-call person was NOT paged" if action == "trigger" else f"the page was not {action}d"
    )
    return Reply(
        headline=f"Paging failed for {incident.id}: {what}",
        tone=Tone.ERROR,
        blocks=(
            Paragraph(text=f"{pager} answered: {error}"),
            Paragraph(text="Reach the on-call person another way; Resync will not try again."),
        ),
    )


def no_pager_reply(incident: Incident) -> Reply:
    """Told in the room when the incident should page but no pager is configured."""
    return Reply(
        headline=f"{incident.id} would page on-call, but no pager is configured",
        tone=Tone.WARNING,
        blocks=(Paragraph(text="Reach the on-call person directly."),),
    )


def postmortem_reply(incident: Incident, *, markdown: str) -> Reply:
    """The postmortem draft (Markdown, shown as is so it can be copied)."""
    status = (
        ""
        if incident.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
        else " (still open)"
    )
    return Reply(
        headline=f"Postmortem draft for {incident.id}{status}: {incident.title}",
        blocks=(Preformatted(text=markdown),),
    )


def _chunks(markdown: str, limit: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in markdown.splitlines():
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and size + len(line) + 1 > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        parts.append("\n".join(current))
    return parts


def postmortem_parts(
    incident: Incident, *, markdown: str, limit: int = 2_500, max_parts: int = 8
) -> list[Reply]:
    """The postmortem draft as messages small enough for one chat message each.

    Args:
        incident: The incident.
        markdown: The draft (`agents.incidents.postmortem.render_postmortem`).
        limit: At most this many characters of the draft per message (whole lines).
        max_parts: At most this many messages; a longer draft ends with where to get it all.

    Returns:
        One or more replies, in order.
    """
    chunks = _chunks(markdown, limit)
    cut = len(chunks) > max_parts
    chunks = chunks[:max_parts]
    replies: list[Reply] = []
    for number, chunk in enumerate(chunks, start=1):
        part = f" (part {number} of {len(chunks)})" if len(chunks) > 1 else ""
        blocks: tuple[Block, ...] = (Preformatted(text=chunk),)
        if number == 1:
            blocks = (
                Paragraph(text=f"Resolved: {incident.resolution or '-'}"),
                *blocks,
            )
        if cut and number == len(chunks):
            blocks += (
                Paragraph(
                    text=f"The draft goes on: resync incidents export {incident.id} writes all of it."
                ),
            )
        replies.append(
            Reply(
                headline=f"Postmortem draft for {incident.id}{part}: {incident.title}",
                tone=Tone.INFO,
                blocks=blocks,
            )
        )
    return replies
