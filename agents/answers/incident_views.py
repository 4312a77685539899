"""How incident answers read: lists, one incident, statistics, changes, and refusals.

The service's neutral replies (the state card, the status update) are kept; lists,
timelines and statistics become compact tables. Times carry their zone, every answer
names the incident ids it is about and says where its data came from. Errors of the
incident service become one sentence for people (never a class name or a file path).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from agents.answers.common import Answer
from agents.formatting import format_clock, format_duration, plural
from agents.incidents.errors import (
    IncidentAuditError,
    IncidentConflictError,
    IncidentError,
    IncidentNotFoundError,
    IncidentStorageError,
    RoomsError,
)
from agents.incidents.model import Incident
from agents.incidents.mutations import ChangeResult
from agents.incidents.policy import IncidentPolicy, SeverityLevel
from agents.incidents.replies import state_card
from agents.incidents.stats import IncidentStats
from agents.messages import Block, Context, Fields, Paragraph, Reply, Table, Tone

__all__ = [
    "SOURCE",
    "change_answer",
    "error_answer",
    "level_named",
    "list_answer",
    "severity_choices",
    "show_answer",
    "small_print",
    "stats_answer",
    "unknown_severity",
    "warning",
]

SOURCE = "Source: Resync incident records"
_TIMELINE_ROWS = 10
_SUMMARY = frozenset({"Status", "Severity", "Lead", "Comms", "Acknowledged", "Resolved"})


def warning(headline: str, *details: str) -> Answer:
    """A refusal or a question back: one sentence, details as paragraphs."""
    return Answer(
        reply=Reply(
            headline=headline,
            tone=Tone.WARNING,
            blocks=tuple(Paragraph(text=text) for text in details if text),
        )
    )


def small_print(now: datetime, zone: ZoneInfo, *extra: str) -> Context:
    """``As of 23:30 UTC · Source: Resync incident records``."""
    return Context(items=(f"As of {format_clock(now, zone=zone)}", SOURCE, *extra))


def severity_choices(policy: IncidentPolicy) -> str:
    """``SEV1 (critical), SEV2 (major), SEV3 (moderate), SEV4 (minor)``."""
    return ", ".join(f"{level.name} ({level.label})" for level in policy.severities)


def level_named(policy: IncidentPolicy, word: str) -> SeverityLevel | None:
    """The level a word names: its name (``SEV1``) or its label (``critical``), case-blind."""
    wanted = word.strip().lower()
    for level in policy.severities:
        if wanted in (level.name.lower(), level.label.lower()):
            return level
    return None


def unknown_severity(policy: IncidentPolicy, word: str) -> Answer:
    """The answer to a severity that is not a level of the policy (or none at all)."""
    if not word:
        return warning(f"Which severity? One of {severity_choices(policy)}.")
    return warning(f"Unknown severity {word}: use one of {severity_choices(policy)}.")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def error_answer(
    exc: IncidentError, *, asked: str | None = None, open_ids: Sequence[str] = ()
) -> Answer:
    """Words for an error of the incident service.

    Args:
        exc: The error.
        asked: The incident id the person named, if any.
        open_ids: Ids of the open incidents (named when an id was not found).

    Returns:
        The answer; the service's own message when it is written for people.
    """
    if isinstance(exc, IncidentNotFoundError):
        known = f"Open incidents: {', '.join(open_ids)}." if open_ids else "No incident is open."
        return warning(f"There is no incident {asked or 'with that id'}.", known)
    if isinstance(exc, IncidentAuditError):
        return warning(
            "Nothing was changed: the audit log could not record it.",
            "Try again in a minute; if it keeps happening, tell the Resync administrators.",
        )
    if isinstance(exc, IncidentStorageError | RoomsError):
        return warning(
            "The incident records did not answer, so nothing was changed.",
            "Try again in a minute; if it keeps happening, tell the Resync administrators.",
        )
    if isinstance(exc, IncidentConflictError):
        return warning(_sentence(str(exc)), "Others are changing it right now.")
    # Input, transition and permission errors say what and why, for people.
    return warning(_sentence(str(exc)))


def list_answer(
    incidents: Sequence[Incident], *, policy: IncidentPolicy, zone: ZoneInfo, now: datetime
) -> Answer:
    """The open incidents, most severe first, as a table."""
    if not incidents:
        return Answer(
            reply=Reply(
                headline="No incident is open.",
                tone=Tone.SUCCESS,
                blocks=(small_print(now, zone),),
            )
        )
    ranks = {level.name: rank for rank, level in enumerate(policy.severities)}
    ordered = sorted(incidents, key=lambda i: (ranks.get(i.severity, 99), i.declared_at))
    counts = Counter(i.severity for i in ordered)
    by_severity = ", ".join(
        f"{counts[name]} {name}" for name in sorted(counts, key=lambda n: ranks.get(n, 99))
    )
    rows = tuple(
        (
            i.id,
            i.severity,
            i.status.value,
            i.title,
            i.lead.name if i.lead else "unassigned",
            format_clock(i.declared_at, zone=zone, today=now),
        )
        for i in ordered
    )
    top = ranks.get(ordered[0].severity, 99)
    return Answer(
        reply=Reply(
            headline=f"{plural(len(ordered), 'open incident')}: {by_severity}.",
            tone=Tone.ERROR if top <= 1 else Tone.WARNING,
            blocks=(
                Table(
                    columns=("Incident", "Severity", "Status", "Title", "Lead", "Declared"),
                    rows=rows,
                ),
                small_print(now, zone),
            ),
        )
    )


def _who(incident: Incident, identity: str | None) -> str:
    if identity is None:
        return "Resync"
    for person in (*incident.participants, *incident.roles.values(), incident.declared_by):
        if person.same(identity):
            return person.name
    return identity


def show_answer(
    incident: Incident, *, policy: IncidentPolicy, zone: ZoneInfo, now: datetime
) -> Answer:
    """One incident: its state card and the last lines of its timeline."""
    card = state_card(incident, policy=policy, zone=zone, now=now)
    blocks: list[Block] = list(card.blocks)
    if incident.follow_ups:
        tasks = tuple(
            (str(f.number), f.text, f.owner or "-", "done" if f.done else "open")
            for f in incident.follow_ups
        )
        blocks.insert(-1, Table(columns=("#", "Follow-up", "Owner", "State"), rows=tasks))
    if incident.timeline:
        recent = incident.timeline[-_TIMELINE_ROWS:]
        rows = tuple(
            (format_clock(e.at, zone=zone, today=now), _who(incident, e.actor), e.text)
            for e in recent
        )
        blocks.insert(
            -1,
            Table(columns=("Time", "Who", "Timeline"), rows=rows, total=len(incident.timeline)),
        )
    blocks.append(small_print(now, zone))
    return Answer(reply=card.model_copy(update={"blocks": tuple(blocks)}))


def stats_answer(
    stats: IncidentStats, *, since: datetime | None, zone: ZoneInfo, now: datetime
) -> Answer:
    """Counts, time to acknowledge and time to resolve per severity, as a table."""
    period = f"since {format_clock(since, zone=zone)}" if since else "in all"
    if stats.total == 0:
        return Answer(
            reply=Reply(
                headline=f"No incidents declared {period}.", blocks=(small_print(now, zone),)
            )
        )
    rows = tuple(
        (
            row.severity,
            str(row.count),
            str(row.open),
            str(row.resolved),
            format_duration(row.mean_tta),
            format_duration(row.median_tta),
            format_duration(row.mean_ttr),
            format_duration(row.median_ttr),
        )
        for row in stats.by_severity
        if row.count
    )
    columns: tuple[str, ...] = ("Severity", "Declared", "Open", "Resolved")
    columns += ("TTA mean", "TTA median", "TTR mean", "TTR median")
    return Answer(
        reply=Reply(
            headline=(
                f"{plural(stats.total, 'incident')} declared {period}, {stats.open} still open."
            ),
            blocks=(
                Table(columns=columns, rows=rows),
                Paragraph(
                    text="TTA: declared to first active (acknowledged). TTR: declared to resolved."
                ),
                small_print(now, zone),
            ),
        )
    )


def change_answer(
    result: ChangeResult,
    *,
    done: str,
    unchanged: str,
    policy: IncidentPolicy,
    zone: ZoneInfo,
    now: datetime,
) -> Answer:
    """A change's answer: what was done (or that nothing was needed), and the incident now.

    Compact: status, severity, lead and the times that are set, then the card's small
    print (id, version, next update due). The full card is pinned in the incident's room.
    """
    card = state_card(result.incident, policy=policy, zone=zone, now=now)
    blocks: list[Block] = []
    for block in card.blocks:
        if isinstance(block, Fields):
            items = tuple((k, v) for k, v in block.items if k in _SUMMARY and v != "-")
            blocks.append(Fields(items=items))
            break
    blocks.extend(block for block in card.blocks if isinstance(block, Context))
    headline = done if result.changed else unchanged
    tone = card.tone if result.changed else Tone.INFO
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)))
