"""Alert cards: a finding (and what people did about it) as a neutral `Reply`.

An open alert shows its headline (tone by severity), the explanation, the deadline figures
when there are some, the chart (`Image`; Slack skips it in blocks and gets the PNG uploaded
in the alert's thread instead), who acknowledged or snoozed it, and two rows of buttons::

    [Acknowledge] [Snooze 1 h] [Snooze until tomorrow]
    [Why?] [Request rerun] [Declare incident]

Every button's value is the finding's key; the click handler looks the alert up by it and
never trusts anything else from the click. All text is plain: job names and log lines are
escaped by each surface's renderer, so nothing here builds markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from agents.messages import (
    Actions,
    Block,
    Button,
    Context,
    Fields,
    Image,
    Paragraph,
    Preformatted,
    Reply,
    Tone,
)
from agents.watch.alert_state import Attention, FindingView
from agents.watch.alerts import Digest
from agents.watch.model import FindingKind, Severity

__all__ = [
    "ACK",
    "DECLARE",
    "RERUN",
    "SNOOZE_HOUR",
    "SNOOZE_TOMORROW",
    "WHY",
    "alert_reply",
    "closed_note",
    "closed_reply",
    "digest_reply",
    "paused_reply",
    "resumed_reply",
    "thread_note",
    "why_reply",
]

ACK: Final = "watch.ack"
SNOOZE_HOUR: Final = "watch.snooze_hour"
SNOOZE_TOMORROW: Final = "watch.snooze_tomorrow"
WHY: Final = "watch.why"
RERUN: Final = "watch.rerun"
DECLARE: Final = "watch.declare"

_TONE: Final = {Severity.WARNING: Tone.WARNING, Severity.CRITICAL: Tone.ERROR}
_KIND: Final = {
    FindingKind.FAILURE: "failure",
    FindingKind.SLOW_RUNNING: "running long",
    FindingKind.DURATION: "unusual duration",
    FindingKind.FAILURE_RATE: "failing often",
    FindingKind.DEADLINE_RISK: "deadline at risk",
    FindingKind.WORKSTATION: "workstation",
}
_MAX_EVIDENCE: Final = 40


def _clock(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return "?"
    local = at.astimezone(zone)
    return f"{local:%H:%M} {local.tzname() or ''}".strip()


def _facts(view: FindingView, zone: ZoneInfo) -> tuple[tuple[str, str], ...]:
    items = [("Object", view.object_name), ("Kind", _KIND[view.kind])]
    if view.probability is not None:
        items.append(("Chance to miss", f"{view.probability:.0%}"))
    if view.eta is not None:
        items.append(("Expected end", _clock(view.eta, zone)))
    if view.deadline is not None:
        items.append(("Deadline", _clock(view.deadline, zone)))
    items.append(("Plan day", view.plan_date.isoformat()))
    return tuple(items)


def _attention(attention: Attention, *, now: datetime, zone: ZoneInfo) -> list[str]:
    said = []
    if attention.acked_by is not None:
        said.append(f"Acknowledged by {attention.acked_by} at {_clock(attention.acked_at, zone)}")
    if attention.snoozed(now):
        said.append(
            f"Snoozed by {attention.snoozed_by} until {_clock(attention.snoozed_until, zone)}"
        )
    return said


def _buttons(view: FindingView, attention: Attention) -> tuple[Actions, ...]:
    key = view.key
    first = [
        Button(action_id=SNOOZE_HOUR, label="Snooze 1 h", value=key),
        Button(action_id=SNOOZE_TOMORROW, label="Snooze until tomorrow", value=key),
    ]
    if attention.acked_by is None:
        first.insert(0, Button(action_id=ACK, label="Acknowledge", value=key, style="primary"))
    second = [Button(action_id=WHY, label="Why?", value=key)]
    if view.job_id is not None:
        second.append(Button(action_id=RERUN, label="Request rerun", value=key))
    second.append(Button(action_id=DECLARE, label="Declare incident", value=key, style="danger"))
    return Actions(buttons=tuple(first)), Actions(buttons=tuple(second))


def alert_reply(
    view: FindingView,
    *,
    attention: Attention,
    chart: str | None,
    as_of: datetime | None,
    now: datetime,
    zone: ZoneInfo,
) -> Reply:
    """An open alert's card.

    Args:
        view: The finding.
        attention: Ack and snooze.
        chart: The chart (base64 PNG), if any.
        as_of: The engine's time of the data.
        now: Server time (is a snooze still running).
        zone: Display time zone.

    Returns:
        The card.
    """
    blocks: list[Block] = [Paragraph(text=view.explanation), Fields(items=_facts(view, zone))]
    if chart is not None:
        blocks.append(Image(data=chart, alt=view.headline))
    status = _attention(attention, now=now, zone=zone)
    small = [*status, f"As of {_clock(as_of, zone)}"] if as_of is not None else status
    if small:
        blocks.append(Context(items=tuple(small)))
    blocks.extend(_buttons(view, attention))
    return Reply(headline=view.headline, tone=_TONE[view.severity], blocks=tuple(blocks))


def closed_note(view: FindingView, *, as_of: datetime, zone: ZoneInfo) -> str:
    """Why an alert closed, from what it was about and when its condition ended.

    Args:
        view: The finding as last shown.
        as_of: When the condition was seen to be over (engine clock).
        zone: Display time zone.

    Returns:
        E.g. "finished on time", "missed at 04:12", "recovered at 02:31 UTC".
    """
    at = _clock(as_of, zone)
    if view.kind is FindingKind.DEADLINE_RISK:
        if view.deadline is not None and as_of > view.deadline:
            return f"missed at {_clock(view.deadline, zone)}"
        return "finished on time (or back on track) as of " + at
    if view.kind in (FindingKind.SLOW_RUNNING, FindingKind.DURATION):
        return f"back within its usual range as of {at}"
    if view.kind is FindingKind.WORKSTATION:
        return f"recovered at {at}"
    return f"recovered as of {at}"


def closed_reply(view: FindingView, *, note: str, attention: Attention, zone: ZoneInfo) -> Reply:
    """A closed alert: what it was, why it closed; no buttons but Why?."""
    items = [f"Closed: {note}"]
    if attention.acked_by is not None:
        items.append(f"Acknowledged by {attention.acked_by} at {_clock(attention.acked_at, zone)}")
    return Reply(
        headline=f"Closed: {view.headline}",
        tone=Tone.SUCCESS if not note.startswith("missed") else Tone.INFO,
        blocks=(
            Paragraph(text=view.explanation),
            Context(items=tuple(items)),
            Actions(buttons=(Button(action_id=WHY, label="Why?", value=view.key),)),
        ),
    )


def why_reply(view: FindingView, *, zone: ZoneInfo) -> Reply:
    """The whole story of a finding, for the alert's thread."""
    blocks: list[Block] = [Paragraph(text=view.explanation), Fields(items=_facts(view, zone))]
    if view.chain:
        blocks.append(Paragraph(text="Critical chain (upstream first): " + " → ".join(view.chain)))
    if view.evidence:
        blocks.append(Preformatted(text="\n".join(view.evidence[:_MAX_EVIDENCE])))
    return Reply(headline=f"Why: {view.headline}", blocks=tuple(blocks))


