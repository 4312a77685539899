"""Scenarios: YAML overrides on the generated plan (failures, slowness, outages, faults)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ForcedOutcome", "OutageSpec", "Scenario", "available_scenarios", "load_scenario"]


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
            `available_scenarios`), or the path of a ``.yaml`` file with the same keys.

    Returns:
        The scenario.

    Raises:
        ValueError: No such scenario, or the file cannot be read.
    """
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        try:
            raw = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read scenario file {name}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"scenario file {name}: expected a mapping of settings")
        return _scenario(path.stem, raw)
    if name not in available_scenarios():
        raise ValueError(
            f"unknown scenario {name!r}; available: {', '.join(available_scenarios())}"
        )
    raw = yaml.safe_load(_package_dir().joinpath(f"{name}.yaml").read_text("utf-8")) or {}
    return _scenario(name, raw)


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
    )
