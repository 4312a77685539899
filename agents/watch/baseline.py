"""Duration baselines: robust statistics of log-duration per calendar bucket.

A job's usual duration depends on the day: month-end closes run longer, Mondays carry the
weekend. A baseline is the median and the MAD (median absolute deviation) of the
log-durations of the job's successful past runs in the most specific calendar bucket that
has enough runs; a bucket with too few runs falls back to a coarser one:

    month-end  →  business day of the month  →  weekday  →  all nights

Median and MAD ignore the odd outlier (a rerun after a restore, a night the database was
down) where a mean and a standard deviation would be dragged by it. The dispersion of a
bucket is never taken narrower than the job's dispersion over all nights (a dozen runs
can agree by chance), which keeps false alerts rare on normal nights.

`build_baselines` computes every job's baseline for one night at once, vectorised over all
runs (a million runs in well under a second); `baseline_for` is the one-job form.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

# numpy is imported by the functions that compute (about 50 ms): a process that never
# builds a baseline (`resync ask` about a job's status) does not pay for it.
if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]
    Stats = tuple[IntArray, FloatArray, FloatArray, FloatArray]

__all__ = [
    "ALERT_SIGMAS",
    "MIN_OVERRUN_SECONDS",
    "SHORT_SIGMAS",
    "Baseline",
    "baseline_for",
    "bucket_chain",
    "build_baselines",
    "business_day_of_month",
    "is_month_end",
]

# Robust sigmas beyond the median (log scale) before a duration is an anomaly. Chosen on
# the evaluation (docs/watch.md): below 3.5 normal nights raise false "running long"
# alerts on jobs with wide spreads; a short run must be even further out, because a
# normal night's durations have a heavier short tail than a log-normal.
ALERT_SIGMAS: Final = 3.0
SHORT_SIGMAS: Final = 4.5
# A run is "long" only when it is also long in minutes: at least this many seconds past its
# median. Per job the 3-sigma bound is rare, but a plan has hundreds of jobs, so a few
# short jobs land past it every week by chance (a 3.5-minute job taking 5.5 minutes): odd,
# yet nothing anyone acts on, and when it does hold up a deadline, deadline risk says so.
MIN_OVERRUN_SECONDS: Final = 300.0
_SHORTEST_SHARE: Final = 0.6
# The "usual" range shown to people: the 10th to 90th percentile.
_USUAL_Z: Final = 1.2816
_MAD_TO_SIGMA: Final = 1.4826
# Never trust a spread narrower than this (5 %), nor a bucket's spread below this share of
# the job's spread over all nights: a bucket's dozen runs can agree by chance, the
# all-nights spread is measured on many (the evaluation's false "ran long/short" alerts
# came from such narrow buckets; flooring at the month-end bucket's own spread was worse).
_SIGMA_FLOOR: Final = 0.05
_BUCKET_SHARE: Final = 1.0
# A spread measured on fewer runs than this is at least this wide.
_FEW_RUNS: Final = 6
_FEW_RUNS_FLOOR: Final = 0.15
# Runs a bucket needs before it is used.
MIN_RUNS: Final = {"month-end": 3, "business-day": 4, "weekday": 6, "all": 2}
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LEVELS: Final = ("month-end", "business-day", "weekday", "all")


def is_month_end(day: date) -> bool:
    """True on a month-end day: the month's first business day or its last two.

    Month-end close work (accruals, revaluation, regulatory reports) spans the last two
    business days and spills into the first one of the next month; Monday to Friday are
    business days (no holiday calendar).

    Args:
        day: A production day (the date its plan started).

    Returns:
        Whether it is a month-end day.
    """
    if day.weekday() >= 5:
        return False
    last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    business = [last - timedelta(days=i) for i in range(7)]
    closing = [d for d in business if d.weekday() < 5][:2]
    return day in closing or business_day_of_month(day) == 1


def business_day_of_month(day: date) -> int:
    """The business day's number in its month (1 for the first Monday-to-Friday), 0 on weekends.

    Args:
        day: A production day.

    Returns:
        Its business-day number, or 0.
    """
    if day.weekday() >= 5:
        return 0
    full_weeks, rest = divmod(day.day - 1, 7)
    first = date(day.year, day.month, 1).weekday()
    extra = sum(1 for i in range(rest) if (first + i) % 7 < 5)
    return full_weeks * 5 + extra + 1


def bucket_chain(day: date) -> list[tuple[str, str]]:
    """The buckets tried for a night, most specific first: (level, human label).

    Args:
        day: The production day the baseline is for.

    Returns:
        For example ``[("month-end", "month-end days"), ("weekday", "Mondays"), ...]``.
    """
    chain: list[tuple[str, str]] = []
    if is_month_end(day):
        chain.append(("month-end", "month-end days"))
    bd = business_day_of_month(day)
    if bd:
        chain.append(("business-day", f"business day {bd} of the month"))
    chain.append(("weekday", f"{_WEEKDAYS[day.weekday()]}s"))
    chain.append(("all", "all nights"))
    return chain


@dataclass(frozen=True, slots=True)
class Baseline:
    """One job's usual duration for one night, and how it was built.

    Attributes:
        level: The bucket used: ``month-end``, ``business-day``, ``weekday`` or ``all``.
        label: The bucket in words, e.g. "month-end days".
        runs: Successful runs in that bucket.
        median: Median duration, seconds.
        sigma: Robust spread of log-duration (1.4826 × MAD, floored).
        fallback: The buckets tried and skipped, e.g. ("month-end days: 2 runs",).
        shortest: The shortest successful run over all nights, seconds.
    """

    level: str
    label: str
    runs: int
    median: float
    sigma: float
    fallback: tuple[str, ...] = ()
    shortest: float = 0.0

    def quantile(self, z: float) -> float:
        """Duration (seconds) ``z`` robust sigmas from the median on the log scale."""
        return self.median * math.exp(z * self.sigma)

    @property
    def usual(self) -> tuple[float, float]:
        """The usual range (10th to 90th percentile), seconds."""
        return self.quantile(-_USUAL_Z), self.quantile(_USUAL_Z)

    @property
    def upper(self) -> float:
        """Above this a duration is "running long" (seconds).

        ``ALERT_SIGMAS`` robust sigmas above the median, and at least
        ``MIN_OVERRUN_SECONDS`` above it (a material overrun, not only a rare one).
        """
        return max(self.quantile(ALERT_SIGMAS), self.median + MIN_OVERRUN_SECONDS)

    @property
    def lower(self) -> float:
        """Below this a successful run is "suspiciously short" (seconds).

        Far below the median on the log scale *and* well under the shortest run ever seen:
        durations have a heavier short tail than a log-normal (a quick night with little
        data), so the log scale alone would cry wolf.
        """
        return min(self.quantile(-SHORT_SIGMAS), _SHORTEST_SHARE * self.shortest)

    def describe(self) -> str:
        """E.g. "usually 18–24 min on month-end days (11 runs)"."""
        low, high = self.usual
        return f"usually {minutes(low)}–{minutes(high)} min on {self.label} ({self.runs} runs)"


def minutes(seconds: float) -> str:
    """Seconds as whole minutes (one decimal below ten minutes)."""
    value = seconds / 60
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _group_medians(keys: IntArray, values: FloatArray, groups: int) -> tuple[IntArray, FloatArray]:
    """Count and median of ``values`` per key (keys sorted, values sorted within a key)."""
    import numpy as np

    counts = np.bincount(keys, minlength=groups).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    medians = np.full(groups, np.nan)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    medians[has] = (values[lo] + values[hi]) / 2
    return counts, medians


def _stats(job: IntArray, logd: FloatArray, groups: int) -> Stats:
    """Per job: runs, median log-duration, robust sigma and shortest log-duration."""
    import numpy as np

    order = np.lexsort((logd, job))
    job_s, logd_s = job[order], logd[order]
    counts, medians = _group_medians(job_s, logd_s, groups)
    shortest = np.full(groups, np.nan)
    has = counts > 0
    shortest[has] = logd_s[(np.cumsum(counts) - counts)[has]]
    dev = np.abs(logd_s - medians[job_s])
    order2 = np.lexsort((dev, job_s))
    _, mads = _group_medians(job_s[order2], dev[order2], groups)
    return counts, medians, mads * _MAD_TO_SIGMA, shortest


def build_baselines(
    job: IntArray,
    nights: npt.NDArray[np.datetime64],
    seconds: FloatArray,
    *,
    day: date,
    jobs: int | None = None,
) -> list[Baseline | None]:
    """Every job's baseline for one night, from all their successful past runs at once.

    Args:
        job: Job index (0..jobs-1) of each run.
        nights: Production day of each run (``datetime64[D]``).
        seconds: Duration of each run, seconds (successful runs only).
        day: The night the baselines are for (decides the buckets).
        jobs: How many jobs (default: the largest index + 1).

    Returns:
        One baseline per job index, None for a job without enough runs.
    """
    import numpy as np

    groups = int(jobs if jobs is not None else (int(job.max()) + 1 if job.size else 0))
    logd = np.log(np.maximum(seconds, 1.0))
    days = nights.astype("datetime64[D]")
    masks = _level_masks(days, day)
    everything = _stats(job, logd, groups)
    all_sigma, shortest = everything[2], np.exp(everything[3])
    chain = bucket_chain(day)
    computed: dict[str, Stats] = {"all": everything}
    for level, _ in chain:
        if level not in computed:
            mask = masks[level]
            computed[level] = _stats(job[mask], logd[mask], groups)
    return [
        _choose(index, chain, computed, float(all_sigma[index]), float(shortest[index]))
        for index in range(groups)
    ]


def _level_masks(days: npt.NDArray[np.datetime64], day: date) -> dict[str, npt.NDArray[np.bool_]]:
    import numpy as np

    # 1970-01-01 was a Thursday: shift so that Monday is 0.
    as_int = days.astype(np.int64)
    weekday = (as_int + 3) % 7
    masks: dict[str, npt.NDArray[np.bool_]] = {"weekday": weekday == day.weekday()}
    unique, inverse = np.unique(as_int, return_inverse=True)
    per_day = [date(1970, 1, 1) + timedelta(days=int(d)) for d in unique]
    month_end = np.array([is_month_end(d) for d in per_day], dtype=bool)
    bd = np.array([business_day_of_month(d) for d in per_day], dtype=np.int64)
    masks["month-end"] = month_end[inverse]
    masks["business-day"] = bd[inverse] == business_day_of_month(day)
    return masks


def _choose(
    index: int,
    chain: list[tuple[str, str]],
    computed: dict[str, Stats],
    all_sigma: float,
    shortest: float,
) -> Baseline | None:
    skipped: list[str] = []
    for level, label in chain:
        counts, medians, sigmas, _ = computed[level]
        runs = int(counts[index])
        if runs < MIN_RUNS[level]:
            skipped.append(f"{label}: {runs} runs")
            continue
        sigma = float(sigmas[index])
        floor = max(_SIGMA_FLOOR, _BUCKET_SHARE * all_sigma if math.isfinite(all_sigma) else 0.0)
        if runs < _FEW_RUNS:
            floor = max(floor, _FEW_RUNS_FLOOR)
        return Baseline(
            level=level,
            label=label,
            runs=runs,
            median=math.exp(float(medians[index])),
            sigma=max(sigma, floor),
            fallback=tuple(skipped),
            shortest=shortest,
        )
    return None


def baseline_for(runs: list[tuple[date, float]], day: date) -> Baseline | None:
    """One job's baseline for a night from its successful past runs.

    Args:
        runs: (production day, duration in seconds) of each successful past run.
        day: The night the baseline is for.

    Returns:
        The baseline, or None when the job has fewer runs than any bucket needs.
    """
    import numpy as np

    if not runs:
        return None
    job = np.zeros(len(runs), dtype=np.int64)
    nights = np.array([night.isoformat() for night, _ in runs], dtype="datetime64[D]")
    seconds = np.array([value for _, value in runs], dtype=np.float64)
    return build_baselines(job, nights, seconds, day=day, jobs=1)[0]
