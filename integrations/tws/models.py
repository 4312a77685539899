"""Typed TWS plan objects as Resync uses them.

These are Resync's own names, independent of the engine's JSON: `integrations.tws.wire`
is the one place that maps the engine's field names onto them, so that a real master's
OpenAPI spec can correct a field name in one place.

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ACTIVE_STATUSES",
    "FAILED_STATUSES",
    "FINISHED_STATUSES",
    "WAITING_STATUSES",
    "CommonStatus",
    "Dependency",
    "EngineInfo",
    "JobAction",
    "JobLog",
    "JobRun",
    "JobStatus",
    "JobStreamStatus",
    "PlanJob",
    "PlanJobStream",
    "Workstation",
]


class JobStatus(StrEnum):
    """Job internal status, as conman ``showjobs`` prints it."""

    ABEND = "ABEND"  # ended non-zero, or outside the return-code mapping
    ABENP = "ABENP"  # abend confirmation received
    ADD = "ADD"
    BOUND = "BOUND"
    CANCL = "CANCL"
    DONE = "DONE"
    ERROR = "ERROR"
    EXEC = "EXEC"  # running
    EXTRN = "EXTRN"
    FAIL = "FAIL"  # could not launch
    FENCE = "FENCE"  # priority below the workstation fence
    HOLD = "HOLD"  # waiting for dependencies
    INTRO = "INTRO"
    PEND = "PEND"  # awaiting confirmation
    READY = "READY"  # dependencies met
    SCHED = "SCHED"  # at-time not reached
    SUCC = "SUCC"
    SUCCP = "SUCCP"
    SUPPR = "SUPPR"  # suppressed by a condition
    WAIT = "WAIT"


class CommonStatus(StrEnum):
    """Status as the Dynamic Workload Console groups it."""

    WAITING = "WAITING"
    READY = "READY"
    RUNNING = "RUNNING"
    SUCCESSFUL = "SUCCESSFUL"
    ERROR = "ERROR"
    CANCELED = "CANCELED"
    HELD = "HELD"
    UNDECIDED = "UNDECIDED"
    BLOCKED = "BLOCKED"
    SUPPRESSED = "SUPPRESSED"


class JobStreamStatus(StrEnum):
    """Job stream states."""

    ADD = "ADD"
    ABEND = "ABEND"
    CANCEL = "CANCEL"
    CANCELP = "CANCELP"
    ERROR = "ERROR"
    EXEC = "EXEC"
    EXTRN = "EXTRN"
    HOLD = "HOLD"
    READY = "READY"
    STUCK = "STUCK"  # needs an operator
    SUCC = "SUCC"
    SUPPR = "SUPPR"


class JobAction(StrEnum):
    """Actions on a job in the plan (v2 ``/plan/job/{id}/action/{action}``)."""

    HOLD = "hold"
    RELEASE = "release"
    RERUN = "rerun"
    CANCEL = "cancel"
    KILL = "kill"
    CONFIRM_SUCC = "confirm-succ"
    CONFIRM_ABEND = "confirm-abend"
    RELEASE_DEPENDENCIES = "release-dependencies"


class JobStreamAction(StrEnum):
    """Actions on a job stream instance (v2 ``/plan/jobstream/{id}/action/{action}``, guess)."""

    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"


FAILED_STATUSES: frozenset[JobStatus] = frozenset(
    {JobStatus.ABEND, JobStatus.FAIL, JobStatus.ERROR}
)
FINISHED_STATUSES: frozenset[JobStatus] = frozenset(
    {
        JobStatus.SUCC,
        JobStatus.SUCCP,
        JobStatus.ABEND,
        JobStatus.ABENP,
        JobStatus.FAIL,
        JobStatus.ERROR,
        JobStatus.CANCL,
        JobStatus.DONE,
        JobStatus.SUPPR,
    }
)
ACTIVE_STATUSES: frozenset[JobStatus] = frozenset({JobStatus.EXEC, JobStatus.INTRO, JobStatus.WAIT})
WAITING_STATUSES: frozenset[JobStatus] = frozenset(
    {
        JobStatus.HOLD,
        JobStatus.READY,
        JobStatus.SCHED,
        JobStatus.FENCE,
        JobStatus.ADD,
        JobStatus.PEND,
    }
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


@dataclass(frozen=True, slots=True)
class PlanJob:
    """One job instance in the current plan.

    A plain frozen dataclass, not a pydantic model like the other plan objects: a question
    over a big plan holds tens of thousands of these at once, and a pydantic instance is
    three objects the garbage collector tracks (the instance, its ``__dict__``, its
    fields-set) and about 1.3 KB, where a slotted dataclass is one object of 200 bytes.
    ``integrations.tws.wire.parse_job`` checks the types pydantic would have checked.

    Attributes:
        id: The plan UUID (v2 actions need it; a composite key gives AWSBIO006E).
        name: Job name in the plan.
        job_stream_id: Plan UUID of the job stream instance.
        job_stream_name: Name of the job stream.
        job_stream_workstation: Workstation that owns the job stream.
        workstation: Workstation the job runs on.
        status: Internal status.
        common_status: Console status, when the engine sent it.
        priority: 0-101 (101 is GO, 100 is HI).
        at_time: Earliest start (``at``), if any.
        until_time: Latest start (``until``), if any.
        deadline: Must have finished by then, if any.
        started_at: Actual start of the current run.
        ended_at: Actual end of the current run.
        return_code: Return code of the current run, once it ended.
        run_id: Id of the current run (job log key), once it started.
        job_number: The operating-system job number (``#J...``), once it started.
        estimated_duration: The engine's own estimate, when it sent one.
        late: The engine flagged the job late (its deadline passed while unfinished).
        rerun_count: How many times this job was rerun in this plan.
        predecessor_ids: Plan ids of the jobs it waits for, when the engine sent its
            ``dependencies`` with the job; None when it did not (then they must be read
            with ``job_predecessors``).
    """

    id: str
    name: str
    job_stream_id: str
    job_stream_name: str
    job_stream_workstation: str
    workstation: str
    status: JobStatus
    common_status: CommonStatus | None = None
    priority: int = 10
    at_time: datetime | None = None
    until_time: datetime | None = None
    deadline: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    return_code: int | None = None
    run_id: str | None = None
    job_number: int | None = None
    estimated_duration: timedelta | None = None
    late: bool = False
    rerun_count: int = 0
    predecessor_ids: tuple[str, ...] | None = None

    @property
    def qualified_name(self) -> str:
        """``WS#STREAM.JOB``, as conman prints it."""
        return f"{self.job_stream_workstation}#{self.job_stream_name}.{self.name}"

    @property
    def finished(self) -> bool:
        """True when the job reached a final state."""
        return self.status in FINISHED_STATUSES

    @property
    def failed(self) -> bool:
        """True when the job ended in error."""
        return self.status in FAILED_STATUSES


class PlanJobStream(_Frozen):
    """One job stream instance in the current plan."""

    id: str
    name: str
    workstation: str
    status: JobStreamStatus
    sched_time: datetime | None = None
    time_zone: str | None = None
    deadline: datetime | None = None
    until_time: datetime | None = None
    priority: int = 10
    carried_forward: bool = False
    job_count: int | None = None

    @property
    def qualified_name(self) -> str:
        """``WS#STREAM``."""
        return f"{self.workstation}#{self.name}"


class Dependency(_Frozen):
    """A predecessor or successor of a job or job stream.

    Attributes:
        kind: ``job`` or ``jobstream``.
        id: Plan UUID of the other object.
        name: Its name (job name, or job stream name).
        job_stream_name: The job stream (for a job).
        workstation: Its workstation.
        status: Its internal status (job) or job stream state, as text.
        deadline: Its deadline, if any.
        internal: True when both are in the same job stream.
    """

    kind: str
    id: str
    name: str
    job_stream_name: str | None = None
    workstation: str | None = None
    status: str
    deadline: datetime | None = None
    internal: bool = False


class Workstation(_Frozen):
    """A workstation (master, fault-tolerant agent, dynamic agent) in the plan."""

    id: str
    name: str
    type: str
    linked: bool
    running: bool
    limit: int | None = None
    fence: int | None = None
    os: str | None = None
    domain: str | None = None
    status_text: str | None = None

    @property
    def available(self) -> bool:
        """True when jobs can run there: linked, running, limit above zero."""
        return self.linked and self.running and (self.limit is None or self.limit > 0)


class JobRun(_Frozen):
    """One finished (or running) run of a job, current or historical."""

    run_id: str
    job_name: str
    job_stream_name: str
    workstation: str
    status: JobStatus
    started_at: datetime
    ended_at: datetime | None = None
    return_code: int | None = None

    @property
    def duration(self) -> timedelta | None:
        """Elapsed time, once the run ended."""
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at


class JobLog(_Frozen):
    """The part of a run's stdlist that was read.

    A stdlist can be hundreds of megabytes; the client reads only its end (where the error
    lines and the JOBINFO trailer are), so an answer must say when it saw only part of it.

    Attributes:
        text: The text read: the whole log, or its last lines when ``truncated``.
        truncated: True when the log was longer than what was kept.
        size_bytes: How many bytes the engine sent in all.
    """

    text: str
    truncated: bool = False
    size_bytes: int = 0


class EngineInfo(_Frozen):
    """What ``/engine/info`` tells."""

    version: str
    plan_start: datetime | None = None
    plan_end: datetime | None = None
    time_zone: str | None = None
