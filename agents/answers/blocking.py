"""What holds a job back: the walk upstream from a job that has not run to the causes.

A job that has not started waits for something: a predecessor that failed (in TWS an
ABEND predecessor does not release its successors: they wait until it is rerun and ends
SUCC, or is cancelled or confirmed), a predecessor still running, a job or job stream held
by an operator, a workstation that is down or unlinked, an at-time not reached yet, or a
predecessor that waits itself, further up, possibly in another job stream. The walk goes
upstream breadth first, so each cause is reached by its shortest chain, and names that
chain the way an operator says it: ``GL_CLOSE ← PAYROLL_DAILY ← PAYROLL_EXTRACT ABEND rc 12``
(one name per job stream crossed, then the job where the cause is).

Cost: one workstation list, one job list per job stream met (every job's status, return
code, hold and at-time at once) and one predecessor read per waiting job whose predecessors
are not in a list read yet, at most `MAX_PREDECESSOR_READS` (then the answer says so), well
inside the question's budget (`agents.answers.budget`). When the engine sends predecessors
with each job (``PlanJob.predecessor_ids``) a job whose predecessors are in a list read costs
nothing, and once reads run out one filtered plan read (every job that does not release its
successors) walks the rest of a chain of any depth. A job that every inline predecessor
released and that nothing explains is read too (a job stream dependency may hold it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

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
MAX_WALKED = 5000
"""Jobs one walk looks upstream of at most (inline predecessors cost no read)."""

RELEASING = frozenset({"SUCC", "SUCCP", "CANCL", "SUPPR"})
"""Predecessor statuses that release a successor (TWS: a cancelled one releases it too)."""

RELEASING_STREAM = frozenset({"SUCC", "CANCEL"})
"""Job stream states that release what waits for the job stream."""

_Step = tuple[PlanJob, tuple[PlanJob, ...]]  # a job met, and the path to it from the start

_HOLDING = tuple(status for status in JobStatus if status.value not in RELEASING)
"""The statuses of jobs that hold their successors (the walk's one filtered plan read)."""


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
        walked: Jobs whose predecessors were looked at (read, or sent with the job).
        cut: True when the walk stopped at a limit before the end.
        unexplored: Waiting jobs the walk did not follow further (when cut).
        missing: Predecessors in job streams the walk did not read (when cut).
        stations_down: Unavailable workstations of the waiting jobs met (a job waiting for
            predecessors there would not start even once they are done).
        as_of: The engine time of the last read.
    """

    causes: list[Cause] = field(default_factory=list)
    reads: int = 0
    walked: int = 0
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
        self.plan: asyncio.Task[None] | None = None
        self.stations: dict[str, Workstation] | None = None
        self.found = Blockage()
        self.seen_causes: set[tuple[CauseKind, str]] = set()

    async def load_stream(self, name: str) -> None:
        """Every job of a job stream, once per walk (statuses, return codes, holds)."""
        if name not in self.loaded_streams:
            self.loaded_streams[name] = asyncio.ensure_future(self._read(job_stream=name))
        await self.loaded_streams[name]

    async def load_plan(self) -> None:
        """Every job that does not release its successors, in one filtered read, once."""
        if self.plan is None:
            self.plan = asyncio.ensure_future(self._read(statuses=_HOLDING))
        await self.plan

    async def _read(self, **query: Any) -> None:
        snapshot = await self.ctx.scheduler.query_jobs(**query)
        self.found.as_of = snapshot.as_of
        self.jobs.update((job.id, job) for job in snapshot.value)

    async def job_of(self, dep: Dependency) -> PlanJob | None:
        """The full job behind a dependency (its job stream's list); None past the limits."""
        stream = dep.job_stream_name
        if dep.id in self.jobs:
            return self.jobs[dep.id]
        if stream and (stream in self.loaded_streams or len(self.loaded_streams) < _MAX_STREAMS):
            await self.load_stream(stream)
        elif stream:
            await self.widen()  # the plan read holds every job that still holds its successor
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
        frontier: list[_Step] = [(job, ()) for job in starts]
        limit = asyncio.Semaphore(_READ_CONCURRENCY)

        async def read(job: PlanJob) -> list[Dependency]:
            async with limit:
                return await self.predecessors(job)

        while frontier:
            waiting: list[_Step] = []
            for job, path in frontier:
                self.local(job, path)
                # A failed or running job is the end of its chain; READY means its
                # predecessors are met. Every other waiting job is looked at further up.
                if not (
                    job.finished or job.status in ACTIVE_STATUSES or job.status is JobStatus.READY
                ):
                    waiting.append((job, path))
            waiting = self.keep(waiting, MAX_WALKED - self.found.walked)
            above = self.inline_level(waiting)
            reading = [(job, path) for job, path in waiting if job.id not in above]
            room = self.room()
            if len(reading) > room and await self.widen():
                above = self.inline_level(waiting)
                reading = [(job, path) for job, path in waiting if job.id not in above]
            reading = self.keep(reading, room)
            levels = await asyncio.gather(*(read(job) for job, _ in reading))
            read_deps = {job.id: deps for (job, _), deps in zip(reading, levels, strict=True)}
            self.found.walked += len(above) + len(read_deps)
            frontier = []
            for job, path in waiting:
                if job.id not in above and job.id not in read_deps:
                    continue  # cut: named in `unexplored`
                preds, deps = above.get(job.id, []), read_deps.get(job.id, [])
                if not preds and not deps:
                    self.nothing_above(job, path)
                for pred in preds:
                    if pred.id not in visited:
                        visited.add(pred.id)
                        frontier.append((pred, (*path, pred)))
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

    def keep(self, steps: list[_Step], room: int) -> list[_Step]:
        """The first ``room`` steps; the walk is cut before the others (named as not followed)."""
        if len(steps) > room:
            self.found.cut = True
            self.found.unexplored += [job for job, _ in steps[max(room, 0) :]]
        return steps[: max(room, 0)]

    def inline_level(self, waiting: list[_Step]) -> dict[str, list[PlanJob]]:
        """The holding predecessors of the jobs whose inline predecessors are all known.

        Known: in a job stream list read, or once the plan is read (then one missing from it
        released the job). A job left out is read (it names its predecessors' job streams),
        and so is one that nothing explains (a job stream dependency is not in the list).
        """
        above: dict[str, list[PlanJob]] = {}
        for job, _ in waiting:
            ids = job.predecessor_ids
            if ids is None or (self.plan is None and any(i not in self.jobs for i in ids)):
                continue
            preds = [self.jobs[i] for i in ids if i in self.jobs and not _released(self.jobs[i])]
            explained = any(cause.job.id == job.id for cause in self.found.causes)
            if preds or explained or job.workstation in self.found.stations_down:
                above[job.id] = preds
        return above

    async def widen(self) -> bool:
        """Read the plan once, when the jobs carry their predecessors and reads run out.

        Stream by stream is cheapest for a short chain on a big plan; the plan read resolves
        every inline list at once, however deep the chain.
        """
        if self.plan is not None or all(j.predecessor_ids is None for j in self.jobs.values()):
            return False
        await self.load_plan()
        return True

    def nothing_above(self, job: PlanJob, path: tuple[PlanJob, ...]) -> None:
        """A waiting job with no predecessor holding it: its workstation, or unexplained."""
        station = self.found.stations_down.get(job.workstation)
        if station is not None:
            self.station_cause(job, path, station)
        elif not any(c.job.id == job.id for c in self.found.causes):
            self.add(
                CauseKind.UNEXPLAINED,
                job,
                path,
                f"{job.name} {job.status.value}: every predecessor is released and "
                "nothing visible holds it",
            )

    async def stream_dependency(
        self, dep: Dependency, path: tuple[PlanJob, ...], frontier: list[_Step], visited: set[str]
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
