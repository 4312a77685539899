"""The event queue behind the state machine: job starts and ends ordered by time.

Replaying a night used to scan every job for every event; with 50,000 jobs that never ends.
Here a job enters the queue only when it can start: at rebuild (plan build, or after an
operator action changed what may start), when its last predecessor ends (successor lists and
pending-predecessor counts), or when its workstation comes back up. Entries are checked again
when they come out (an outage in between makes a start entry stale), so the queue decides
exactly what the full scan did.

Ties are broken as the scan broke them: at the same instant an outage comes first (the
caller's list), then job ends, then job starts in plan order.
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime

from integrations.tws.simulator.plan import Plan, SimJob
from integrations.tws.simulator.statuses import SATISFIED

__all__ = ["END", "START", "EventQueue", "ready_time"]

END = 1
START = 2

_Entry = tuple[datetime, int, int, SimJob]


def ready_time(job: SimJob, plan: Plan, cur: datetime) -> datetime | None:
    """When the job can start, seen at ``cur`` (None: not now, something must change first).

    Args:
        job: A job of the plan.
        plan: The plan (for its workstations).
        cur: The simulated time being replayed.

    Returns:
        Its at-time or its predecessors' latest end, not before ``cur``; None when it is not
        waiting, is held, its stream is held or cancelled, its workstation is down, or a
        predecessor has not ended SUCC/CANCL.
    """
    if job.phase != "waiting" or job.held or job.stream.held or job.stream.cancelled:
        return None
    if not plan.workstations[job.workstation].available:
        return None
    if job.rerun_pending:
        return cur
    start = job.at_time or job.stream.sched_time
    if not job.deps_released:
        for pred in job.preds:
            if pred.phase != "done" or pred.final_status not in SATISFIED:
                return None
            run = pred.current_run
            if run is not None:
                start = max(start, run.end)
    return max(start, cur)


def _satisfied(job: SimJob) -> bool:
    return job.phase == "done" and job.final_status in SATISFIED


class EventQueue:
    """Pending job starts and ends of one plan, earliest first."""

    def __init__(self, plan: Plan) -> None:
        """Index the plan (successors, jobs per workstation); the queue starts empty.

        Args:
            plan: The plan.
        """
        self._plan = plan
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._unmet: list[int] = [0] * len(plan.jobs)
        self._by_workstation: dict[str, list[SimJob]] = {}
        for job in plan.jobs:
            self._by_workstation.setdefault(job.workstation, []).append(job)
        self.waiting: set[int] = set()
        """Plan indexes of waiting jobs (status HOLD, READY or SCHED, by the clock)."""
        self.running: set[int] = set()
        """Plan indexes of running jobs (EXEC)."""
        self.done: dict[str, set[int]] = {}
        """Plan indexes of finished jobs by final status."""

    def rebuild(self, cur: datetime) -> None:
        """Recompute everything from the plan's state as of ``cur`` (after actions).

        Args:
            cur: The simulated time the state is at.
        """
        entries: list[_Entry] = []
        self.waiting, self.running, self.done = set(), set(), {}
        for job in self._plan.jobs:
            self._unmet[job.index] = sum(1 for p in job.preds if not _satisfied(p))
            if job.phase == "done":
                self.done.setdefault(job.final_status or "SUCC", set()).add(job.index)
            elif job.phase == "running":
                self.running.add(job.index)
                entries.append((job.runs[-1].end, END, next(self._seq), job))
            elif job.phase == "waiting":
                self.waiting.add(job.index)
                when = ready_time(job, self._plan, cur)
                if when is not None:
                    entries.append((when, START, job.index, job))
        heapq.heapify(entries)
        self._heap = entries

    def next_time(self) -> datetime | None:
        """The time of the earliest entry (it may turn out stale), or None."""
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[datetime, int, SimJob]:
        """Take the earliest entry: ``(time, END or START, job)``."""
        when, kind, _, job = heapq.heappop(self._heap)
        return when, kind, job

    def is_current(self, when: datetime, kind: int, job: SimJob) -> bool:
        """Whether a popped entry still holds (else skip it).

        Args:
            when: The entry's time.
            kind: END or START.
            job: The job.

        Returns:
            END: the job is running and its run ends then. START: it can start then.
        """
        if kind == END:
            run = job.current_run
            return job.phase == "running" and run is not None and run.end == when
        return ready_time(job, self._plan, when) == when

    def started(self, job: SimJob) -> None:
        """Queue the end of the run the job just started."""
        self.waiting.discard(job.index)
        self.running.add(job.index)
        heapq.heappush(self._heap, (job.runs[-1].end, END, next(self._seq), job))

    def ended(self, job: SimJob, cur: datetime) -> None:
        """The job just ended: successors whose last predecessor it was may start.

        Args:
            job: The job, its final status set.
            cur: The simulated time it ended.
        """
        self.running.discard(job.index)
        self.done.setdefault(job.final_status or "SUCC", set()).add(job.index)
        if not _satisfied(job):
            return
        for succ in job.succs:
            self._unmet[succ.index] -= 1
            if self._unmet[succ.index] == 0:
                self._push_if_ready(succ, cur)

    def workstation_up(self, name: str, cur: datetime) -> None:
        """A workstation came back: its waiting jobs that can start are queued again."""
        for job in self._by_workstation.get(name, ()):
            if job.phase == "waiting":
                self._push_if_ready(job, cur)

    def _push_if_ready(self, job: SimJob, cur: datetime) -> None:
        when = ready_time(job, self._plan, cur)
        if when is not None:
            heapq.heappush(self._heap, (when, START, job.index, job))
