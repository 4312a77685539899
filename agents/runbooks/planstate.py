"""The plan state an approval is bound to: a hash of the relevant objects' status and run.

For a job: status, run id, rerun count, held (priority 0); for a job stream: its state; for a
workstation: linked, running. The approval card shows it; the executor re-reads it just
before the first step, and a different hash sends the request back to approval.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from agents.runbooks.catalog import ParamType
from agents.runbooks.params import ResolvedParam
from integrations.tws.scheduler import Scheduler

__all__ = ["PlanState", "binding_hash", "read_plan_state"]


@dataclass(frozen=True, slots=True)
class PlanState:
    """What the plan says about a request's objects.

    Attributes:
        items: Per parameter name, the fields that matter.
        digest: A short hash of ``items``.
    """

    items: dict[str, dict[str, object]]
    digest: str

    def summary(self) -> list[tuple[str, str]]:
        """Label/value pairs for a card."""
        return [
            (name, ", ".join(f"{k} {v}" for k, v in fields.items() if k != "id"))
            for name, fields in sorted(self.items.items())
        ]


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


async def read_plan_state(
    *, scheduler: Scheduler, params: Mapping[str, ResolvedParam]
) -> PlanState:
    """Read the relevant objects now.

    Args:
        scheduler: The engine.
        params: The request's resolved parameters.

    Returns:
        The state and its hash.
    """
    items: dict[str, dict[str, object]] = {}
    for name, param in sorted(params.items()):
        if param.type == ParamType.JOB:
            job = (await scheduler.get_job(param.ref)).value
            items[name] = {
                "id": job.id,
                "status": job.status.value,
                "run": job.run_id,
                "reruns": job.rerun_count,
                "held": job.priority == 0,
            }
        elif param.type == ParamType.JOB_STREAM:
            stream = (await scheduler.get_job_stream(param.ref)).value
            items[name] = {"id": stream.id, "status": stream.status.value}
        elif param.type == ParamType.WORKSTATION:
            found = [w for w in (await scheduler.workstations()).value if w.name == param.ref]
            items[name] = (
                {"linked": found[0].linked, "running": found[0].running}
                if found
                else {"gone": True}
            )
    return PlanState(items=items, digest=_digest(items))


def binding_hash(
    *, runbook_id: str, version: int, digest: str, params: Mapping[str, ResolvedParam], plan: str
) -> str:
    """What an approval binds to: runbook id, version and definition, parameters, plan state.

    Args:
        runbook_id: The runbook.
        version: Its version.
        digest: Its definition's hash.
        params: The resolved parameters.
        plan: The plan state hash.

    Returns:
        A short hash.
    """
    return _digest(
        {
            "runbook": runbook_id,
            "version": version,
            "digest": digest,
            "params": {name: p.as_dict() for name, p in sorted(params.items())},
            "plan": plan,
        }
    )
