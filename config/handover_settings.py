"""Shift handover settings (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields.
"""

from __future__ import annotations

import re
from datetime import time

from pydantic import BaseModel, Field, field_validator

__all__ = ["HandoverSettings", "parse_shift_times"]

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_shift_times(text: str | None) -> tuple[time, ...]:
    """Read ``"06:00,14:00,22:00"`` into sorted, distinct times of day.

    Args:
        text: Comma-separated ``HH:MM`` times (24-hour clock); None or blank: none.

    Returns:
        The times, earliest first.

    Raises:
        ValueError: A part is not ``HH:MM``.
    """
    found: set[time] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = _CLOCK.match(part)
        if match is None:
            raise ValueError(f"shift times are HH:MM on a 24-hour clock, not {part!r}")
        found.add(time(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


class HandoverSettings(BaseModel):
    """The ``RESYNC_HANDOVER_*`` settings."""

    handover_times: str | None = Field(
        default=None,
        description="Shift changes (HH:MM in RESYNC_TIMEZONE, comma-separated, e.g. "
        '06:00,14:00,22:00): a handover is posted at each, and "give me a handover" covers '
        "the shift since the last one; unset: no scheduled post, chat covers the last 8 hours.",
    )
    handover_slack_channel: str | None = Field(
        default=None,
        description="Slack channel id (C…) for the scheduled handover (the bot must be a "
        "member); unset: no scheduled handover in Slack.",
    )
    handover_teams_channel: str | None = Field(
        default=None,
        description="Teams channel conversation id (19:…@thread.tacv2) for the scheduled "
        "handover; unset: no scheduled handover in Teams.",
    )

    @field_validator("handover_times")
    @classmethod
    def _valid_times(cls, value: str | None) -> str | None:
        parse_shift_times(value)  # raises ValueError: reported with the other problems
        return value

    @property
    def shift_times(self) -> tuple[time, ...]:
        """The configured shift changes, earliest first (none when unset)."""
        return parse_shift_times(self.handover_times)

    @property
    def handover_posting(self) -> bool:
        """Whether `resync serve` posts handovers: shift times and a channel to post to."""
        return bool(self.shift_times) and bool(
            self.handover_slack_channel or self.handover_teams_channel
        )
