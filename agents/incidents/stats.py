"""Incident statistics per severity: a pure function of the incidents.

Time to acknowledge (TTA) = declared -> first active; time to resolve (TTR) = declared ->
resolved. Incidents not yet acknowledged (or resolved) count in ``count`` but not in the
averages of that measure.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from agents.incidents.model import Incident
from agents.incidents.policy import IncidentPolicy

__all__ = ["IncidentStats", "SeverityStats", "compute_stats"]


@dataclass(frozen=True, slots=True)
class SeverityStats:
    """The numbers of one severity.

    Attributes:
        severity: The severity name.
        count: Incidents declared.
        open: Of them, not resolved yet.
        acknowledged: Of them, acknowledged (became active).
        resolved: Of them, resolved (or closed).
        mean_tta: Mean time to acknowledge, None without acknowledged incidents.
        median_tta: Median time to acknowledge.
        mean_ttr: Mean time to resolve, None without resolved incidents.
        median_ttr: Median time to resolve.
    """

    severity: str
    count: int
    open: int
    acknowledged: int
    resolved: int
    mean_tta: timedelta | None
    median_tta: timedelta | None
    mean_ttr: timedelta | None
    median_ttr: timedelta | None


@dataclass(frozen=True, slots=True)
class IncidentStats:
    """Statistics over a set of incidents, per severity (policy order) and in total."""

    total: int
    open: int
    by_severity: tuple[SeverityStats, ...]


def _mean(spans: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.fmean(s.total_seconds() for s in spans)) if spans else None


def _median(spans: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(s.total_seconds() for s in spans)) if spans else None


def compute_stats(incidents: Sequence[Incident], *, policy: IncidentPolicy) -> IncidentStats:
    """Count incidents and measure TTA and TTR per severity.

    Args:
        incidents: The incidents.
        policy: The severities, in the order to report them (unknown ones follow).

    Returns:
        The statistics.
    """
    names = [level.name for level in policy.severities]
    names += sorted({i.severity for i in incidents} - set(names))
    rows = []
    for name in names:
        group = [i for i in incidents if i.severity == name]
        tta = [i.acknowledged_at - i.declared_at for i in group if i.acknowledged_at]
        ttr = [i.resolved_at - i.declared_at for i in group if i.resolved_at]
        resolved = [i for i in group if not i.status.open]
        rows.append(
            SeverityStats(
                severity=name,
                count=len(group),
                open=len(group) - len(resolved),
                acknowledged=len(tta),
                resolved=len(resolved),
                mean_tta=_mean(tta),
                median_tta=_median(tta),
                mean_ttr=_mean(ttr),
                median_ttr=_median(ttr),
            )
        )
    return IncidentStats(
        total=len(incidents),
        open=sum(1 for i in incidents if i.status.open),
        by_severity=tuple(rows),
    )
