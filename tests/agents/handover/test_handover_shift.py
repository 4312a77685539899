"""Shift boundaries and the shift-time setting (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from agents.handover.shift import due_change, next_change, shift_start
from config.handover_settings import HandoverSettings, parse_shift_times

ROME = ZoneInfo("Europe/Rome")
TIMES = (time(6, 0), time(14, 0), time(22, 0))


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ROME)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (rome(24, 6, 5), rome(23, 22)),  # just after the change: the night just ended
        (rome(24, 6, 59), rome(23, 22)),
        (rome(24, 7, 1), rome(24, 6)),  # an hour into the shift: this shift so far
        (rome(24, 14, 0), rome(24, 6)),  # the 14:00 post covers 06:00-14:00
        (rome(24, 23, 30), rome(24, 22)),
        (rome(24, 0, 30), rome(23, 22)),  # across midnight: yesterday's 22:00
    ],
)
def test_shift_start(now: datetime, start: datetime) -> None:
    assert shift_start(now, TIMES, ROME) == start


def test_shift_start_in_the_zone_not_utc() -> None:
    now = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)  # 07:30 in Rome: the 06:00 Rome shift
    assert shift_start(now, TIMES, ROME) == rome(24, 6)


def test_without_times_the_last_eight_hours() -> None:
    now = rome(24, 10)
    assert shift_start(now, (), ROME) == now - timedelta(hours=8)


def test_due_change_within_grace_only() -> None:
    grace = timedelta(minutes=15)
    assert due_change(rome(24, 5, 59), TIMES, ROME, grace=grace) is None
    assert due_change(rome(24, 6, 0), TIMES, ROME, grace=grace) == rome(24, 6)
    assert due_change(rome(24, 6, 15), TIMES, ROME, grace=grace) == rome(24, 6)
    assert due_change(rome(24, 6, 16), TIMES, ROME, grace=grace) is None
    assert due_change(rome(24, 6, 0), (), ROME, grace=grace) is None


def test_next_change_wraps_to_tomorrow() -> None:
    assert next_change(rome(24, 22, 1), TIMES, ROME) == rome(25, 6)
    assert next_change(rome(24, 5, 59), TIMES, ROME) == rome(24, 6)
    assert next_change(rome(24, 5), (), ROME) is None


def test_parse_shift_times() -> None:
    assert parse_shift_times(" 22:00, 6:00,14:00,06:00 ") == TIMES
    assert parse_shift_times(None) == ()
    for bad in ("6", "24:00", "06:60", "six"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_shift_times(bad)


def test_settings_validate_and_say_when_posting() -> None:
    assert not HandoverSettings().handover_posting
    assert not HandoverSettings(handover_times="06:00").handover_posting  # no channel
    both = HandoverSettings(handover_times="06:00,14:00", handover_teams_channel="19:x@thread")
    assert both.handover_posting
    assert both.shift_times == (time(6, 0), time(14, 0))
    with pytest.raises(ValidationError, match="HH:MM"):
        HandoverSettings(handover_times="25:00")
