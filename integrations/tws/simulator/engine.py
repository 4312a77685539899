"""The state machine: jobs start, run and end as the simulated clock moves; operator actions.

State is advanced lazily: every request first calls `SimState.sync`, which replays every
event (outages, job starts, job ends) between the last sync and the clock's now, in time
order. Given the seed and the same clock steps, the night is the same.

`SimState` owns the plan, the clock and that replay. How an object's status reads is in
`integrations.tws.simulator.statuses`; what an operator action may do is in
`integrations.tws.simulator.actions` (applied here, between two syncs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrations.tws.simulator import statuses
from integrations.tws.simulator.actions import (
    ActionError,
    apply_job_action,
    apply_stream_action,
    finish_run,
)
from integrations.tws.simulator.clock import SimClock
from integrations.tws.simulator.history import HistoryArchive
from integrations.tws.simulator.plan import Plan, SimJob, SimRun, SimStream, build_plan, new_uuid
from integrations.tws.simulator.scenario import Scenario
from integrations.tws.simulator.stdlist import FAILURES

__all__ = ["ActionError", "NotFoundError", "SimState"]


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
        self._build()

    def _build(self) -> None:
        anchor = self.started_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        plan_start = anchor - timedelta(hours=self.scenario.plan_offset_hours)
        self.plan: Plan = build_plan(self.scenario, plan_start, self.seed)
        self.history = HistoryArchive(
            self.plan, self.seed, self.scenario.history_days, self.scenario.failure_rate
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
        self.sync()

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

    def _ready_time(self, job: SimJob, cur: datetime) -> datetime | None:
        if job.phase != "waiting" or job.held or job.stream.held or job.stream.cancelled:
            return None
        ws = self.plan.workstations[job.workstation]
        if not ws.available:
            return None
        if job.rerun_pending:
            return cur
        start = job.at_time or job.stream.sched_time
        if not job.deps_released:
            for pred in job.preds:
                if pred.phase != "done" or (pred.final_status not in statuses.SATISFIED):
                    return None
                run = pred.current_run
                if run is not None:
                    start = max(start, run.end)
        return max(start, cur)

    def _advance(self, target: datetime) -> None:
        cur = self.sim_time
        waiting = [j for j in self.plan.jobs if j.phase == "waiting"]
        running = [j for j in self.plan.jobs if j.phase == "running"]
        while True:
            best_time: datetime | None = None
            best_kind = ""
            best_job: SimJob | None = None
            if self._outages and self._outages[0].at <= target:
                best_time, best_kind = self._outages[0].at, "outage"
            for job in running:
                run = job.runs[-1]
                if best_time is None or run.end < best_time:
                    best_time, best_kind, best_job = run.end, "end", job
            for job in waiting:
                ready = self._ready_time(job, cur)
                if ready is not None and (best_time is None or ready < best_time):
                    best_time, best_kind, best_job = ready, "start", job
            if best_time is None or best_time > target:
                break
            cur = max(cur, best_time)
            if best_kind == "outage":
                outage = self._outages.pop(0)
                self._set_workstation(outage.workstation, up=outage.up, when=outage.at)
            elif best_kind == "end" and best_job is not None:
                finish_run(best_job)
                running.remove(best_job)
                if best_job.phase == "waiting":
                    waiting.append(best_job)
            elif best_job is not None:
                self._start(best_job, cur)
                waiting.remove(best_job)
                if best_job.phase == "running":
                    running.append(best_job)
        self.sim_time = max(self.sim_time, target)

    # ------------------------------------------------------------- job runs

    def _start(self, job: SimJob, when: datetime) -> None:
        rng = random.Random(f"{self.seed}|{job.id}|{len(job.runs)}")
        first = not job.runs
        duration = max(5.0, rng.gauss(job.mean, job.stddev)) * job.slowdown
        forced = self.scenario.forced_for(job.stream.name, job.name) if first else None
        error: str | None = None
        outcome = "SUCC"
        return_code: int | None = 0
        fail_prob = job.fail_prob if first else job.fail_prob / 4
        if forced is not None:
            outcome = forced.status
            error = forced.error or next(
                (p for p in job.profiles if FAILURES[p].status == forced.status),
                "launch_fail" if forced.status == "FAIL" else "segfault",
            )
        elif rng.random() < fail_prob and not self.scenario.is_stable(job.stream.name):
            error = job.profiles[0] if rng.random() < 0.7 else job.profiles[-1]
            outcome = FAILURES[error].status
        if error is not None:
            failure = FAILURES[error]
            return_code = failure.return_code
            if forced is not None and forced.return_code is not None and outcome == "ABEND":
                return_code = forced.return_code
            duration = 1.0 if outcome == "FAIL" else duration * rng.uniform(0.15, 0.9)
        self._next_job_number += self._job_numbers.randint(1, 40)
        run = SimRun(
            run_id=new_uuid(rng),
            start=when,
            end=when + timedelta(seconds=round(duration)),
            status="EXEC",
            outcome=outcome,
            return_code=return_code if outcome != "FAIL" else None,
            error=error,
            job_number=self._next_job_number,
            cpu_ms=int(duration * rng.uniform(20, 400)),
            mem_kb=rng.randint(8_000, 900_000),
        )
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
        self._outages = [o for o in self._outages if o.workstation != name]
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
        self.sync()
        return self.stream_status(stream)
