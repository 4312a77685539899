"""`Scheduler`: the capability the agents use to read (and, through runbooks, act on) the plan.

Domain code names this protocol, never the HTTP client (house rule 4). `TWSClient`
implements it against a real master or the bundled simulator.

Every read returns `Snapshot` so an answer can say "as of" when the data was true: the
engine's clock at the time of the answer (its HTTP ``Date`` header), which for the
simulator is the simulated clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, Protocol, TypeVar

from integrations.tws.models import (
    Dependency,
    EngineInfo,
    JobAction,
    JobLog,
    JobRun,
    JobStatus,
    JobStreamAction,
    JobStreamStatus,
    PlanJob,
    PlanJobStream,
    Workstation,
)

__all__ = ["JOB_LOG_WINDOW_BYTES", "Scheduler", "Snapshot"]

T = TypeVar("T")

JOB_LOG_WINDOW_BYTES: Final = 256 * 1024
"""How much of a job log is read: its end, where the error lines and the JOBINFO trailer are.

A stdlist can be hundreds of megabytes; reading it whole would hold it all in memory and
keep the process busy scanning it while other people wait for their answers.
"""


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[T]):
    """A value read from the engine and the engine's time when it was read.

    Attributes:
        value: What was read.
        as_of: The engine's clock when it answered (UTC).
        source: Where it came from, e.g. ``TWS twsmaster:31116``.
    """

    value: T
    as_of: datetime
    source: str


class Scheduler(Protocol):
    """Reads and actions on the current plan of one HWA engine."""

    @property
    def source(self) -> str:
        """A short human name of the engine, e.g. ``TWS twsmaster:31116``."""
        ...

    async def query_jobs(
        self,
        *,
        name: str | None = None,
        job_stream: str | None = None,
        workstation: str | None = None,
        statuses: Sequence[JobStatus] | None = None,
        limit: int | None = None,
    ) -> Snapshot[list[PlanJob]]:
        """Jobs in the plan; ``*`` in a name matches any run of characters."""
        ...

    async def get_job(self, job_id: str) -> Snapshot[PlanJob]:
        """One job by plan UUID."""
        ...

    async def job_predecessors(self, job_id: str) -> Snapshot[list[Dependency]]:
        """What the job waits for."""
        ...

    async def job_successors(self, job_id: str) -> Snapshot[list[Dependency]]:
        """What waits for the job."""
        ...

    async def job_history(self, job_id: str, *, days: int = 60) -> Snapshot[list[JobRun]]:
        """The job's past runs, newest first."""
        ...

    async def job_log(self, run_id: str) -> Snapshot[str]:
        """The end of the stdlist of one run (a bounded window; see `job_log_tail`)."""
        ...

    async def job_log_tail(
        self, run_id: str, *, max_bytes: int = JOB_LOG_WINDOW_BYTES
    ) -> Snapshot[JobLog]:
        """The last ``max_bytes`` of the stdlist of one run, and whether it was longer."""
        ...

    async def query_job_streams(
        self,
        *,
        name: str | None = None,
        workstation: str | None = None,
        statuses: Sequence[JobStreamStatus] | None = None,
        limit: int | None = None,
    ) -> Snapshot[list[PlanJobStream]]:
        """Job streams in the plan; ``*`` in a name matches any run of characters."""
        ...

    async def get_job_stream(self, job_stream_id: str) -> Snapshot[PlanJobStream]:
        """One job stream by plan UUID."""
        ...

    async def job_stream_predecessors(self, job_stream_id: str) -> Snapshot[list[Dependency]]:
        """What the job stream waits for."""
        ...

    async def job_stream_successors(self, job_stream_id: str) -> Snapshot[list[Dependency]]:
        """What waits for the job stream."""
        ...

    async def workstations(self) -> Snapshot[list[Workstation]]:
        """All workstations in the plan."""
        ...

    async def engine_info(self) -> Snapshot[EngineInfo]:
        """Engine version and plan window."""
        ...

    async def job_action(self, job_id: str, action: JobAction) -> Snapshot[PlanJob]:
        """Perform an action on a job (never retried); returns the job after it."""
        ...

    async def job_stream_action(
        self, job_stream_id: str, action: JobStreamAction
    ) -> Snapshot[PlanJobStream]:
        """Perform an action on a job stream (never retried); returns it after the action."""
        ...
