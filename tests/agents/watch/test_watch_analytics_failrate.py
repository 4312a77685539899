"""Failure-rate change: beta-binomial tail, streaks, and a single random failure."""

from __future__ import annotations

import math
from datetime import date, timedelta

from agents.watch.failrate import assess, beta_binomial_tail

TONIGHT = date(2026, 11, 18)


def _nights(failed_on: set[int], count: int = 90) -> list[tuple[date, bool]]:
    """``count`` nights up to tonight (0 = tonight), failing on the given offsets."""
    return [(TONIGHT - timedelta(days=i), i in failed_on) for i in range(count)]


def test_beta_binomial_tail_matches_a_direct_sum() -> None:
    a, b, n = 0.5, 20.0, 7

    def pmf(k: int) -> float:
        beta = math.exp(math.lgamma(k + a) + math.lgamma(n - k + b) - math.lgamma(n + a + b))
        norm = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
        return math.comb(n, k) * beta / norm

    assert math.isclose(sum(pmf(k) for k in range(n + 1)), 1.0, rel_tol=1e-9)
    assert math.isclose(beta_binomial_tail(2, n, a, b), sum(pmf(k) for k in range(2, 8)))
    assert beta_binomial_tail(0, n, a, b) == 1.0


def test_night_after_night_is_a_change() -> None:
    rate = assess(_nights({0, 1, 2, 3}))
    assert rate.streak == 4
    assert rate.changed
    assert "4 in a row" in rate.describe()


def test_one_random_failure_of_a_reliable_job_is_not() -> None:
    rate = assess(_nights({0, 40}))
    assert rate.recent_failures == 1
    assert not rate.changed


def test_a_flaky_job_failing_as_often_as_usual_is_not() -> None:
    usual = set(range(7, 90, 6))  # one night in six, for months
    rate = assess(_nights(usual | {1, 5}))
    assert not rate.changed


def test_a_reliable_job_failing_three_times_this_week_is() -> None:
    rate = assess(_nights({0, 2, 5}))
    assert rate.streak == 1
    assert rate.p_value < 0.001
    assert rate.changed
