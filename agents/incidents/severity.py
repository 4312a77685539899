"""Suggesting a severity from the deadlines at risk (pure: the lateness forecast's items in).

The rule, by the rank of the levels (0 = most severe; clamped to the policy's levels):

- rank 0 when at least ``many`` deadlines are missed or due within ``urgent``;
- rank 1 when one is, or when at least ``many`` are due within ``soon``;
- rank 2 when any deadline is at risk;
- the least severe level when none is.

"Missed or due within" counts late jobs and jobs blocked by a failure too: their deadline
is the one that matters. The suggestion comes with its reasons, for the declaration form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.forecast import JobForecast
from agents.incidents.model import DeadlineAtRisk, Impact
from agents.incidents.policy import IncidentPolicy

__all__ = ["SeveritySuggestion", "impact_from_forecast", "suggest_severity"]


@dataclass(frozen=True, slots=True)
class SeveritySuggestion:
    """A suggested severity and why.

    Attributes:
        severity: The level name.
        reasons: Sentences for people.
        at_risk: Deadlines at risk (late included).
        urgent: Of them, missed or due within the urgent window.
    """

    severity: str
    reasons: tuple[str, ...]
    at_risk: int
    urgent: int


def _label(item: JobForecast) -> str:
    return f"{item.job.job_stream_name}.{item.job.name}"


def suggest_severity(
    items: Sequence[JobForecast],
    *,
    now: datetime,
    policy: IncidentPolicy,
    urgent: timedelta = timedelta(hours=1),
    soon: timedelta = timedelta(hours=4),
    many: int = 3,
) -> SeveritySuggestion:
    """Suggest a severity from the forecast's items.

    Args:
        items: `agents.forecast.Forecast.jobs` (or any subset).
        now: Now.
        policy: The levels.
        urgent: A deadline this close (or missed) is urgent.
        soon: A deadline this close is soon.
        many: How many deadlines make it worse.

    Returns:
        The suggestion.
    """
    risky = [item for item in items if item.at_risk]
    levels = policy.severities
    if not risky:
        return SeveritySuggestion(levels[-1].name, ("no deadline is at risk",), 0, 0)

    def within(item: JobForecast, span: timedelta) -> bool:
        deadline = item.job.deadline
        return item.late or deadline is None or deadline - now <= span

    urgent_items = [item for item in risky if within(item, urgent)]
    soon_items = [item for item in risky if within(item, soon)]
    if len(urgent_items) >= many:
        rank = 0
    elif urgent_items or len(soon_items) >= many:
        rank = 1
    else:
        rank = 2
    rank = min(rank, len(levels) - 1)
    reasons = [f"{len(risky)} deadline(s) at risk"]
    late = [item for item in risky if item.late]
    if late:
        reasons.append("missed: " + ", ".join(_label(i) for i in late[:5]))
    if urgent_items:
        reasons.append(
            f"{len(urgent_items)} missed or due within {int(urgent.total_seconds() // 60)} min"
        )
    elif soon_items:
        reasons.append(f"{len(soon_items)} due within {int(soon.total_seconds() // 3600)} h")
    return SeveritySuggestion(levels[rank].name, tuple(reasons), len(risky), len(urgent_items))


def impact_from_forecast(items: Sequence[JobForecast], *, summary: str = "") -> Impact:
    """The impact of an incident from the forecast's items at risk.

    Args:
        items: Forecast items (those not at risk are left out).
        summary: A sentence to keep with them.

    Returns:
        The impact, deadlines in the forecast's order.
    """
    deadlines = tuple(
        DeadlineAtRisk(
            name=_label(item),
            deadline=item.job.deadline,
            expected_end=None if item.blocked_by_failure else item.expected_end,
            late=item.late,
            note=f"blocked by {item.failed_root or item.blocked_by}"
            if item.blocked_by_failure
            else "",
        )
        for item in items
        if item.at_risk
    )
    return Impact(summary=summary, deadlines=deadlines)
