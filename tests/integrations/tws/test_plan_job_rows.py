"""Plan job rows into `PlanJob`: the same values and errors as before, and no cyclic garbage.

`PlanJob` is a slotted dataclass (a big plan holds tens of thousands at once), so
`integrations.tws.wire.parse_job` checks what pydantic used to check. A row must leave
nothing behind for the cyclic garbage collector: over a 50,000-job plan that garbage is
what made collections, and answer time, grow faster than the plan (issue 16).
"""

from __future__ import annotations

import copy
import dataclasses
import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.tws import wire
from integrations.tws.decoding import parse_row, parse_rows
from integrations.tws.errors import TWSProtocolError
from integrations.tws.models import CommonStatus, JobStatus, PlanJob

CALL = "GET /twsd/api/v2/plan/job"


def row(**changes: Any) -> dict[str, Any]:
    """One plan job as the engine sends it, with a JOIN among its dependencies."""
    data: dict[str, Any] = {
        "id": "j-1",
        "name": "PAYROLL_CALC",
        "jobStreamInPlan": {
            "id": "s-1",
            "name": "PAYROLL_DAILY",
            "startTime": "2026-11-23T21:00:00Z",
            "workstationKey": {"name": "MASTER"},
        },
        "workstationKey": {"name": "AGT_LNX01"},
        "status": {"internalStatus": "HOLD", "commonStatus": "WAITING"},
        "priority": 10,
        "atTime": "2026-11-23T21:00:00Z",
        "deadline": "2026-11-24T02:00:00",
        "returnCode": None,
        "runId": None,
        "jobNumber": None,
        "estimatedDuration": 420,
        "rerunCount": 1,
        "dependencies": [
            {"dependencyType": "INTERNAL_JOB", "jobId": "j-0", "jobName": "PAYROLL_EXTRACT"},
            {
                "dependencyType": "JOIN",
                "members": [
                    {"dependencyType": "EXTERNAL_JOB", "jobId": "j-9"},
                    {"dependencyType": "EXTERNAL_JOBSTREAM", "jobStreamId": "s-7"},
                    {"dependencyType": "INTERNAL_JOB", "jobId": "j-0"},
                ],
            },
        ],
    }
    data.update(changes)
    return data


def test_a_row_gives_every_field() -> None:
    job = wire.parse_job(row())
    assert job == PlanJob(
        id="j-1",
        name="PAYROLL_CALC",
        job_stream_id="s-1",
        job_stream_name="PAYROLL_DAILY",
        job_stream_workstation="MASTER",
        workstation="AGT_LNX01",
        status=JobStatus.HOLD,
        common_status=CommonStatus.WAITING,
        at_time=datetime(2026, 11, 23, 21, 0, tzinfo=UTC),
        deadline=datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
        estimated_duration=timedelta(seconds=420),
        rerun_count=1,
        predecessor_ids=("j-0", "j-9"),
    )
    assert job.qualified_name == "MASTER#PAYROLL_DAILY.PAYROLL_CALC"
    assert not job.finished
    assert not job.failed


@pytest.mark.parametrize(
    ("sent", "read"),
    [(12, 12), ("12", 12), (" 12 ", 12), ("+12", 12), ("12.0", 12), (12.0, 12), (None, None)],
)
def test_integers_are_read_as_pydantic_read_them(sent: object, read: int | None) -> None:
    job = wire.parse_job(row(returnCode=sent, jobNumber=sent, status="ABEND"))
    assert (job.return_code, job.job_number) == (read, read)


@pytest.mark.parametrize(
    "changes",
    [
        {"returnCode": "twelve"},
        {"returnCode": 12.5},
        {"returnCode": "12.5"},
        {"returnCode": "1e3"},
        {"returnCode": "\u0661\u0662"},  # Arabic-Indic digits: not how an engine writes 12
        {"jobNumber": [31337]},
        {"runId": 12},
        {"dependencies": {"jobId": "x"}},
        {"dependencies": ["j-0"]},
        {"status": {"internalStatus": "SLEEPING"}},
    ],
)
def test_an_unreadable_value_is_a_protocol_error(changes: dict[str, Any]) -> None:
    with pytest.raises(TWSProtocolError, match="unreadable job"):
        parse_row(row(**changes), wire.parse_job, call=CALL)


def test_a_job_is_immutable_hashable_and_copyable() -> None:
    first, second = wire.parse_job(row()), wire.parse_job(row())
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "OTHER"  # type: ignore[misc]
    assert copy.deepcopy(first) == first


def test_parsing_a_page_leaves_no_cyclic_garbage() -> None:
    rows = [row(id=f"j-{n}") for n in range(500)]
    gc.collect()
    gc.disable()  # nothing may free a cycle behind the test's back
    try:
        jobs = parse_rows(rows, wire.parse_job, call=CALL)
        # Reference counting freed everything the parse made that is not in `jobs`.
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert len(jobs) == 500
