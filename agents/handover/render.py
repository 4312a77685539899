"""`handover_reply`: a `Handover` as one reply, the same in Slack, Teams and the terminal.

Sections in the order a person taking over reads them: what is broken (failures,
incidents, deadlines missed, workstations down), what is coming (deadlines at risk), what
waits for them (approvals), what was done (runbook runs). Each section shows at most
`SECTION_ROWS` rows and says how many more there are and what to ask to see them all;
each row says what to ask to drill in. Text only: the renderers escape it for their surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from agents.formatting import format_clock, plural
from agents.handover.model import Handover
from agents.messages import Block, Context, Paragraph, Reply, Table, Tone

__all__ = ["SECTION_ROWS", "handover_reply"]

SECTION_ROWS: Final = 5


def _section(
    blocks: list[Block],
    title: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    *,
    more: str,
) -> None:
    """Append one section: its title with the count, the first rows, "and N more"."""
    blocks.append(Paragraph(text=f"{title} ({len(rows)})"))
    blocks.append(Table(columns=columns, rows=tuple(rows[:SECTION_ROWS])))
    if len(rows) > SECTION_ROWS:
        blocks.append(Paragraph(text=f"… and {len(rows) - SECTION_ROWS} more: {more}"))


def _headline(handover: Handover, zone: ZoneInfo) -> tuple[str, Tone]:
    start = format_clock(handover.start, zone=zone, today=handover.as_of)
    end = format_clock(handover.as_of, zone=zone, today=handover.as_of)
    still = sum(1 for f in handover.failures if f.failed)
    parts = [
        plural(still, "job") + " still failed",
        plural(sum(1 for f in handover.failures if f.recovered), "rerun") + " succeeded",
    ]
    running = sum(1 for f in handover.failures if not f.failed and not f.recovered)
    if running:
        parts.append(plural(running, "rerun") + " not finished")
    if handover.incidents is not None:
        parts.append(plural(len(handover.incidents), "incident") + " open")
    parts.append(plural(len(handover.missed), "deadline") + " missed")
    parts.append(f"{len(handover.at_risk)} at risk")
    parts.append(plural(len(handover.workstations_down), "workstation") + " down")
    if handover.approvals is not None:
        parts.append(plural(len(handover.approvals), "approval") + " pending")
    headline = f"Shift handover, {start} to {end}: " + ", ".join(parts) + "."
    if still or handover.missed or handover.incidents:
        return headline, Tone.ERROR
    if handover.at_risk or handover.workstations_down or handover.approvals:
        return headline, Tone.WARNING
    return headline, Tone.SUCCESS


def handover_reply(handover: Handover, *, zone: ZoneInfo, watched: bool) -> Reply:
    """The handover as a reply.

    Args:
        handover: What was gathered.
        zone: Display time zone.
        watched: Whether a watcher supplies the deadlines at risk (names the question to
            ask for all of them).

    Returns:
        The reply.
    """
    now = handover.as_of

    def clock(moment: datetime | None) -> str:
        return format_clock(moment, zone=zone, today=now)

    headline, tone = _headline(handover, zone)
    blocks: list[Block] = []
    rows: list[tuple[str, ...]]
    columns: tuple[str, ...]
    if handover.failures:
        rows = [
            (f.name, f.stream, f.status, f.state, clock(f.ended_at), f.drill)
            for f in handover.failures
        ]
        columns = ("Job", "Job stream", "Status", "Now", "Ended", "Ask")
        _section(blocks, "Failures", columns, rows, more="ask “what failed tonight?”")
    if handover.incidents:
        rows = [
            (i.id, i.severity, i.status, i.title, clock(i.declared_at), i.drill)
            for i in handover.incidents
        ]
        columns = ("Incident", "Severity", "Status", "Title", "Declared", "Ask")
        _section(blocks, "Incidents open", columns, rows, more="ask “what incidents are open?”")
    columns = ("Job", "Deadline", "End", "Why", "Ask")
    if handover.missed:
        rows = [
            (d.name, clock(d.deadline), clock(d.expected_end), d.note, d.drill)
            for d in handover.missed
        ]
        _section(blocks, "Deadlines missed", columns, rows, more="ask “what is late?”")
    if handover.at_risk:
        rows = [
            (d.name, clock(d.deadline), clock(d.expected_end), d.note, d.drill)
            for d in handover.at_risk
        ]
        more = "ask “which deadlines are at risk?”" if watched else "ask “what will be late?”"
        _section(blocks, "Deadlines at risk", columns, rows, more=more)
    if handover.workstations_down:
        rows = [(w.name, w.state, w.drill) for w in handover.workstations_down]
        _section(
            blocks,
            "Workstations down",
            ("Workstation", "State", "Ask"),
            rows,
            more="ask “workstation status”",
        )
    if handover.approvals:
        rows = [
            (a.runbook, a.target, a.requested_by, clock(a.requested_at), clock(a.expires_at))
            for a in handover.approvals
        ]
        columns = ("Runbook", "Target", "Requested by", "Requested", "Expires")
        _section(
            blocks,
            "Approvals pending",
            columns,
            rows,
            more="see the approval cards in their threads",
        )
    if handover.runs:
        rows = [
            (r.runbook, r.target, r.outcome, clock(r.at), r.requested_by) for r in handover.runs
        ]
        columns = ("Runbook", "Target", "Outcome", "When", "Requested by")
        _section(
            blocks,
            "Runbook runs this shift",
            columns,
            rows,
            more="run “resync audit show --action runbook.outcome”",
        )
    blocks.extend(Paragraph(text=f"Not shown: {gap}.") for gap in handover.gaps)
    blocks.append(
        Context(
            items=(
                f"As of {format_clock(now, zone=zone)}",
                f"Source: {handover.source}",
                handover.risk_basis,
            )
        )
    )
    return Reply(headline=headline, tone=tone, blocks=tuple(blocks))
