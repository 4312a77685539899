"""The generated plan: workstations, job streams, jobs and their mutable run state.

Generation is deterministic from the seed, the scenario and the plan start.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from integrations.tws.simulator.catalogue import (
    CATALOGUE,
    GENERIC_STEPS,
    REGIONS,
    WORKSTATIONS,
    StreamSpec,
)
from integrations.tws.simulator.month_end import month_end_factor
from integrations.tws.simulator.scenario import Scenario
from integrations.tws.simulator.stdlist import profiles_for

__all__ = ["Plan", "SimJob", "SimRun", "SimStream", "SimWorkstation", "build_plan", "new_uuid"]


def new_uuid(rng: random.Random) -> str:
    """A UUID4 drawn from ``rng`` (deterministic)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(eq=False)
class SimWorkstation:
    """A workstation and whether jobs can run there."""

    id: str
    name: str
    type: str
    os: str
    limit: int
    linked: bool = True
    running: bool = True
    down_since: datetime | None = None

    @property
    def available(self) -> bool:
        """Jobs can start here."""
        return self.linked and self.running and self.limit > 0


@dataclass(eq=False)
class SimRun:
    """One run of a job (current plan or archived).

    Attributes:
        run_id: Key of the job log.
        start: Actual start.
        end: Actual end (planned end while the run is in progress).
        status: Final status (``SUCC``, ``ABEND``, ``FAIL``); ``EXEC`` while in progress.
        outcome: The status the run will end with.
        return_code: Exit status once ended (None for FAIL).
        error: Failure profile name, when it failed.
        job_number: Operating-system job number.
        cpu_ms: CPU used.
        mem_kb: Peak memory.
    """

    run_id: str
    start: datetime
    end: datetime
    status: str
    outcome: str
    return_code: int | None
    error: str | None
    job_number: int
    cpu_ms: int
    mem_kb: int


@dataclass(eq=False)
class SimStream:
    """A job stream instance in the plan."""

    id: str
    name: str
    workstation: str
    sched_time: datetime
    deadline: datetime | None
    until_time: datetime | None
    priority: int
    domain: str
    jobs: list[SimJob] = field(default_factory=list, repr=False)
    held: bool = False
    cancelled: bool = False


@dataclass(eq=False)
class SimJob:
    """A job instance in the plan with its run state.

    ``mean``/``stddev`` describe a usual night (seconds); ``slowdown`` is tonight's
    scenario multiplier. ``phase`` is ``waiting``, ``running`` or ``done``; the displayed status is derived
    from it (see `integrations.tws.simulator.engine.SimState.job_status`).
    """

    id: str
    index: int
    name: str
    stream: SimStream = field(repr=False)
    workstation: str
    priority: int
    at_time: datetime | None
    until_time: datetime | None
    deadline: datetime | None
    mean: float
    stddev: float
    slowdown: float
    fail_prob: float
    profiles: tuple[str, ...]
    script: str
    user: str
    # not in repr: a job's repr would print the whole plan through its neighbours
    preds: list[SimJob] = field(default_factory=list, repr=False)
    succs: list[SimJob] = field(default_factory=list, repr=False)
    expected_start: datetime | None = None
    phase: str = "waiting"
    final_status: str | None = None
    held: bool = False
    deps_released: bool = False
    rerun_pending: bool = False
    runs: list[SimRun] = field(default_factory=list)
    rerun_count: int = 0
    wire_times: tuple[str | None, ...] | None = field(default=None, repr=False)
    """Its fixed times as the engine formats them, once (see `views.job_json`)."""

    @property
    def key(self) -> str:
        """``STREAM.JOB``."""
        return f"{self.stream.name}.{self.name}"

    @property
    def qualified_name(self) -> str:
        """``WS#STREAM.JOB`` as conman prints it."""
        return f"{self.stream.workstation}#{self.stream.name}.{self.name}"

    @property
    def current_run(self) -> SimRun | None:
        """The latest run, if the job ever started."""
        return self.runs[-1] if self.runs else None


