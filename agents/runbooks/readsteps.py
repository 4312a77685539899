"""The steps that only read the plan: wait for a status, check the plan, diagnose a workstation.

None of them changes anything, so none is journaled before it runs or audited: a restart
simply runs them again. A wait renews the drive lease between polls (``renew``) so that a
long wait does not look like a dead replica.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from agents.messages import Fields, Reply, Tone
from agents.runbooks.catalog import CheckStep, WaitStep
from agents.runbooks.journal import RequestStatus
from agents.runbooks.params import ResolvedParam
from agents.runbooks.reconcile import snapshot
from integrations.tws.models import WAITING_STATUSES
from integrations.tws.scheduler import Scheduler

__all__ = ["check", "diagnose", "wait"]


async def wait(
    *,
    scheduler: Scheduler,
    step: WaitStep,
    param: ResolvedParam,
    poll_seconds: float,
    renew: Callable[[], Awaitable[None]],
) -> tuple[RequestStatus, str]:
    """Wait until the target (or its direct successors) reach one of the step's statuses.

    Args:
        scheduler: The engine.
        step: The wait step.
        param: Its target (a job).
        poll_seconds: Pause between reads.
        renew: Renews the drive lease; called between reads.

    Returns:
        (SUCCEEDED, "") when reached; (NEEDS_PERSON, what is still pending) after the timeout.
    """
    wanted = {status.value for status in step.status}
    deadline = time.monotonic() + step.timeout_seconds
    while True:
        if step.scope == "successors":
            deps = (await scheduler.job_successors(param.ref)).value
            states = {f"{d.job_stream_name}.{d.name}": d.status for d in deps if d.kind == "job"}
        else:
            job = (await scheduler.get_job(param.ref)).value
            states = {param.display: job.status.value}
        if all(state in wanted for state in states.values()):
            return RequestStatus.SUCCEEDED, ""
        if time.monotonic() >= deadline:
            pending = ", ".join(f"{n} {s}" for n, s in states.items() if s not in wanted)
            return (
                RequestStatus.NEEDS_PERSON,
                f"waited {step.timeout_seconds:g} s for {'|'.join(sorted(wanted))}; still {pending}",
            )
        await renew()
        await asyncio.sleep(poll_seconds)


async def check(
    *, scheduler: Scheduler, step: CheckStep, param: ResolvedParam
) -> tuple[RequestStatus, str]:
    """Check a status (or a workstation's availability) in the plan.

    Args:
        scheduler: The engine.
        step: The check.
        param: Its target.

    Returns:
        (SUCCEEDED, "" or a warning) or (FAILED, what was seen) for a stopping check.
    """
    if step.workstation_available is not None:
        found = [w for w in (await scheduler.workstations()).value if w.name == param.ref]
        available = bool(found) and found[0].available
        ok = available == step.workstation_available
        seen = f"{param.display} is {'available' if available else 'not available'}"
    else:
        status = (await snapshot(scheduler=scheduler, param=param))["status"]
        ok = status in step.status
        seen = f"{param.display} is {status}, expected {'|'.join(step.status)}"
    if ok:
        return RequestStatus.SUCCEEDED, ""
    if step.on_fail == "warn":
        return RequestStatus.SUCCEEDED, f"warning: {seen}"
    return RequestStatus.FAILED, f"check failed: {seen}; nothing was changed by this step"


async def diagnose(*, scheduler: Scheduler, param: ResolvedParam) -> Reply:
    """A workstation's link state, limit, fence and the jobs waiting there.

    Args:
        scheduler: The engine.
        param: The workstation parameter.

    Returns:
        The report, for the request's thread.
    """
    found = [w for w in (await scheduler.workstations()).value if w.name == param.ref]
    if not found:
        return Reply(headline=f"Workstation {param.ref} is not in the plan", tone=Tone.ERROR)
    ws = found[0]
    jobs = (await scheduler.query_jobs(workstation=ws.name)).value
    waiting = [j for j in jobs if j.status in WAITING_STATUSES]
    ready = [j.qualified_name for j in waiting if j.status.value == "READY"]
    return Reply(
        headline=f"Workstation {ws.name}: {'available' if ws.available else 'NOT available'}",
        tone=Tone.SUCCESS if ws.available else Tone.WARNING,
        blocks=(
            Fields(
                items=(
                    ("Linked", "yes" if ws.linked else "no"),
                    ("Running", "yes" if ws.running else "no"),
                    ("Limit", str(ws.limit) if ws.limit is not None else "-"),
                    ("Fence", str(ws.fence) if ws.fence is not None else "-"),
                    ("State", ws.status_text or "-"),
                    ("Jobs waiting there", str(len(waiting))),
                    ("READY but not started", ", ".join(ready[:10]) or "none"),
                )
            ),
        ),
    )