def thread_note(view: FindingView, *, reminder: bool) -> Reply:
    """What is said in an alert's thread when it turns critical or outlives a snooze."""
    if reminder:
        return Reply(headline=f"Still going after the snooze: {view.headline}", tone=Tone.WARNING)
    return Reply(headline=f"Now critical: {view.headline}", tone=Tone.ERROR)


def digest_reply(digest: Digest, *, per_hour: int, zone: ZoneInfo) -> Reply:
    """The one message listing the alerts held back by the hourly rate."""
    lines = [f"{entry.severity}: {entry.headline}" for entry in digest.entries]
    return Reply(
        headline=f"{len(lines)} more alert(s) since {_clock(digest.started, zone)}: "
        f"over {per_hour} new alerts an hour, so they are listed here",
        tone=Tone.WARNING,
        blocks=(Paragraph(text="\n".join(lines)),) if lines else (),
    )


def paused_reply(reason: str) -> Reply:
    """Watching stopped (never an all-clear while blind)."""
    return Reply(
        headline=f"Watch paused: {reason}",
        tone=Tone.WARNING,
        blocks=(
            Paragraph(
                text="No new alerts and no all-clear until the engine answers again; "
                "open alerts stay as they are."
            ),
        ),
    )


def resumed_reply() -> Reply:
    """Watching runs again."""
    return Reply(headline="Watch resumed: the engine answers again.", tone=Tone.SUCCESS)
