"""What a shift handover holds: plain data, gathered by `agents.handover.collect`.

Each item carries what a person needs to drill in (`drill`): the chat question or command
that shows the details ("why PAYROLL_EXTRACT", "incident show INC-2026-0007").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "Approval",
    "Deadline",
    "Failure",
    "Handover",
    "IncidentLine",
    "Run",
    "WorkstationDown",
]


@dataclass(frozen=True, slots=True)
class Failure:
    """A job that failed tonight, and where it stands now.

    Attributes:
        name: The job.
        stream: Its job stream.
        workstation: Where it runs.
        status: Its status now (``ABEND (rc 12)``, ``SUCC``).
        state: In words: "still failed", "rerun succeeded", "rerun running", "failed again
            after 1 rerun".
        failed: True when it is failed now (ABEND, FAIL, ERROR).
        recovered: True when a rerun succeeded.
        ended_at: When its current run ended (None while running).
        drill: What to ask for more.
    """

    name: str
    stream: str
    workstation: str
    status: str
    state: str
    failed: bool
    recovered: bool
    ended_at: datetime | None
    drill: str


@dataclass(frozen=True, slots=True)
class Run:
    """A runbook run that finished during the shift, or is running now.

    Attributes:
        request_id: The request.
        runbook: The runbook id.
        target: What it acted on, as people read it.
        outcome: ``succeeded``, ``failed``, ``needs_person``, ``executing``...
        at: When it finished (or was requested, while it runs).
        requested_by: Who asked.
    """

    request_id: str
    runbook: str
    target: str
    outcome: str
    at: datetime | None
    requested_by: str


@dataclass(frozen=True, slots=True)
class IncidentLine:
    """An open incident."""

    id: str
    severity: str
    status: str
    title: str
    declared_at: datetime
    drill: str


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline missed, or at risk of being missed.

    Attributes:
        name: The job (or ``STREAM.JOB``).
        deadline: The deadline.
        expected_end: The expected end (at risk), or the actual end (missed and finished).
        note: Why, in words ("still running", "ended 02:14", "62 % chance").
        drill: What to ask for more.
    """

    name: str
    deadline: datetime | None
    expected_end: datetime | None
    note: str
    drill: str


@dataclass(frozen=True, slots=True)
class WorkstationDown:
    """A workstation jobs cannot run on."""

    name: str
    state: str
    drill: str


@dataclass(frozen=True, slots=True)
class Approval:
    """A runbook request still waiting for approvals."""

    request_id: str
    runbook: str
    target: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Handover:
    """The shift handover.

    Attributes:
        start: When the shift began (the display zone).
        as_of: The engine's clock when the plan was read (the shift's end so far).
        source: Where the plan came from.
        failures: Failed jobs and reruns, still failed first.
        runs: Runbook runs during the shift, latest first.
        incidents: Open incidents (None: incidents are not enabled).
        missed: Deadlines missed.
        at_risk: Deadlines at risk.
        risk_basis: Where the at-risk list comes from (the watcher, or the forecast).
        workstations_down: Workstations jobs cannot run on.
        approvals: Requests waiting for approvals (None: runbooks not enabled).
        gaps: What could not be read, in words (the rest is still shown).
    """

    start: datetime
    as_of: datetime
    source: str
    failures: tuple[Failure, ...]
    runs: tuple[Run, ...] | None
    incidents: tuple[IncidentLine, ...] | None
    missed: tuple[Deadline, ...]
    at_risk: tuple[Deadline, ...]
    risk_basis: str
    workstations_down: tuple[WorkstationDown, ...]
    approvals: tuple[Approval, ...] | None
    gaps: tuple[str, ...] = ()
