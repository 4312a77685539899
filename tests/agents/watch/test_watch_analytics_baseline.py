"""Duration baselines: calendar buckets, fallback, robustness, the vectorised builder."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import numpy as np

from agents.watch.baseline import (
    MIN_OVERRUN_SECONDS,
    baseline_for,
    bucket_chain,
    build_baselines,
    business_day_of_month,
    is_month_end,
)

TONIGHT = date(2026, 11, 30)  # Monday, the last business day of November


def _nights(end: date, count: int) -> list[date]:
    return [end - timedelta(days=i) for i in range(1, count + 1)]


def test_month_end_days_are_the_first_and_last_two_business_days() -> None:
    november = [d for d in range(1, 31) if is_month_end(date(2026, 11, d))]
    assert november == [2, 27, 30]
    assert business_day_of_month(date(2026, 11, 2)) == 1
    assert business_day_of_month(date(2026, 11, 28)) == 0  # Saturday
    assert [level for level, _ in bucket_chain(TONIGHT)] == [
        "month-end",
        "business-day",
        "weekday",
        "all",
    ]


def test_month_end_nights_get_their_own_baseline() -> None:
    rng = random.Random(1)
    runs = [
        (night, (1800.0 if is_month_end(night) else 600.0) * math.exp(rng.gauss(0, 0.05)))
        for night in _nights(TONIGHT, 120)
    ]
    month_end = baseline_for(runs, TONIGHT)
    assert month_end is not None
    assert month_end.level == "month-end"
    assert 1650 < month_end.median < 1950
    assert "month-end days" in month_end.describe()
    ordinary = baseline_for(runs, date(2026, 11, 18))
    assert ordinary is not None
    assert ordinary.level != "month-end"
    assert 550 < ordinary.median < 650


def test_a_bucket_with_few_runs_falls_back_to_a_coarser_one() -> None:
    runs = [(night, 600.0 + i) for i, night in enumerate(_nights(TONIGHT, 20))]
    base = baseline_for(runs, TONIGHT)
    assert base is not None
    # 20 nights hold one month-end day and three Mondays: both too few.
    assert base.level == "all"
    assert base.runs == 20
    assert any(text.startswith("month-end days") for text in base.fallback)
    assert any(text.startswith("Mondays") for text in base.fallback)


def test_median_and_mad_ignore_outliers() -> None:
    rng = random.Random(2)
    runs = [(night, 600.0 * math.exp(rng.gauss(0, 0.1))) for night in _nights(TONIGHT, 60)]
    clean = baseline_for(runs, date(2026, 11, 18))
    dirty = baseline_for(
        runs + [(TONIGHT - timedelta(days=70 + i), 30_000.0) for i in range(5)],
        date(2026, 11, 18),
    )
    assert clean is not None
    assert dirty is not None
    assert abs(dirty.median - clean.median) / clean.median < 0.05
    assert dirty.sigma < 0.2  # a mean/stddev would be blown up by the 8-hour runs
    assert dirty.upper < 1500


def test_no_baseline_without_runs() -> None:
    assert baseline_for([], TONIGHT) is None


def test_vectorised_build_matches_one_job_at_a_time() -> None:
    rng = np.random.default_rng(4)
    jobs, per_job = 30, 80
    job = np.repeat(np.arange(jobs), per_job).astype(np.int64)
    nights = np.tile(
        np.array([n.isoformat() for n in _nights(TONIGHT, per_job)], dtype="datetime64[D]"), jobs
    )
    seconds = np.exp(rng.normal(6, 0.3, jobs * per_job))
    built = build_baselines(job, nights, seconds, day=TONIGHT, jobs=jobs)
    for index in (0, 7, 29):
        rows = job == index
        alone = baseline_for(
            [
                (date.fromisoformat(str(n)), float(s))
                for n, s in zip(nights[rows], seconds[rows], strict=True)
            ],
            TONIGHT,
        )
        assert built[index] == alone


def test_a_long_run_must_also_be_long_in_minutes() -> None:
    # A 3.5-minute job with a tight spread: 3 sigmas is barely 5 minutes, and a plan of
    # hundreds of jobs has one such by chance every few nights. "Long" needs 5 minutes more.
    quick = baseline_for(
        [(n, 210.0 * (1 + 0.1 * math.sin(i))) for i, n in enumerate(_nights(TONIGHT, 40))], TONIGHT
    )
    assert quick is not None
    assert quick.quantile(3.0) < quick.median + MIN_OVERRUN_SECONDS
    assert quick.upper == quick.median + MIN_OVERRUN_SECONDS
    # A 30-minute job: 3 sigmas is well past 5 minutes, the statistical bound decides.
    slow = baseline_for(
        [(n, 1800.0 * (1 + 0.2 * math.sin(i))) for i, n in enumerate(_nights(TONIGHT, 40))], TONIGHT
    )
    assert slow is not None
    assert slow.upper == slow.quantile(3.0) > slow.median + MIN_OVERRUN_SECONDS


def test_weekday_buckets_are_named_in_full() -> None:
    assert ("weekday", "Thursdays") in bucket_chain(date(2026, 11, 19))
    assert ("weekday", "Tuesdays") in bucket_chain(date(2026, 11, 17))
