"""What holds a job back: the walk upstream from a job that has not run to the causes.

A job that has not started waits for something: a predecessor that failed (in TWS an
ABEND predecessor does not release its successors: they wait until it is rerun and ends
SUCC, or is cancelled or confirmed), a predecessor still running, a job or job stream held
by an operator, a workstation that is down or unlinked, an at-time not reached yet, or a
predecessor that waits itself, further up, possibly in another job stream. The walk goes
upstream breadth first, so each cause is reached by its shortest chain, and names that
chain the way an operator says it: ``GL_CLOSE ← PAYROLL_DAILY ← PAYROLL_EXTRACT ABEND rc 12``
(one name per job stream crossed, then the job where the cause is).

Cost: one predecessor read per waiting job on the way, one job list per job stream met
(it gives every job's status, return code, hold and at-time at once) and one workstation
list. The walk stops after `MAX_PREDECESSOR_READS` reads and says so, so a question stays
well inside its call budget (`agents.answers.budget`) on any plan.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from agents.answers.common import AnswerContext
from agents.formatting import format_clock
from integrations.tws.models import (
    ACTIVE_STATUSES,
    CommonStatus,
    Dependency,
    JobStatus,
    PlanJob,
    Workstation,
)

__all__ = [
    "MAX_PREDECESSOR_READS",
    "RELEASING",
    "RELEASING_STREAM",
    "Blockage",
    "Cause",
    "CauseKind",
    "find_blockage",
]

MAX_PREDECESSOR_READS = 32
"""Predecessor lists one walk reads at most (the WHY budget is 50 calls in all)."""

_READ_CONCURRENCY = 8
_MAX_STREAMS = 10
"""Job stream lists one walk reads at most (a job met in another one is then left out)."""
_BUDGET_RESERVE = 2
"""Calls kept back past the job stream lists the walk may still read (a spare or two)."""

RELEASING = frozenset({"SUCC", "SUCCP", "CANCL", "SUPPR"})
"""Predecessor statuses that release a successor (TWS: a cancelled one releases it too)."""

RELEASING_STREAM = frozenset({"SUCC", "CANCEL"})
"""Job stream states that release what waits for the job stream."""


class CauseKind(IntEnum):
    """What holds a job back, in the order answers list them (most actionable first)."""

    FAILED = 1
    WORKSTATION = 2
    HELD = 3
    AT_TIME = 4
    FENCE = 5
    RUNNING = 6
    UNEXPLAINED = 7


@dataclass(frozen=True, slots=True)
class Cause:
    """One reason a job has not run, where it is, and how it is reached.

    Attributes:
        kind: What it is.
        job: The job where the cause is (the end of the chain).
        path: The jobs from the first predecessor to ``job`` (empty: the cause is on the
            job asked about itself).
        text: The cause in words, starting with the job's name
            (``PAYROLL_EXTRACT ABEND rc 12``).
    """

    kind: CauseKind
    job: PlanJob
    path: tuple[PlanJob, ...]
    text: str


@dataclass(slots=True)
class Blockage:
    """What the walk found.

    Attributes:
        causes: The causes, most actionable first.
        reads: Predecessor lists read.
        cut: True when the walk stopped at `MAX_PREDECESSOR_READS` before the end.
        unexplored: Waiting jobs the walk did not read any further (when cut).
        missing: Predecessors in job streams the walk did not read (when cut).
        stations_down: Unavailable workstations of the waiting jobs met (a job waiting for
            predecessors there would not start even once they are done).
        as_of: The engine time of the last read.
    """

    causes: list[Cause] = field(default_factory=list)
    reads: int = 0
    cut: bool = False
    unexplored: list[PlanJob] = field(default_factory=list)
    stations_down: dict[str, Workstation] = field(default_factory=dict)
    missing: list[Dependency] = field(default_factory=list)
    as_of: datetime | None = None


class _Walk:
    """One walk upstream; holds what it read so nothing is read twice."""

    def __init__(self, ctx: AnswerContext, now: datetime) -> None:
        self.ctx = ctx
        self.now = now
        self.jobs: dict[str, PlanJob] = {}
        self.loaded_streams: dict[str, asyncio.Task[None]] = {}
        self.stations: dict[str, Workstation] | None = None
        self.found = Blockage()
        self.seen_causes: set[tuple[CauseKind, str]] = set()

    async def load_stream(self, name: str) -> None:
        """Every job of a job stream, once per walk (statuses, return codes, holds)."""
        if name not in self.loaded_streams:
            self.loaded_streams[name] = asyncio.ensure_future(self._read_stream(name))
        await self.loaded_streams[name]

    async def _read_stream(self, name: str) -> None:
        snapshot = await self.ctx.scheduler.query_jobs(job_stream=name)
        self.found.as_of = snapshot.as_of
        for job in snapshot.value:
            self.jobs[job.id] = job

    async def job_of(self, dep: Dependency) -> PlanJob | None:
        """The full job behind a dependency (its job stream's list); None past the limits."""
        stream = dep.job_stream_name
        if dep.id in self.jobs:
            return self.jobs[dep.id]
        if stream and (stream in self.loaded_streams or len(self.loaded_streams) < _MAX_STREAMS):
            await self.load_stream(stream)
        elif not stream and self.room() > 0:
            # No job stream named: read the job itself (counted as one of the walk's reads).
            self.found.reads += 1
            self.jobs[dep.id] = (await self.ctx.scheduler.get_job(dep.id)).value
        return self.jobs.get(dep.id)

    def room(self) -> int:
        """Predecessor reads still allowed: the walk's own limit, and the question's budget."""
        room = MAX_PREDECESSOR_READS - self.found.reads
        budget = getattr(self.ctx.scheduler, "budget", None)
        calls = getattr(self.ctx.scheduler, "calls", None)
        if isinstance(budget, int) and isinstance(calls, int):
            # Every job stream list the walk may still read must fit too.
            streams_left = _MAX_STREAMS - len(self.loaded_streams)
            room = min(room, budget - calls - streams_left - _BUDGET_RESERVE)
        return max(room, 0)

    async def load_stations(self) -> None:
        snapshot = await self.ctx.scheduler.workstations()
        self.stations = {ws.name: ws for ws in snapshot.value}

    def add(self, kind: CauseKind, job: PlanJob, path: tuple[PlanJob, ...], text: str) -> None:
        key = (kind, job.id)
        if key not in self.seen_causes:
            self.seen_causes.add(key)
            self.found.causes.append(Cause(kind=kind, job=job, path=path, text=text))

    def clock(self, moment: datetime | None) -> str:
        return format_clock(moment, zone=self.ctx.zone, today=self.now)

    def local(self, job: PlanJob, path: tuple[PlanJob, ...]) -> None:
        """The causes on the job itself (a held job's predecessors are still read after)."""
        name = job.name
        if job.failed:
            rc = f" rc {job.return_code}" if job.return_code is not None else ""
            self.add(CauseKind.FAILED, job, path, f"{name} {job.status.value}{rc}")
            return
        if job.status in ACTIVE_STATUSES:
            since = f" since {self.clock(job.started_at)}" if job.started_at else ""
            self.add(CauseKind.RUNNING, job, path, f"{name} still running{since}")
            return
        if job.finished:
            return
        if job.common_status is CommonStatus.HELD or (
            job.status is JobStatus.HOLD and job.priority == 0
        ):
            self.add(CauseKind.HELD, job, path, f"{name} is held by an operator")
        station = (self.stations or {}).get(job.workstation)
        if station is not None and not station.available:
            self.found.stations_down[station.name] = station
            if job.status is JobStatus.READY:
                # Its predecessors are met: the workstation is what holds it.
                self.station_cause(job, path, station)
        if station is not None and station.fence is not None and 0 < job.priority < station.fence:
            self.add(
                CauseKind.FENCE,
                job,
                path,
                f"{name} priority {job.priority} is below the fence {station.fence} of "
                f"{station.name}",
            )
        if job.at_time is not None and job.at_time > self.now:
            self.add(CauseKind.AT_TIME, job, path, f"{name} not before {self.clock(job.at_time)}")

    def station_cause(self, job: PlanJob, path: tuple[PlanJob, ...], station: Workstation) -> None:
        text = f"{job.name} {job.status.value} on {station.name}, which is {_down_words(station)}"
        self.add(CauseKind.WORKSTATION, job, path, text)

    async def predecessors(self, job: PlanJob) -> list[Dependency]:
        self.found.reads += 1
        snapshot = await self.ctx.scheduler.job_predecessors(job.id)
        self.found.as_of = snapshot.as_of
        return [dep for dep in snapshot.value if dep.status not in _releasing(dep)]

    async def run(self, starts: list[PlanJob]) -> Blockage:
        await self.load_stations()
        for job in starts:
            self.jobs[job.id] = job
        visited = {job.id for job in starts}
        frontier: list[tuple[PlanJob, tuple[PlanJob, ...]]] = [(job, ()) for job in starts]
        limit = asyncio.Semaphore(_READ_CONCURRENCY)

        async def read(job: PlanJob) -> list[Dependency]:
            async with limit:
                return await self.predecessors(job)

        while frontier:
            waiting: list[tuple[PlanJob, tuple[PlanJob, ...]]] = []
            for job, path in frontier:
                self.local(job, path)
                # A failed or running job is the end of its chain; READY means its
                # predecessors are met. Every other waiting job is read further up.
                if not (
                    job.finished or job.status in ACTIVE_STATUSES or job.status is JobStatus.READY
                ):
                    waiting.append((job, path))
            room = self.room()
            if len(waiting) > room:
                self.found.cut = True
                self.found.unexplored += [job for job, _ in waiting[room:]]
                waiting = waiting[:room]
            levels = await asyncio.gather(*(read(job) for job, _ in waiting))
            frontier = []
            for (job, path), deps in zip(waiting, levels, strict=True):
                station = self.found.stations_down.get(job.workstation)
                if not deps and station is not None:
                    self.station_cause(job, path, station)
                elif not deps and not any(c.job.id == job.id for c in self.found.causes):
                    self.add(
                        CauseKind.UNEXPLAINED,
                        job,
                        path,
                        f"{job.name} {job.status.value}: every predecessor is released and "
                        "nothing visible holds it",
                    )
                for dep in deps:
                    if dep.id in visited:
                        continue
                    visited.add(dep.id)
                    if dep.kind != "job":
                        await self.stream_dependency(dep, path, frontier, visited)
                        continue
                    other = await self.job_of(dep)
                    if other is None:
                        self.found.cut = True
                        self.found.missing.append(dep)
                    else:
                        frontier.append((other, (*path, other)))
        self.found.causes.sort(key=lambda cause: (cause.kind, len(cause.path)))
        return self.found

    async def stream_dependency(
        self,
        dep: Dependency,
        path: tuple[PlanJob, ...],
        frontier: list[tuple[PlanJob, tuple[PlanJob, ...]]],
        visited: set[str],
    ) -> None:
        """A job waits for a whole job stream: its unfinished jobs are what it waits for."""
        if dep.name not in self.loaded_streams and len(self.loaded_streams) >= _MAX_STREAMS:
            self.found.cut = True
            self.found.missing.append(dep)
            return
        await self.load_stream(dep.name)
        for job in self.jobs.values():
            if job.job_stream_name == dep.name and not _released(job) and job.id not in visited:
                visited.add(job.id)
                frontier.append((job, (*path, job)))


def _releasing(dep: Dependency) -> frozenset[str]:
    return RELEASING if dep.kind == "job" else RELEASING_STREAM


def _released(job: PlanJob) -> bool:
    return job.status.value in RELEASING


def _down_words(station: Workstation) -> str:
    if not station.linked:
        return "unlinked"
    if not station.running:
        return "not running"
    return f"at limit {station.limit}"


async def find_blockage(ctx: AnswerContext, starts: list[PlanJob], *, now: datetime) -> Blockage:
    """Walk upstream from jobs that have not run to what holds them back.

    Args:
        ctx: The answer context (its scheduler counts against the question's budget).
        starts: The jobs asked about (one job, or the unfinished jobs of a job stream).
        now: The engine's now (for at-times).

    Returns:
        The causes, most actionable first, each with its path.
    """
    return await _Walk(ctx, now).run(starts)
