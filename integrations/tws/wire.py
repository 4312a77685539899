"""The engine's JSON, mapped onto Resync's models: the one place that knows field names.

The field names below follow HCL's documentation and official REST samples where they are sure (``id``, ``name``,
``status.internalStatus``, ``status.commonStatus``, ``jobStreamInPlan.{id, name, startTime,
workstationKey.name}``, job stream ``schedTime``/``timeZone``/``carriedForward``) and are
Resync's choice where nothing public confirms them (return code, actual start/end, run id,
history, workstation fields). The bundled simulator emits exactly these shapes.

Plan job (``GET /plan/job`` results, ``GET /plan/job/{id}``)::

    {"id": "uuid", "name": "PAYROLL_EXTRACT",
     "jobStreamInPlan": {"id": "uuid", "name": "PAYROLL_DAILY",
                         "startTime": "2026-11-23T21:00:00Z", "workstationKey": {"name": "MASTER"}},
     "workstationKey": {"name": "AGT_LNX01"},
     "status": {"internalStatus": "ABEND", "commonStatus": "ERROR"},
     "priority": 10, "atTime": "...Z" | null, "untilTime": ..., "deadline": ...,
     "actualStart": ..., "actualEnd": ..., "returnCode": 12 | null,
     "runId": "uuid" | null, "jobNumber": 31337 | null,
     "estimatedDuration": 420 | null,    # seconds
     "late": false, "rerunCount": 0,
     "dependencies": [                   # optional: what the job waits for (doc)
         {"dependencyType": "INTERNAL_JOB" | "EXTERNAL_JOB" | "EXTERNAL_JOBSTREAM" | ...,
          "jobId": "uuid", "jobName": "...", "jobStreamId": "uuid", ...},
         {"dependencyType": "JOIN", "members": [<the same objects>]}]}

HCL documents ``dependencies`` on plan objects (``GET /plan/job/{id}`` and the results of
``GET /plan/job``: "examine the dependencies object"; the job stream pages show
``EXTERNAL_JOB``, ``EXTERNAL_JOBSTREAM`` and ``JOIN`` with ``members``, each job one with
``jobId``). ``INTERNAL_JOB`` (a job of the same stream) is a guess by symmetry; any
``...JOB`` type with a ``jobId`` is read as a job predecessor. A row without the field says
nothing about the job's predecessors (``PlanJob.predecessor_ids`` is None), and Resync
reads ``/plan/job/{id}/predecessors`` for it instead.

Job stream (``GET /plan/jobstream``)::

    {"id": "uuid", "name": "PAYROLL_DAILY", "workstation": "MASTER",
     "status": {"internalStatus": "EXEC"}, "schedTime": "...Z", "timeZone": "Europe/Rome",
     "deadline": ..., "untilTime": ..., "priority": 10, "carriedForward": false, "jobCount": 8}

Dependency (``.../predecessors``, ``.../successors``; results of a page)::

    {"kind": "job" | "jobstream", "id": "uuid", "name": "PAYROLL_CALC",
     "jobStreamName": "PAYROLL_DAILY", "workstationName": "AGT_LNX01",
     "status": "SUCC", "deadline": ... | null, "internal": true}

Workstation (``GET /plan/workstation``)::

    {"id": "uuid", "name": "AGT_LNX01", "type": "FTA" | "AGENT" | "MASTER",
     "linked": true, "running": true, "limit": 20, "fence": 0, "os": "UNIX",
     "domain": "MASTERDM", "statusText": "LTI JW"}

Run (``GET /plan/job/{id}/history?days=N`` results)::

    {"runId": "uuid", "jobName": "...", "jobStreamName": "...", "workstationName": "...",
     "status": "SUCC", "actualStart": "...Z", "actualEnd": "...Z" | null, "returnCode": 0}

Engine info (``GET /engine/info``)::

    {"engineVersion": "10.2.8", "planStart": "...Z", "planEnd": "...Z", "timeZone": "UTC"}

A page: ``{"count": total, "results": [...], "next": "absolute-or-relative-url"}`` where
``next`` is absent on the last page. An error: ``{"messages": ["AWS...E text"],
"exceptionName": "..."}``. Times are ISO 8601; a value without an offset is taken as UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from integrations.tws.decoding import is_object
from integrations.tws.models import (
    CommonStatus,
    Dependency,
    EngineInfo,
    JobRun,
    JobStatus,
    JobStreamStatus,
    PlanJob,
    PlanJobStream,
    Workstation,
)

__all__ = [
    "format_time",
    "parse_dependency",
    "parse_engine_info",
    "parse_job",
    "parse_job_stream",
    "parse_run",
    "parse_time",
    "parse_workstation",
]

Json = Mapping[str, Any]


def parse_time(value: Any) -> datetime | None:
    """Parse an engine timestamp (ISO 8601; naive means UTC) into aware UTC.

    Args:
        value: The JSON value (a string, or None).

    Returns:
        The time in UTC, or None when absent.

    Raises:
        ValueError: The value is not an ISO 8601 timestamp.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp, got {value!r}")
    return _parse_iso(value)


