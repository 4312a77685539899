"""Scenarios: YAML overrides on the generated plan (failures, slowness, outages, faults)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from integrations.tws.simulator import scenario_keys as keys
from integrations.tws.simulator.month_end import is_month_end

__all__ = [
    "EVAL_PREFIX",
    "ForcedOutcome",
    "OutageSpec",
    "Scenario",
    "available_scenarios",
    "eval_scenarios",
    "load_scenario",
]

EVAL_PREFIX = "eval/"
"""Labelled evaluation nights are named ``eval/<file name>`` (``scenarios/eval/*.yaml``)."""


@dataclass(frozen=True)
class ForcedOutcome:
    """A named job whose first run in the plan ends a given way.

    Attributes:
        job: ``STREAM.JOB``; shell wildcards allowed (``GL_CLOSE.*``).
        status: ``ABEND`` or ``FAIL``.
        return_code: Exit status (ABEND only).
        error: Failure profile name from `integrations.tws.simulator.stdlist.FAILURES`.
    """

    job: str
    status: str = "ABEND"
    return_code: int | None = None
    error: str | None = None

    def matches(self, stream: str, job: str) -> bool:
        """Whether this entry names ``stream.job``."""
        return fnmatch.fnmatchcase(f"{stream}.{job}", self.job)


@dataclass(frozen=True)
class OutageSpec:
    """A workstation that goes down during the night.

    Attributes:
        workstation: Its name.
        at_minutes: Minutes after plan start when it unlinks.
        for_minutes: How long it stays down; None for the rest of the plan.
    """

    workstation: str
    at_minutes: float = 0.0
    for_minutes: float | None = None


@dataclass(frozen=True)
class Scenario:
    """What makes one night differ from another.

    Attributes:
        name: File name without ``.yaml``.
        description: One line for humans.
        streams: How many job streams to generate (None: the whole catalogue).
        failure_rate: Multiplier on each job's own failure probability.
        duration_multiplier: ``{stream pattern: factor}``; the first matching pattern wins.
        plan_offset_hours: How long before "now" the plan (the evening batch) started.
        outages: Workstations that go down.
        forced: Named jobs whose first run fails a given way.
        faults: Initial fault injection settings (see `faults.FaultSettings`).
        history_days: Days of archived runs per job.
        stable: Job stream patterns that only fail when `forced` says so (keeps a
            scenario's story predictable, e.g. the GL_CLOSE chain reaching GL_CLOSE).
        deadlines: False: no job or job stream has a deadline (nothing to watch).
        empty_streams: Job stream patterns whose jobs were all excluded from the plan.
        joblog_megabytes: ``{STREAM.JOB pattern: size}``: those jobs' logs are padded with
            ordinary application lines to about this many megabytes (a chatty job), before
            their error lines and trailer; the first matching pattern wins.
        slow_jobs: ``{STREAM.JOB pattern: factor > 1}``: tonight's first run of those jobs
            lasts ``factor`` times what it would have (past nights unaffected).
        short_jobs: ``{STREAM.JOB pattern: factor < 1}``: tonight's first run is that much
            shorter and ends SUCC.
        abend_streak: ``{STREAM.JOB pattern: nights}``: the job ABENDed on each of the last
            ``nights`` past nights (then a rerun succeeded) and its first run tonight ABENDs.
        month_end: True: tonight is a month-end night (finance streams run by
            `integrations.tws.simulator.month_end.MONTH_END_FACTORS`); None: decided by the
            plan's date; False (default): an ordinary night.
        start: The simulated clock when the simulator starts, unless the caller gives one.
        seed: The random seed, unless the caller gives one (7 when neither does).
    """

    name: str
    description: str = ""
    streams: int | None = None
    failure_rate: float = 1.0
    duration_multiplier: dict[str, float] = field(default_factory=dict)
    plan_offset_hours: float = 4.0
    outages: tuple[OutageSpec, ...] = ()
    forced: tuple[ForcedOutcome, ...] = ()
    faults: dict[str, Any] = field(default_factory=dict)
    history_days: int = 90
    stable: tuple[str, ...] = ()
    deadlines: bool = True
    empty_streams: tuple[str, ...] = ()
    joblog_megabytes: dict[str, float] = field(default_factory=dict)
    slow_jobs: dict[str, float] = field(default_factory=dict)
    short_jobs: dict[str, float] = field(default_factory=dict)
    abend_streak: dict[str, int] = field(default_factory=dict)
    month_end: bool | None = False
    start: datetime | None = None
    seed: int | None = None

    @staticmethod
    def _first(table: dict[str, Any], stream: str, job: str) -> Any:
        name = f"{stream}.{job}"
        for pattern, value in table.items():
            if fnmatch.fnmatchcase(name, pattern):
                return value
        return None

    def slow_factor(self, stream: str, job: str) -> float | None:
        """The ``slow_jobs`` factor for ``stream.job``, if the scenario names it."""
        value: float | None = self._first(self.slow_jobs, stream, job)
        return value

    def short_factor(self, stream: str, job: str) -> float | None:
        """The ``short_jobs`` factor for ``stream.job``, if the scenario names it."""
        value: float | None = self._first(self.short_jobs, stream, job)
        return value

    def streak_nights(self, stream: str, job: str) -> int:
        """Past nights in a row ``stream.job`` ABENDed (0: no ``abend_streak`` names it)."""
        value: int | None = self._first(self.abend_streak, stream, job)
        return value or 0

    def is_month_end_night(self, night: date) -> bool:
        """Whether the night that started on ``night`` runs as a month-end night."""
        return is_month_end(night) if self.month_end is None else self.month_end

    def joblog_padding(self, *, stream: str, job: str) -> int:
        """Bytes of extra application lines in the log of ``stream.job`` (0: a normal log)."""
        for pattern, megabytes in self.joblog_megabytes.items():
            if fnmatch.fnmatchcase(f"{stream}.{job}", pattern):
                return int(float(megabytes) * 1024 * 1024)
        return 0

    def is_empty(self, stream: str) -> bool:
        """Whether this job stream is in the plan without any job."""
        return any(fnmatch.fnmatchcase(stream, p) for p in self.empty_streams)

    def is_stable(self, stream: str) -> bool:
        """Whether random failures are off for this job stream."""
        return any(fnmatch.fnmatchcase(stream, p) for p in self.stable)

    def duration_factor(self, stream: str) -> float:
        """The duration multiplier for a job stream (1.0 when no pattern matches)."""
        for pattern, factor in self.duration_multiplier.items():
            if fnmatch.fnmatchcase(stream, pattern):
                return float(factor)
        return 1.0

    def forced_for(self, stream: str, job: str) -> ForcedOutcome | None:
        """The forced outcome for ``stream.job``, if the scenario names it."""
        for forced in self.forced:
            if forced.matches(stream, job):
                return forced
        return None


def _package_dir() -> Any:
    return resources.files("integrations.tws.simulator").joinpath("scenarios")


def available_scenarios() -> list[str]:
    """Names of the bundled scenarios, sorted."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _package_dir().iterdir()
        if entry.name.endswith(".yaml")
    )


def eval_scenarios() -> list[str]:
    """Names of the labelled evaluation nights (``eval/<name>``), sorted."""
    folder = _package_dir().joinpath("eval")
    if not folder.is_dir():
        return []
    return sorted(
        EVAL_PREFIX + entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def _forced(items: Any, status: str) -> list[ForcedOutcome]:
    out: list[ForcedOutcome] = []
    for item in items or []:
        if isinstance(item, str):
            out.append(ForcedOutcome(job=item, status=status))
        else:
            out.append(
                ForcedOutcome(
                    job=str(item["job"]),
                    status=status,
                    return_code=item.get("rc"),
                    error=item.get("error"),
                )
            )
    return out


def load_scenario(name: str) -> Scenario:
    """Load a bundled scenario by name, or your own from a YAML file.

    Args:
        name: ``normal``, ``month-end``, ``agent-down``, ``flaky``, ``quiet`` (see
            `available_scenarios`), an evaluation night ``eval/<name>`` (see
            `eval_scenarios`), or the path of a ``.yaml`` file with the same keys.

    Returns:
        The scenario.

    Raises:
        ValueError: No such scenario, the file cannot be read, or a key is not valid
            (the message names the scenario, the key and what it expects).
    """
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        try:
            raw = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read scenario file {name}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"scenario file {name}: expected a mapping of settings")
        return _checked(path.stem, raw)
    known = available_scenarios() + eval_scenarios()
    if name not in known:
        raise ValueError(f"unknown scenario {name!r}; available: {', '.join(known)}")
    raw = yaml.safe_load(_package_dir().joinpath(f"{name}.yaml").read_text("utf-8")) or {}
    return _checked(name, raw)


def _checked(name: str, raw: dict[str, Any]) -> Scenario:
    try:
        keys.check_keys(raw)
        return _scenario(name, raw)
    except ValueError as exc:
        raise ValueError(f"scenario {name}: {exc}") from None


def _scenario(name: str, raw: dict[str, Any]) -> Scenario:
    outages = tuple(
        OutageSpec(
            workstation=str(o["workstation"]),
            at_minutes=float(o.get("at_minutes", 0)),
            for_minutes=None if o.get("for_minutes") is None else float(o["for_minutes"]),
        )
        for o in raw.get("workstations_down") or []
    )
    forced = tuple(
        _forced(raw.get("force_abend"), "ABEND") + _forced(raw.get("force_fail"), "FAIL")
    )
    return Scenario(
        name=name,
        description=str(raw.get("description", "")),
        streams=raw.get("streams"),
        failure_rate=float(raw.get("failure_rate", 1.0)),
        duration_multiplier={
            str(k): float(v) for k, v in (raw.get("duration_multiplier") or {}).items()
        },
        plan_offset_hours=float(raw.get("plan_offset_hours", 4.0)),
        outages=outages,
        forced=forced,
        faults=dict(raw.get("faults") or {}),
        history_days=int(raw.get("history_days", 90)),
        stable=tuple(str(p) for p in raw.get("stable") or ()),
        deadlines=bool(raw.get("deadlines", True)),
        empty_streams=tuple(str(p) for p in raw.get("empty_streams") or ()),
        joblog_megabytes={str(k): float(v) for k, v in (raw.get("joblog_megabytes") or {}).items()},
        slow_jobs=keys.factor_map(raw.get("slow_jobs"), "slow_jobs", low=1.0, high=100.0),
        short_jobs=keys.factor_map(raw.get("short_jobs"), "short_jobs", low=0.0, high=1.0),
        abend_streak=keys.nights_map(
            raw.get("abend_streak"), "abend_streak", most=int(raw.get("history_days", 90))
        ),
        month_end=keys.month_end_mode(raw.get("month_end")),
        start=keys.start_time(raw),
        seed=keys.seed(raw.get("seed")),
    )
