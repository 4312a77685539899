"""Reading and checking a scenario file's keys, with errors that name the key and what it expects.

Kept apart from `integrations.tws.simulator.scenario` (the data types) so each stays small.
Every reader raises `ValueError` with ``<key>: expected ..., got ...``; the loader prefixes
the scenario's name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "KNOWN_KEYS",
    "check_keys",
    "factor_map",
    "month_end_mode",
    "nights_map",
    "seed",
    "start_time",
]

KNOWN_KEYS = frozenset(
    {
        "description",
        "streams",
        "plan_offset_hours",
        "failure_rate",
        "duration_multiplier",
        "workstations_down",
        "force_abend",
        "force_fail",
        "faults",
        "history_days",
        "stable",
        "deadlines",
        "empty_streams",
        "joblog_megabytes",
        "slow_jobs",
        "short_jobs",
        "abend_streak",
        "month_end",
        "start",
        "now",
        "seed",
    }
)


def check_keys(raw: dict[str, Any]) -> None:
    """Refuse keys the simulator does not know (a typo would silently inject nothing).

    Raises:
        ValueError: Unknown keys, named, with the known ones.
    """
    unknown = sorted(str(k) for k in raw if k not in KNOWN_KEYS)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(KNOWN_KEYS))}"
        )


def _pattern_map(raw: Any, key: str, expected: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{key}: expected a mapping {{STREAM.JOB: {expected}}}, got {raw!r}")
    out: dict[str, Any] = {}
    for pattern, value in raw.items():
        if not isinstance(pattern, str) or "." not in pattern:
            raise ValueError(f"{key}: {pattern!r} is not a STREAM.JOB name (wildcards allowed)")
        out[pattern] = value
    return out


def factor_map(raw: Any, key: str, *, low: float, high: float) -> dict[str, float]:
    """Read ``{STREAM.JOB pattern: factor}`` with each factor strictly between two bounds.

    Args:
        raw: The YAML value.
        key: The key's name (for the message).
        low: Factors must be greater than this.
        high: Factors must be smaller than this.

    Returns:
        The mapping, factors as floats, in file order (the first matching pattern wins).

    Raises:
        ValueError: Not a mapping, a name without ``STREAM.JOB``, or a factor out of range.
    """
    expected = f"a number between {low:g} and {high:g}"
    out: dict[str, float] = {}
    for pattern, value in _pattern_map(raw, key, "factor").items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key}: {pattern}: expected {expected}, got {value!r}")
        if not low < float(value) < high:
            raise ValueError(f"{key}: {pattern}: expected {expected}, got {value!r}")
        out[pattern] = float(value)
    return out


def nights_map(raw: Any, key: str, *, most: int) -> dict[str, int]:
    """Read ``{STREAM.JOB pattern: nights}`` with 1 <= nights <= ``most``.

    Raises:
        ValueError: Not a mapping, or a count that is not a whole number in range.
    """
    out: dict[str, int] = {}
    for pattern, value in _pattern_map(raw, key, "nights").items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise ValueError(
                f"{key}: {pattern}: expected a whole number of nights from 1 to {most} "
                f"(history_days), got {value!r}"
            )
        out[pattern] = value
    return out


def month_end_mode(raw: Any) -> bool | None:
    """Read ``month_end``: ``true``, ``false`` (the default) or ``auto`` (None: by the date).

    Raises:
        ValueError: Any other value.
    """
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    if raw == "auto":
        return None
    raise ValueError(f"month_end: expected true, false or auto, got {raw!r}")


def start_time(raw: dict[str, Any]) -> datetime | None:
    """Read ``start`` (or its alias ``now``): the simulated clock when the simulator starts.

    Raises:
        ValueError: Both keys, or a value that is not an ISO 8601 time.
    """
    if "start" in raw and "now" in raw:
        raise ValueError("start and now: give one of them (they are the same setting)")
    key = "start" if "start" in raw else "now"
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, 22, 0)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{key}: expected an ISO 8601 time like 2026-11-30T22:00:00Z, got {value!r}"
            ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def seed(raw: Any) -> int | None:
    """Read ``seed``: a whole number, or absent.

    Raises:
        ValueError: Anything else.
    """
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"seed: expected a whole number, got {raw!r}")
    return raw