@lru_cache(maxsize=16_384)
def _parse_iso(value: str) -> datetime:
    # A plan repeats its times (a stream's jobs share at-times and deadlines): one parse,
    # and one immutable object in memory, per distinct text.
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """Format a time the way the engine sends it: UTC, seconds, ``Z`` suffix.

    Args:
        value: An aware datetime, or None.

    Returns:
        ``2026-11-23T21:00:00Z``, or None.
    """
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(obj: Any) -> str:
    if is_object(obj):
        return str(obj["name"])
    return str(obj)


def _optional_int(value: Any) -> int | None:
    """A JSON integer (or integral text) or null, read as lax pydantic would."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value)  # a bool is an int, as pydantic has it
    if isinstance(value, str) and value.isascii():
        # "12", " 12 ", "+12" and "12.0" as pydantic reads them; "12.5" and "1e3" are refused.
        whole, _, fraction = value.strip().partition(".")
        if fraction.strip("0") == "" and whole.lstrip("+-").isdigit():
            return int(whole)
    raise ValueError(f"expected an integer, got {value!r}")


def _optional_str(value: Any) -> str | None:
    """A JSON string or null; a number is refused (an id is never sent as one)."""
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def _predecessor_ids(value: Any) -> tuple[str, ...] | None:
    """The job ids in a plan object's ``dependencies``, in order (None: the engine sent none)."""
    if value is None:
        return None
    found: dict[str, None] = {}
    _collect_job_ids(value, found)
    return tuple(found)


def _collect_job_ids(items: Any, found: dict[str, None]) -> None:
    # A module function, not a closure: a recursive closure is a reference cycle (function,
    # cells) that only the cyclic collector frees, one per plan row.
    if not isinstance(items, list):
        raise ValueError(f"expected a list of dependencies, got {type(items).__name__}")
    for dep in items:
        if not is_object(dep):
            raise ValueError("a dependency is not a JSON object")
        if dep.get("members") is not None:  # a JOIN: its members are the dependencies
            _collect_job_ids(dep["members"], found)
        elif str(dep.get("dependencyType", "")).endswith("JOB") and dep.get("jobId"):
            found[str(dep["jobId"])] = None


def _status(obj: Any) -> str:
    if is_object(obj):
        return str(obj["internalStatus"])
    return str(obj)


def parse_job(data: Json) -> PlanJob:
    """Map one plan job from the engine's JSON.

    Args:
        data: One element of ``results`` or a ``GET /plan/job/{id}`` answer.

    Returns:
        The job.

    Raises:
        KeyError: A required field is missing.
        ValueError: A field has a value Resync cannot read.
    """
    stream = data["jobStreamInPlan"]
    status = data["status"]
    common = status.get("commonStatus") if is_object(status) else None
    estimate = data.get("estimatedDuration")
    # PlanJob is a plain dataclass (see its docstring): every field is converted or checked
    # here, where pydantic used to check it.
    return PlanJob(
        id=str(data["id"]),
        name=str(data["name"]),
        job_stream_id=str(stream["id"]),
        job_stream_name=str(stream["name"]),
        job_stream_workstation=_name(stream["workstationKey"]),
        workstation=_name(data.get("workstationKey") or stream["workstationKey"]),
        status=JobStatus(_status(status)),
        common_status=CommonStatus(common) if common else None,
        priority=int(data.get("priority", 10)),
        at_time=parse_time(data.get("atTime")),
        until_time=parse_time(data.get("untilTime")),
        deadline=parse_time(data.get("deadline")),
        started_at=parse_time(data.get("actualStart")),
        ended_at=parse_time(data.get("actualEnd")),
        return_code=_optional_int(data.get("returnCode")),
        run_id=_optional_str(data.get("runId")),
        job_number=_optional_int(data.get("jobNumber")),
        estimated_duration=timedelta(seconds=float(estimate)) if estimate is not None else None,
        late=bool(data.get("late", False)),
        rerun_count=int(data.get("rerunCount", 0)),
        predecessor_ids=_predecessor_ids(data.get("dependencies")),
    )


