"""Plan objects as the engine's JSON (the shapes documented in `integrations.tws.wire`)."""

from __future__ import annotations

from typing import Any

from integrations.tws.simulator import statuses
from integrations.tws.simulator.engine import SimState
from integrations.tws.simulator.plan import SimJob, SimRun, SimStream, SimWorkstation
from integrations.tws.wire import format_time

__all__ = [
    "ENGINE_VERSION",
    "TIME_ZONE",
    "engine_info",
    "job_dependency",
    "job_fields",
    "job_json",
    "job_value",
    "run_json",
    "stream_dependency",
    "stream_fields",
    "stream_json",
    "stream_value",
    "workstation_json",
]

_JOB_FIELDS = ("name", "jobStreamName", "workstationName", "status")
_STREAM_FIELDS = ("name", "workstationName", "status")

ENGINE_VERSION = "10.2.8"
TIME_ZONE = "Europe/Rome"


def job_json(state: SimState, job: SimJob) -> dict[str, Any]:
    """A plan job."""
    run = job.current_run
    status = statuses.job_status(job, state.sim_time)
    running = status == "EXEC"
    times = job.wire_times
    if times is None:
        # fixed once the plan is built; formatting them is most of a page's cost
        times = job.wire_times = (
            format_time(job.stream.sched_time),
            format_time(job.at_time),
            format_time(job.until_time),
            format_time(job.deadline),
        )
    ended = run is not None and not running
    return {
        "id": job.id,
        "name": job.name,
        "jobStreamInPlan": {
            "id": job.stream.id,
            "name": job.stream.name,
            "startTime": times[0],
            "workstationKey": {"name": job.stream.workstation},
        },
        "workstationKey": {"name": job.workstation},
        "status": {
            "internalStatus": status,
            "commonStatus": statuses.common_of(job, status),
        },
        "priority": 0 if job.held else job.priority,
        "atTime": times[1],
        "untilTime": times[2],
        "deadline": times[3],
        "actualStart": format_time(run.start) if run else None,
        "actualEnd": format_time(run.end) if run and ended else None,
        "returnCode": run.return_code if run and ended else None,
        "runId": run.run_id if run else None,
        "jobNumber": run.job_number if run else None,
        "estimatedDuration": round(job.mean),
        "late": statuses.is_late(job, state.sim_time),
        "rerunCount": job.rerun_count,
        # HWA v2 plan objects list their predecessors (``dependencyType``, ``jobId``, ...);
        # ``INTERNAL_JOB`` for a job of the same stream is a guess by symmetry.
        "dependencies": [
            {
                "dependencyType": "INTERNAL_JOB" if p.stream is job.stream else "EXTERNAL_JOB",
                "jobId": p.id,
                "jobName": p.name,
                "jobStreamId": p.stream.id,
                "jobStreamName": p.stream.name,
            }
            for p in job.preds
        ],
    }


def job_fields(state: SimState, job: SimJob) -> dict[str, str]:
    """Fields OQL can filter jobs on."""
    return {name: job_value(state, job, name) for name in _JOB_FIELDS}


def job_value(state: SimState, job: SimJob, field: str) -> str:
    """One field OQL can filter jobs on; only the one asked for is computed.

    Fields: ``name``, ``jobStreamName``, ``workstationName``, ``status``.
    """
    if field == "name":
        return job.name
    if field == "jobStreamName":
        return job.stream.name
    if field == "workstationName":
        return job.workstation
    if field == "status":
        return statuses.job_status(job, state.sim_time)
    raise KeyError(field)


def stream_json(state: SimState, stream: SimStream) -> dict[str, Any]:
    """A plan job stream."""
    return {
        "id": stream.id,
        "name": stream.name,
        "workstation": stream.workstation,
        "status": {"internalStatus": state.stream_status(stream)},
        "schedTime": format_time(stream.sched_time),
        "timeZone": TIME_ZONE,
        "deadline": format_time(stream.deadline),
        "untilTime": format_time(stream.until_time),
        "priority": stream.priority,
        "carriedForward": False,
        "jobCount": len(stream.jobs),
    }


def stream_fields(state: SimState, stream: SimStream) -> dict[str, str]:
    """Fields OQL can filter job streams on."""
    return {name: stream_value(state, stream, name) for name in _STREAM_FIELDS}


def stream_value(state: SimState, stream: SimStream, field: str) -> str:
    """One field OQL can filter job streams on (``name``, ``workstationName``, ``status``)."""
    if field == "name":
        return stream.name
    if field == "workstationName":
        return stream.workstation
    if field == "status":
        return state.stream_status(stream)
    raise KeyError(field)


def job_dependency(state: SimState, job: SimJob, other: SimJob) -> dict[str, Any]:
    """``other`` as a predecessor or successor of ``job``."""
    return {
        "kind": "job",
        "id": other.id,
        "name": other.name,
        "jobStreamName": other.stream.name,
        "workstationName": other.workstation,
        "status": state.job_status(other),
        "deadline": format_time(other.deadline),
        "internal": other.stream is job.stream,
    }


def stream_dependency(state: SimState, other: SimStream) -> dict[str, Any]:
    """A job stream as a predecessor or successor of another."""
    return {
        "kind": "jobstream",
        "id": other.id,
        "name": other.name,
        "jobStreamName": other.name,
        "workstationName": other.workstation,
        "status": state.stream_status(other),
        "deadline": format_time(other.deadline),
        "internal": False,
    }


def workstation_json(ws: SimWorkstation) -> dict[str, Any]:
    """A plan workstation."""
    if ws.available:
        text = "LTI JW"
    else:
        since = format_time(ws.down_since) or "plan start"
        text = f"UNLINKED (no heartbeat since {since})"
    return {
        "id": ws.id,
        "name": ws.name,
        "type": ws.type,
        "linked": ws.linked,
        "running": ws.running,
        "limit": ws.limit,
        "fence": 0,
        "os": ws.os,
        "domain": "MASTERDM",
        "statusText": text,
    }


def run_json(job: SimJob, run: SimRun) -> dict[str, Any]:
    """One run of a job's history."""
    running = run.status == "EXEC"
    return {
        "runId": run.run_id,
        "jobName": job.name,
        "jobStreamName": job.stream.name,
        "workstationName": job.workstation,
        "status": run.status,
        "actualStart": format_time(run.start),
        "actualEnd": None if running else format_time(run.end),
        "returnCode": None if running else run.return_code,
    }


def engine_info(state: SimState) -> dict[str, Any]:
    """``GET /engine/info``."""
    return {
        "engineVersion": ENGINE_VERSION,
        "planStart": format_time(state.plan.start),
        "planEnd": format_time(state.plan.end),
        "timeZone": "UTC",
        "simulator": True,
        "scenario": state.scenario.name,
    }
