"""Month-end: which nights are month-end nights, and how much slower finance streams run then.

Real finance batches are slower every month-end (closing entries, accruals, revaluation,
regulatory reports), so the archive's past nights show it and a month-end night's plan
(scenario key ``month_end``) runs the same streams by the same factors: a detector that
knows the calendar sees nothing unusual, one that averages all nights sees a spike.

A night's date is the date (UTC) its plan started. Business days are Monday to Friday (no
holiday calendar). Month-end days: the last two business days of a month and its first
business day.
"""

from __future__ import annotations

import calendar
import fnmatch
from datetime import date
from functools import lru_cache

__all__ = ["MONTH_END_FACTORS", "is_month_end", "month_end_days", "month_end_factor"]

MONTH_END_FACTORS: tuple[tuple[str, float], ...] = (
    ("GL_*", 1.8),
    ("FIN_*", 1.7),
    ("RPT_*", 1.6),
    ("RISK_*", 1.6),
    ("AR_*", 1.5),
    ("AP_*", 1.5),
    ("TRE_*", 1.4),
)
"""``(stream pattern, factor)``: finance job streams (regional copies included) and how much
longer their jobs run on a month-end night; the first matching pattern wins."""


@lru_cache(maxsize=256)
def month_end_days(year: int, month: int) -> frozenset[date]:
    """The month-end days of one month.

    Args:
        year: The year.
        month: The month (1-12).

    Returns:
        Its first business day and its last two business days.
    """
    days = calendar.monthrange(year, month)[1]
    business = [
        date(year, month, d) for d in range(1, days + 1) if date(year, month, d).weekday() < 5
    ]
    return frozenset({business[0], business[-2], business[-1]})


def is_month_end(day: date) -> bool:
    """Whether the night that started on ``day`` is a month-end night."""
    return day in month_end_days(day.year, day.month)


def month_end_factor(stream: str) -> float:
    """How much slower a job stream's jobs run on month-end nights (1.0: not a finance stream)."""
    for pattern, factor in MONTH_END_FACTORS:
        if fnmatch.fnmatchcase(stream, pattern):
            return factor
    return 1.0