@dataclass(eq=False)
class Plan:
    """The whole plan."""

    start: datetime
    end: datetime
    workstations: dict[str, SimWorkstation]
    streams: list[SimStream]
    jobs: list[SimJob]

    def __post_init__(self) -> None:
        """Index objects by id, and jobs by name and by job stream name (plan order)."""
        self.jobs_by_id = {j.id: j for j in self.jobs}
        self.streams_by_id = {s.id: s for s in self.streams}
        self.jobs_by_name: dict[str, list[SimJob]] = {}
        self.jobs_by_stream_name: dict[str, list[SimJob]] = {}
        for job in self.jobs:
            self.jobs_by_name.setdefault(job.name, []).append(job)
            self.jobs_by_stream_name.setdefault(job.stream.name, []).append(job)


def _stream_specs(scenario: Scenario) -> list[StreamSpec]:
    count = len(CATALOGUE) if scenario.streams is None else scenario.streams
    specs = list(CATALOGUE[: min(count, len(CATALOGUE))])
    extra = count - len(specs)
    i = 0
    while extra > 0:
        base = CATALOGUE[i % len(CATALOGUE)]
        cycle = i // len(CATALOGUE)
        region = REGIONS[cycle % len(REGIONS)]
        if cycle >= len(REGIONS):
            # past one copy per region (large plans), number them: names stay unique
            region += str(cycle // len(REGIONS) + 1)
        jobs = tuple(f"{j}_{region}" for j in base.jobs)
        specs.append(
            StreamSpec(
                name=f"{base.name}_{region}",
                agent=base.agent,
                at=base.at + 20,
                jobs=jobs,
                follows=(),
                sla=base.sla,
                priority=base.priority,
                domain=base.domain,
            )
        )
        i += 1
        extra -= 1
    return specs


def _job_names(spec: StreamSpec, rng: random.Random) -> list[str]:
    if spec.jobs:
        return list(spec.jobs)
    count = rng.randint(6, 11)
    steps = ["INIT", *sorted(rng.sample(GENERIC_STEPS[1:-2], count - 3), key=GENERIC_STEPS.index)]
    steps += ["NOTIFY", "CLEANUP"]
    return [f"{spec.name}_{step}" for step in steps]


def _script(spec: StreamSpec, job: str, os_name: str) -> tuple[str, str]:
    area = spec.name.split("_")[0].lower()
    if os_name == "WNT":
        return f"D:\\apps\\{area}\\bin\\{job.lower()}.cmd", "svc_tws"
    return f"/opt/apps/{area}/bin/{job.lower()}.sh", "tws"


def build_plan(scenario: Scenario, start: datetime, seed: int) -> Plan:
    """Generate the plan for a scenario.

    Args:
        scenario: The scenario (stream count, multipliers).
        start: Plan start (aware UTC).
        seed: Random seed; the same seed gives the same plan.

    Returns:
        The plan, every job waiting.
    """
    rng = random.Random(seed)
    workstations = {
        w.name: SimWorkstation(id=new_uuid(rng), name=w.name, type=w.type, os=w.os, limit=w.limit)
        for w in WORKSTATIONS
    }
    streams: list[SimStream] = []
    jobs: list[SimJob] = []
    by_name: dict[str, SimStream] = {}
    specs = _stream_specs(scenario)
    month_end = scenario.is_month_end_night(start.date())
    for spec in specs:
        at = start + timedelta(minutes=spec.at)
        stream = SimStream(
            id=new_uuid(rng),
            name=spec.name,
            workstation="MASTER",
            sched_time=at,
            deadline=at + timedelta(minutes=spec.sla) if spec.sla else None,
            until_time=at + timedelta(hours=6) if rng.random() < 0.3 else None,
            priority=spec.priority,
            domain=spec.domain,
        )
        streams.append(stream)
        by_name[spec.name] = stream
        os_name = workstations[spec.agent].os
        factor = scenario.duration_factor(spec.name)
        if month_end:
            # as slow as the archive's month-end nights: not an anomaly, the calendar
            factor *= month_end_factor(spec.name)
        previous: list[SimJob] = []
        for position, name in enumerate(_job_names(spec, rng)):
            mean = math.exp(rng.uniform(math.log(60), math.log(1800)))
            flaky = rng.random() < 0.08
            script, user = _script(spec, name, os_name)
            job = SimJob(
                id=new_uuid(rng),
                index=len(jobs),
                name=name,
                stream=stream,
                workstation=spec.agent,
                priority=spec.priority,
                at_time=at if position == 0 else None,
                until_time=stream.until_time if position == 0 else None,
                deadline=None,
                mean=round(mean, 1),
                stddev=round(mean * rng.uniform(0.05, 0.3), 1),
                slowdown=factor,
                fail_prob=(0.03 if flaky else 0.004) * scenario.failure_rate,
                profiles=profiles_for(spec.domain, rng),
                script=script,
                user=user,
            )
            # mostly a chain; sometimes a parallel branch joining later
            if previous:
                if not spec.jobs and len(previous) >= 2 and rng.random() < 0.2:
                    job.preds = [previous[-2]]
                else:
                    job.preds = [previous[-1]]
            previous.append(job)
            stream.jobs.append(job)
            jobs.append(job)
        last = stream.jobs[-1]
        leaves = [j for j in stream.jobs[:-1] if not any(j in k.preds for k in stream.jobs)]
        last.preds = list(dict.fromkeys([*last.preds, *leaves]))
    for spec in specs:
        stream = by_name[spec.name]
        for other in spec.follows:
            if other in by_name:
                stream.jobs[0].preds.append(by_name[other].jobs[-1])
    for job in jobs:
        for pred in job.preds:
            pred.succs.append(job)
    _expected_schedule(jobs)
    for stream in streams:
        if not scenario.deadlines:
            stream.deadline = None
            continue
        last = stream.jobs[-1]
        if stream.deadline is not None and last.expected_start is not None:
            usual_end = last.expected_start + timedelta(seconds=last.mean)
            stream.deadline = max(stream.deadline, usual_end + timedelta(minutes=20))
            last.deadline = stream.deadline
        for job in stream.jobs[:-1]:
            if job.expected_start is not None and rng.random() < 0.12:
                slack = timedelta(minutes=rng.choice((20, 30, 45, 60)))
                job.deadline = job.expected_start + timedelta(seconds=job.mean) + slack
    excluded = {id(j) for stream in streams if scenario.is_empty(stream.name) for j in stream.jobs}
    if excluded:
        # Every job of these streams was excluded from the plan (e.g. by a run cycle); the
        # streams stay, empty, and no one waits on their jobs.
        for stream in streams:
            if scenario.is_empty(stream.name):
                stream.jobs = []
        jobs = [j for j in jobs if id(j) not in excluded]
        for job in jobs:
            job.preds = [p for p in job.preds if id(p) not in excluded]
            job.succs = [s for s in job.succs if id(s) not in excluded]
        for index, job in enumerate(jobs):
            job.index = index
    return Plan(
        start=start,
        end=start + timedelta(hours=24),
        workstations=workstations,
        streams=streams,
        jobs=jobs,
    )


def _expected_schedule(jobs: list[SimJob]) -> None:
    """Set each job's usual start from at-times and mean durations (no failures)."""
    ends: dict[str, datetime] = {}

    def end_of(job: SimJob, depth: int = 0) -> datetime:
        if job.id in ends:
            return ends[job.id]
        start = job.at_time or job.stream.sched_time
        for pred in job.preds:
            if depth < 200:
                start = max(start, end_of(pred, depth + 1))
        job.expected_start = start
        ends[job.id] = start + timedelta(seconds=job.mean)
        return ends[job.id]

    for job in jobs:
        end_of(job)
