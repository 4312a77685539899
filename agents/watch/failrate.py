"""Failure-rate change: is a job failing more often than its history supports?

Each night a job either failed (its first run ended ABEND/FAIL) or did not. Its failure
probability before the recent window gets a Beta posterior (a weak prior of about one
failure in fifty nights, updated with the older nights); the number of failures in the
recent window (the last seven nights, tonight included) is then compared with the
beta-binomial predictive distribution. A tail probability below `P_THRESHOLD`, with at
least `MIN_RECENT` failures, is a change; so is a job failing `STREAK` nights in a row
whatever its history (night after night is worth a look even for a flaky job).

One random failure of a usually reliable job is *not* a rate change (it is already a
failure alert): the thresholds were set so that normal nights raise no rate alert.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

__all__ = [
    "MIN_RECENT",
    "P_THRESHOLD",
    "STREAK",
    "WINDOW",
    "FailureRate",
    "assess",
    "beta_binomial_tail",
]

WINDOW: Final = 7
MIN_RECENT: Final = 3
P_THRESHOLD: Final = 0.001
STREAK: Final = 3
# Prior: about one failure in fifty nights, worth ten nights of evidence.
_PRIOR_A: Final = 0.2
_PRIOR_B: Final = 9.8


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def beta_binomial_tail(x: int, n: int, a: float, b: float) -> float:
    """P(X ≥ x) for X ~ BetaBinomial(n, a, b).

    Args:
        x: Failures observed.
        n: Nights in the window.
        a: Posterior alpha (failures + prior).
        b: Posterior beta (successes + prior).

    Returns:
        The tail probability (1.0 when x ≤ 0).
    """
    if x <= 0:
        return 1.0
    total = 0.0
    for k in range(x, n + 1):
        log_choose = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        total += math.exp(log_choose + _log_beta(k + a, n - k + b) - _log_beta(a, b))
    return min(1.0, total)


@dataclass(frozen=True, slots=True)
class FailureRate:
    """A job's failure history against its recent nights.

    Attributes:
        nights: Nights known (window included).
        failures: Nights that failed (window included).
        recent_nights: Nights in the window.
        recent_failures: Failed nights in the window.
        streak: Failed nights in a row, up to the latest.
        expected: The rate the older history supports (posterior mean).
        p_value: Chance of this many recent failures at that rate.
    """

    nights: int
    failures: int
    recent_nights: int
    recent_failures: int
    streak: int
    expected: float
    p_value: float

    @property
    def changed(self) -> bool:
        """True when the recent failures are a change, or a streak."""
        if self.streak >= STREAK:
            return True
        return self.recent_failures >= MIN_RECENT and self.p_value < P_THRESHOLD

    def describe(self) -> str:
        """E.g. "failed 4 of the last 7 nights (3 in a row); history supports 2 %"."""
        text = f"failed {self.recent_failures} of the last {self.recent_nights} nights"
        if self.streak >= 2:
            text += f" ({self.streak} in a row)"
        older = self.nights - self.recent_nights
        return (
            f"{text}; the {older} nights before support {self.expected:.0%} "
            f"(chance of this: {self.p_value:.2%})"
        )


def assess(nights: Iterable[tuple[date, bool]]) -> FailureRate:
    """Compare the recent nights of a job with its older ones.

    Args:
        nights: (production day, failed that night), any order, one per night.

    Returns:
        The assessment.
    """
    ordered = sorted(dict(nights).items())
    failed = [flag for _, flag in ordered]
    recent = failed[-WINDOW:]
    older = failed[: max(0, len(failed) - WINDOW)]
    a = _PRIOR_A + sum(older)
    b = _PRIOR_B + len(older) - sum(older)
    streak = 0
    for flag in reversed(failed):
        if not flag:
            break
        streak += 1
    recent_failures = sum(recent)
    return FailureRate(
        nights=len(failed),
        failures=sum(failed),
        recent_nights=len(recent),
        recent_failures=recent_failures,
        streak=streak,
        expected=a / (a + b),
        p_value=beta_binomial_tail(recent_failures, len(recent), a, b),
    )
