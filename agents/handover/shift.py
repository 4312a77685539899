"""Shift boundaries: when a shift began, and which shift change is due for its post.

Shift changes are times of day in the display time zone (``RESYNC_HANDOVER_TIMES``). A
handover covers the shift *handed over*: from the latest change at least `MIN_SHIFT`
before now, to now. Asked at 06:05 with changes at 06:00/14:00/22:00 it covers 22:00–06:05
(the night just ended); asked at 10:00 it covers 06:00–10:00; the post at 14:00 covers
06:00–14:00. Without shift times it covers the last `DEFAULT_SPAN`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_SPAN", "MIN_SHIFT", "due_change", "next_change", "shift_start"]

MIN_SHIFT: Final = timedelta(hours=1)
"""A handover asked within this long after a change is about the shift that just ended."""

DEFAULT_SPAN: Final = timedelta(hours=8)
"""What a handover covers when no shift times are configured."""


def _changes_before(now: datetime, times: Sequence[time], zone: ZoneInfo) -> Iterator[datetime]:
    """Shift changes at or before ``now``, latest first (for the last three days)."""
    today = now.astimezone(zone).date()
    for back in range(3):
        day = today - timedelta(days=back)
        for moment in sorted(times, reverse=True):
            change = datetime.combine(day, moment, tzinfo=zone)
            if change <= now:
                yield change


def shift_start(now: datetime, times: Sequence[time], zone: ZoneInfo) -> datetime:
    """When the shift being handed over began.

    Args:
        now: The moment of the handover (aware).
        times: Shift changes, times of day in ``zone``.
        zone: The display time zone.

    Returns:
        The latest change at least `MIN_SHIFT` before ``now`` (``now - DEFAULT_SPAN``
        without times), in ``zone``.
    """
    for change in _changes_before(now, times, zone):
        if now - change >= MIN_SHIFT:
            return change
    return (now - DEFAULT_SPAN).astimezone(zone)


def due_change(
    now: datetime, times: Sequence[time], zone: ZoneInfo, *, grace: timedelta
) -> datetime | None:
    """The shift change whose handover should be posted now, if any.

    Args:
        now: The current time (aware).
        times: Shift changes, times of day in ``zone``.
        zone: The display time zone.
        grace: How late a post may still go out (a replica that was down at the change).

    Returns:
        The latest change at or before ``now`` when it is at most ``grace`` ago, else None.
    """
    latest = next(_changes_before(now, times, zone), None)
    if latest is None or now - latest > grace:
        return None
    return latest


def next_change(now: datetime, times: Sequence[time], zone: ZoneInfo) -> datetime | None:
    """The first shift change after ``now`` (None without times)."""
    today = now.astimezone(zone).date()
    for ahead in range(3):
        day = today + timedelta(days=ahead)
        for moment in sorted(times):
            change = datetime.combine(day, moment, tzinfo=zone)
            if change > now:
                return change
    return None
