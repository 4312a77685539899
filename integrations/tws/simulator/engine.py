"""The state machine: jobs start, run and end as the simulated clock moves; operator actions.

State is advanced lazily: every request first calls `SimState.sync`, which replays every
event (outages, job starts, job ends) between the last sync and the clock's now, in time
order, from an event queue (`integrations.tws.simulator.events`). Given the seed and the
same clock steps, the night is the same.

`SimState` owns the plan, the clock and that replay. How an object's status reads is in
`integrations.tws.simulator.statuses`; what an operator action may do is in
`integrations.tws.simulator.actions` (applied here, between two syncs).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.tws.simulator import statuses
from integrations.tws.simulator.actions import (
    ActionError,
    apply_job_action,
    apply_stream_action,
    finish_run,
)
from integrations.tws.simulator.clock import SimClock
from integrations.tws.simulator.events import END, EventQueue
from integrations.tws.simulator.history import HistoryArchive
from integrations.tws.simulator.plan import Plan, SimJob, SimRun, SimStream, build_plan
from integrations.tws.simulator.runs import draw_run
from integrations.tws.simulator.scenario import Scenario
from integrations.tws.simulator.truth import ManualOutage, truth

__all__ = ["ActionError", "NotFoundError", "SimState"]


_WAITING = frozenset({"HOLD", "READY", "SCHED"})
"""What a job that has not started (or waits for its rerun) shows."""


class NotFoundError(Exception):
    """No such object in the plan."""


@dataclass
class _Outage:
    workstation: str
    at: datetime
    up: bool


class SimState:
    """The plan, its clock and everything that happened so far."""

    def __init__(self, scenario: Scenario, clock: SimClock, seed: int) -> None:
        """Build the plan and play the night up to the clock's now.

        Args:
            scenario: The scenario.
            clock: The simulated clock (its now is "the middle of the night").
            seed: Random seed.
        """
        self.scenario = scenario
        self.clock = clock
        self.seed = seed
        self.started_at = clock.now()
        self.version = 0
        self._build()

    def _build(self) -> None:
        anchor = self.started_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        plan_start = anchor - timedelta(hours=self.scenario.plan_offset_hours)
        self.plan: Plan = build_plan(self.scenario, plan_start, self.seed)
        self.history = HistoryArchive(
            self.plan,
            self.seed,
            self.scenario.history_days,
            self.scenario.failure_rate,
            scenario=self.scenario,
        )
        self.runs: dict[str, tuple[SimJob, SimRun]] = {}
        self.sim_time = plan_start
        self._job_numbers = random.Random(self.seed * 31 + 1)
        self._next_job_number = 10_000 + self._job_numbers.randint(0, 50_000)
        self._outages: list[_Outage] = []
        for spec in self.scenario.outages:
            down_at = plan_start + timedelta(minutes=spec.at_minutes)
            self._outages.append(_Outage(spec.workstation, down_at, up=False))
            if spec.for_minutes is not None:
                up_at = down_at + timedelta(minutes=spec.for_minutes)
                self._outages.append(_Outage(spec.workstation, up_at, up=True))
        self._outages.sort(key=lambda o: o.at)
        self.manual_outages: list[ManualOutage] = []
        self._queue = EventQueue(self.plan)
        self._dirty = True
        self.bump()
        self.sync()

    def bump(self) -> None:
        """Note a change that is not the clock's: an action, a workstation, a rebuilt plan.

        With `sim_time`, `version` says whether an earlier answer still holds (the plan
        API reuses a query's result across the pages of one read).
        """
        self.version += 1

    def reset(self) -> None:
        """Rebuild the plan and replay it up to the clock's current now."""
        self.started_at = self.clock.now()
        self._build()

    # ------------------------------------------------------------------ time

    def now(self) -> datetime:
        """The simulated now (after `sync`, the state is as of this time)."""
        return max(self.clock.now(), self.sim_time)

    def sync(self) -> datetime:
        """Advance the state machine to the clock's now.

        Returns:
            The simulated now.
        """
        target = self.now()
        self._advance(target)
        return target

    def _advance(self, target: datetime) -> None:
        queue = self._queue
        cur = self.sim_time
        if self._dirty:
            queue.rebuild(cur)
            self._dirty = False
        outages = self._outages
        while True:
            next_job = queue.next_time()
            if (
                outages
                and outages[0].at <= target
                and (next_job is None or outages[0].at <= next_job)
            ):
                outage = outages.pop(0)
                cur = max(cur, outage.at)
                self._set_workstation(outage.workstation, up=outage.up, when=outage.at)
                if outage.up:
                    queue.workstation_up(outage.workstation, cur)
                continue
            if next_job is None or next_job > target:
                break
            when, kind, job = queue.pop()
            if not queue.is_current(when, kind, job):
                continue
            cur = max(cur, when)
            if kind == END:
                finish_run(job)
                queue.ended(job, cur)
            else:
                self._start(job, cur)
                queue.started(job)
        self.sim_time = max(self.sim_time, target)

    # ------------------------------------------------------------- job runs

    def _start(self, job: SimJob, when: datetime) -> None:
        self._next_job_number += self._job_numbers.randint(1, 40)
        run = draw_run(job, self.scenario, self.seed, when=when, job_number=self._next_job_number)
        job.runs.append(run)
        job.phase = "running"
        job.rerun_pending = False
        job.deps_released = False
        job.final_status = None
        self.runs[run.run_id] = (job, run)

    def _set_workstation(self, name: str, *, up: bool, when: datetime) -> None:
        ws = self.plan.workstations[name]
        ws.linked = ws.running = up
        ws.down_since = None if up else when

    def set_workstation(self, name: str, *, up: bool) -> None:
        """Bring a workstation down or up now (control endpoint).

        Args:
            name: Workstation name.
            up: True to link it, False to unlink it.

        Raises:
            NotFoundError: No such workstation.
        """
        if name not in self.plan.workstations:
            raise NotFoundError(name)
        now = self.sync()
        self._set_workstation(name, up=up, when=now)
        self.manual_outages.append((name, now, up))
        self._outages = [o for o in self._outages if o.workstation != name]
        self._dirty = True
        self.bump()
        self.sync()

    # ---------------------------------------------------------------- views

    def job_status(self, job: SimJob) -> str:
        """The job's internal status as of the last sync."""
        return statuses.job_status(job, self.sim_time)

    def common_status(self, job: SimJob) -> str:
        """The console's status group for the job."""
        return statuses.common_status(job, self.sim_time)

    def is_late(self, job: SimJob) -> bool:
        """Deadline passed while the job was not finished."""
        return statuses.is_late(job, self.sim_time)

    def stream_status(self, stream: SimStream) -> str:
        """The job stream's state."""
        return statuses.stream_status(stream, self.sim_time)

    def job(self, job_id: str) -> SimJob:
        """Look a job up by plan UUID.

        Raises:
            NotFoundError: Unknown id.
        """
        try:
            return self.plan.jobs_by_id[job_id]
        except KeyError:
            raise NotFoundError(job_id) from None

    def stream(self, stream_id: str) -> SimStream:
        """Look a job stream up by plan UUID.

        Raises:
            NotFoundError: Unknown id.
        """
        try:
            return self.plan.streams_by_id[stream_id]
        except KeyError:
            raise NotFoundError(stream_id) from None

    def run(self, run_id: str) -> tuple[SimJob, SimRun]:
        """Look a run (current plan or archive) up by id.

        Raises:
            NotFoundError: Unknown run.
        """
        found = self.runs.get(run_id) or self.history.run(run_id)
        if found is None:
            raise NotFoundError(run_id)
        return found

    def truth(self) -> dict[str, Any]:
        """What was injected, what failed and which deadlines held, as of now (see `truth`)."""
        now = self.sync()
        return truth(self.scenario, self.plan, now, self.manual_outages)

    def jobs_with_status(self, wanted: Collection[str]) -> list[SimJob]:
        """Jobs whose internal status is one of ``wanted``, in plan order.

        Running and finished jobs come from the event queue's index, so only waiting jobs'
        statuses are computed (what a 50,000-job plan needs for "what failed?").

        Args:
            wanted: Internal statuses (``ABEND``, ``EXEC``, ``HOLD``...).

        Returns:
            The jobs, as filtering every job of the plan would give them.
        """
        self.sync()
        queue = self._queue
        found: set[int] = set()
        if "EXEC" in wanted:
            found |= queue.running
        for status in wanted:
            found |= queue.done.get(status, set())
        if not _WAITING.isdisjoint(wanted):
            jobs, now = self.plan.jobs, self.sim_time
            found.update(i for i in queue.waiting if statuses.job_status(jobs[i], now) in wanted)
        return [self.plan.jobs[i] for i in sorted(found)]

    def counts(self) -> dict[str, int]:
        """Jobs by internal status."""
        out: dict[str, int] = {}
        for job in self.plan.jobs:
            status = self.job_status(job)
            out[status] = out.get(status, 0) + 1
        return dict(sorted(out.items()))

    # -------------------------------------------------------------- actions

    def job_action(self, job_id: str, action: str) -> str:
        """Apply an operator action to a job now.

        Args:
            job_id: Plan UUID.
            action: ``hold``, ``release``, ``rerun``, ``cancel``, ``kill``,
                ``confirm-succ``, ``confirm-abend``, ``release-dependencies``.

        Returns:
            The job's status after the action.

        Raises:
            NotFoundError: Unknown job.
            ActionError: Not valid in the job's current state.
        """
        job = self.job(job_id)
        now = self.sync()
        apply_job_action(job, action, status=self.job_status(job), now=now)
        self._dirty = True
        self.bump()
        self.sync()
        return self.job_status(job)

    def stream_action(self, stream_id: str, action: str) -> str:
        """Apply ``hold``, ``release`` or ``cancel`` to a job stream now.

        Returns:
            The stream's state after the action.

        Raises:
            NotFoundError: Unknown job stream.
            ActionError: Not valid in its current state.
        """
        stream = self.stream(stream_id)
        self.sync()
        apply_stream_action(stream, action, state=self.stream_status(stream))
        self._dirty = True
        self.bump()
        self.sync()
        return self.stream_status(stream)