def parse_job_stream(data: Json) -> PlanJobStream:
    """Map one plan job stream from the engine's JSON.

    Args:
        data: One element of ``results`` or a ``GET /plan/jobstream/{id}`` answer.

    Returns:
        The job stream.

    Raises:
        KeyError: A required field is missing.
        ValueError: A field has a value Resync cannot read.
    """
    return PlanJobStream(
        id=str(data["id"]),
        name=str(data["name"]),
        workstation=_name(data["workstation"]),
        status=JobStreamStatus(_status(data["status"])),
        sched_time=parse_time(data.get("schedTime")),
        time_zone=data.get("timeZone"),
        deadline=parse_time(data.get("deadline")),
        until_time=parse_time(data.get("untilTime")),
        priority=int(data.get("priority", 10)),
        carried_forward=bool(data.get("carriedForward", False)),
        job_count=data.get("jobCount"),
    )


def parse_dependency(data: Json) -> Dependency:
    """Map one predecessor or successor.

    Args:
        data: One element of a ``predecessors``/``successors`` page.

    Returns:
        The dependency.

    Raises:
        KeyError: A required field is missing.
        ValueError: A field has a value Resync cannot read.
    """
    return Dependency(
        kind=str(data["kind"]),
        id=str(data["id"]),
        name=str(data["name"]),
        job_stream_name=data.get("jobStreamName"),
        workstation=data.get("workstationName"),
        status=_status(data["status"]),
        deadline=parse_time(data.get("deadline")),
        internal=bool(data.get("internal", False)),
    )


def parse_workstation(data: Json) -> Workstation:
    """Map one plan workstation.

    Args:
        data: One element of ``GET /plan/workstation`` results.

    Returns:
        The workstation.

    Raises:
        KeyError: A required field is missing.
    """
    return Workstation(
        id=str(data["id"]),
        name=str(data["name"]),
        type=str(data.get("type", "FTA")),
        linked=bool(data["linked"]),
        running=bool(data["running"]),
        limit=data.get("limit"),
        fence=data.get("fence"),
        os=data.get("os"),
        domain=data.get("domain"),
        status_text=data.get("statusText"),
    )


def parse_run(data: Json) -> JobRun:
    """Map one run from a job's history.

    Args:
        data: One element of ``GET /plan/job/{id}/history`` results.

    Returns:
        The run.

    Raises:
        KeyError: A required field is missing.
        ValueError: A field has a value Resync cannot read.
    """
    started = parse_time(data["actualStart"])
    if started is None:
        raise ValueError("a run without actualStart")
    return JobRun(
        run_id=str(data["runId"]),
        job_name=str(data["jobName"]),
        job_stream_name=str(data["jobStreamName"]),
        workstation=str(data["workstationName"]),
        status=JobStatus(_status(data["status"])),
        started_at=started,
        ended_at=parse_time(data.get("actualEnd")),
        return_code=data.get("returnCode"),
    )


def parse_engine_info(data: Json) -> EngineInfo:
    """Map ``GET /engine/info``.

    Args:
        data: The answer.

    Returns:
        The engine's version and plan window.

    Raises:
        KeyError: A required field is missing.
    """
    return EngineInfo(
        version=str(data["engineVersion"]),
        plan_start=parse_time(data.get("planStart")),
        plan_end=parse_time(data.get("planEnd")),
        time_zone=data.get("timeZone"),
    )
