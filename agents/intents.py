"""What a person asked for, once understood: the `Intent` every answer starts from.

The deterministic parser (`agents.understand`) and, when configured, the LLM both produce
an `Intent`; the graph routes on `Intent.kind`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from integrations.tws.models import CommonStatus, JobStatus

__all__ = [
    "LIST_FILTER_COMMON_STATUS",
    "LIST_FILTER_STATUSES",
    "NEEDS_SUBJECT",
    "IncidentOp",
    "Intent",
    "IntentKind",
    "ListFilter",
]


class IntentKind(StrEnum):
    """The question kinds Resync answers."""

    HELP = "help"
    STATUS = "status"  # status of a job or job stream (exact, wildcard, fuzzy)
    LIST = "list"  # jobs by status: failed, running, held, waiting, late, at risk
    WHY = "why"  # why did JOB fail
    LATE = "late"  # what is late or at risk
    SUCCESSORS = "successors"  # what depends on JOB
    PREDECESSORS = "predecessors"  # what JOB waits for
    WORKSTATIONS = "workstations"  # workstation status
    RUNBOOK = "runbook"  # a request to change the plan, through an approved runbook
    INCIDENT = "incident"  # declare, show, list or change an incident
    COUNT = "count"  # how many jobs (in the plan, on a workstation, in a status group)
    CHANGES = "changes"  # what changed in a time window; arguments: since (HH:MM) or minutes
    ETA = "eta"  # when JOB (or job stream) will finish, with the basis of the estimate
    KNOWLEDGE = "knowledge"  # what a code means, how to fix a symptom; arguments: query
    SMALLTALK = "smalltalk"  # hello, thanks, bye; arguments: say
    UNKNOWN = "unknown"  # arguments: understood (what was recognised), when anything was


# Kinds that cannot be answered without naming a job (or taking it from the conversation).
NEEDS_SUBJECT = frozenset(
    {
        IntentKind.STATUS,
        IntentKind.WHY,
        IntentKind.SUCCESSORS,
        IntentKind.PREDECESSORS,
        IntentKind.ETA,
    }
)


class IncidentOp(StrEnum):
    """What an INCIDENT intent asks for (``incident <op> ...``)."""

    DECLARE = "declare"  # arguments: severity?, title?; subject: the job to link
    LIST = "list"  # the open incidents
    SHOW = "show"  # one incident, with its recent timeline
    STATS = "stats"  # counts, TTA and TTR per severity; arguments: days?
    NOTE = "note"  # arguments: text
    UPDATE = "update"  # a status update; arguments: text
    ROLE = "role"  # arguments: role (lead, comms, scribe), person (as typed)
    SEVERITY = "severity"  # arguments: severity
    ESCALATE = "escalate"  # arguments: severity?
    STATUS = "status"  # arguments: status
    RESOLVE = "resolve"  # arguments: text (the summary)
    CLOSE = "close"
    LINK = "link"  # subject: the job or job stream
    FOLLOW_UP = "follow-up"  # arguments: text
    USAGE = "usage"  # not readable; arguments: problem


class ListFilter(StrEnum):
    """The named groups of job status people ask about."""

    ABENDED = "abended"
    FAILED = "failed"
    RUNNING = "running"
    HELD = "held"
    WAITING = "waiting"
    READY = "ready"  # dependencies met, not started (e.g. its workstation is down)
    SCHEDULED = "scheduled"  # its at-time has not come yet
    LATE = "late"
    AT_RISK = "at risk"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"


# The engine statuses behind each group; LATE and AT_RISK are computed, not statuses.
# Internal status HOLD means "waiting for its dependencies"; a job an operator put on hold
# is HOLD too, and only the console (common) status HELD tells the two apart. So HELD
# queries HOLD and keeps the jobs whose common status is HELD (`LIST_FILTER_COMMON_STATUS`).
LIST_FILTER_STATUSES: dict[ListFilter, tuple[JobStatus, ...]] = {
    ListFilter.ABENDED: (JobStatus.ABEND, JobStatus.ABENP),
    ListFilter.FAILED: (JobStatus.ABEND, JobStatus.ABENP, JobStatus.FAIL, JobStatus.ERROR),
    ListFilter.RUNNING: (JobStatus.EXEC, JobStatus.INTRO, JobStatus.WAIT),
    ListFilter.HELD: (JobStatus.HOLD,),
    ListFilter.WAITING: (
        JobStatus.HOLD,
        JobStatus.READY,
        JobStatus.SCHED,
        JobStatus.FENCE,
        JobStatus.ADD,
        JobStatus.PEND,
    ),
    ListFilter.READY: (JobStatus.READY,),
    ListFilter.SCHEDULED: (JobStatus.SCHED,),
    ListFilter.SUCCEEDED: (JobStatus.SUCC, JobStatus.SUCCP),
    ListFilter.CANCELLED: (JobStatus.CANCL,),
}

# Groups narrowed further by the console status after the status query.
LIST_FILTER_COMMON_STATUS: dict[ListFilter, CommonStatus] = {
    ListFilter.HELD: CommonStatus.HELD,
}


class Intent(BaseModel):
    """A parsed request.

    Attributes:
        kind: What is asked.
        subject: The job, job stream or workstation named (upper case, may hold ``*``);
            None when the question names none.
        more_subjects: Further names of the same kind ("what failed in A and B"): the
            question is answered for the subject and for each of these.
        list_filter: For LIST: which group of jobs.
        workstation: A workstation the question narrows to, if any.
        more_workstations: Further workstations ("what failed on A and B"): the question
            is answered for each.
        follow_up: True when the subject came from the conversation, not the text.
        runbook: For RUNBOOK: the runbook id.
        arguments: For RUNBOOK: its parameters as typed (``job`` may be a bare job name).
            For INCIDENT: the operation's values as typed (see `IncidentOp`), and ``id``
            when an incident id was given. For CHANGES: ``since`` or ``minutes``; for
            KNOWLEDGE: ``query``; for SMALLTALK: ``say``; for UNKNOWN: ``understood``.
        operation: For INCIDENT: what is asked.
    """

    model_config = ConfigDict(frozen=True)

    kind: IntentKind
    subject: str | None = None
    more_subjects: tuple[str, ...] = ()
    more_workstations: tuple[str, ...] = ()
    list_filter: ListFilter | None = None
    workstation: str | None = None
    follow_up: bool = False
    runbook: str | None = None
    arguments: dict[str, str] = {}
    operation: IncidentOp | None = None
