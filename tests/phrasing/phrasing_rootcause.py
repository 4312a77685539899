"""What really blocks a job or a job stream, walked upstream over the simulator's API.

The examiner's own walk (not Resync's): from every unfinished job of the subject, follow
predecessors that have not finished until a job that explains the wait — failed, held by an
operator, READY on an unlinked workstation, still running, or its at-time not reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from phrasing_plan import DONE, FAILED, PlanJob, PlanView


@dataclass(frozen=True)
class Blocker:
    """One root cause and the path of jobs from the subject down to it."""

    job: PlanJob
    reason: str  # failed | held | workstation_down | running | at_time
    path: tuple[PlanJob, ...]

    @property
    def crosses(self) -> bool:
        """Whether the root sits in another job stream than the subject's first job."""
        return self.job.stream != self.path[0].stream

    @property
    def streams_between(self) -> list[str]:
        """Job streams crossed on the way, other than the subject's and the root's own."""
        first, last = self.path[0].stream, self.job.stream
        seen: list[str] = []
        for job in self.path:
            if job.stream not in (first, last) and job.stream not in seen:
                seen.append(job.stream)
        return seen


async def blockers(plan: PlanView, subject: str) -> list[Blocker]:
    """Root causes of ``subject`` (a job or a job stream) not being done, nearest first."""
    if subject in plan.streams:
        starts = [job for job in plan.select(stream=subject) if job.status not in DONE]
    else:
        starts = [plan.job(subject)]
    found: dict[str, Blocker] = {}
    seen: set[str] = set()
    frontier: list[tuple[PlanJob, tuple[PlanJob, ...]]] = [(job, (job,)) for job in starts]
    while frontier:
        job, path = frontier.pop(0)
        if job.id in seen:
            continue
        seen.add(job.id)
        reason = _own_reason(plan, job)
        if reason is not None:
            found.setdefault(job.name, Blocker(job=job, reason=reason, path=path))
            if reason != "at_time":  # an at-time not reached may hide a failure upstream
                continue
        for dep in await plan.predecessors(job):
            if dep.get("kind", "job") != "job" or dep.get("status") in DONE:
                continue
            upstream = plan.job(dep["name"])
            frontier.append((upstream, (*path, upstream)))
    return list(found.values())


def _own_reason(plan: PlanView, job: PlanJob) -> str | None:
    """Why the job itself is not done, when the cause is the job itself (not upstream)."""
    if job.status in FAILED:
        return "failed"
    if job.held_by_operator:
        return "held"
    if job.status == "READY" and not plan.linked(job.workstation):
        return "workstation_down"
    if job.status == "EXEC":
        return "running"
    if job.status == "SCHED" or (
        job.at_time is not None and datetime.fromisoformat(job.at_time) > plan.now
    ):
        return "at_time"
    return None
