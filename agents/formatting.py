"""How answers write times, durations and statuses: exact, with the time zone, short."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.tws.models import JobStatus, PlanJob

__all__ = ["format_clock", "format_duration", "format_status", "plural"]


def format_clock(moment: datetime | None, *, zone: ZoneInfo, today: datetime | None = None) -> str:
    """Format a time for a person: ``02:13 CET``, with the date when it is not today.

    Args:
        moment: The time (aware), or None.
        zone: The display time zone.
        today: The reference "now" (aware); its date in ``zone`` counts as today.

    Returns:
        The formatted time, or ``-`` when there is none.
    """
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    text = local.strftime("%H:%M %Z")
    if today is None or local.date() != today.astimezone(zone).date():
        text = local.strftime("%a %d %b ") + text
    return text


def format_duration(span: timedelta | None) -> str:
    """Format a duration: ``45s``, ``7m 13s``, ``2h 05m``.

    Args:
        span: The duration, or None.

    Returns:
        The formatted duration, or ``-``; negative spans format their absolute value.
    """
    if span is None:
        return "-"
    seconds = abs(int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_status(job: PlanJob) -> str:
    """A job's status with its return code when it ended in error: ``ABEND (rc 12)``.

    Args:
        job: The job.

    Returns:
        The status text.
    """
    text = job.status.value
    if job.return_code is not None and job.status not in (JobStatus.SUCC, JobStatus.EXEC):
        text += f" (rc {job.return_code})"
    if job.late:
        text += ", late"
    return text


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 job``, ``3 jobs``.

    Args:
        count: How many.
        noun: The singular.
        nouns: The plural, when it is not ``noun + 's'``.

    Returns:
        The count and the right form of the noun.
    """
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
