"""Jobs by status: what failed, what is running, held, ready, waiting, done.

"Held" answers both numbers operators mean by it: the jobs an operator put on hold
(console status HELD), listed, and the jobs in HOLD because they wait for predecessors,
counted. A list on a workstation that matched nothing says whether the workstation exists.
"""

from __future__ import annotations

from collections import Counter

from agents.answers.common import (
    Answer,
    AnswerContext,
    as_of_line,
    count_line,
    jobs_phrase,
    jobs_table,
)
from agents.intents import (
    LIST_FILTER_COMMON_STATUS,
    LIST_FILTER_STATUSES,
    Intent,
    ListFilter,
)
from agents.messages import Block, Paragraph, Reply, Tone
from agents.resolve import parse_subject
from integrations.tws.models import CommonStatus, JobStatus, PlanJob
from integrations.tws.scheduler import Snapshot

__all__ = ["answer_list", "held_split", "missing_workstation", "query_group"]

# The verb after "N job(s)": (singular, plural).
_VERB: dict[ListFilter, tuple[str, str]] = {
    ListFilter.ABENDED: ("abended", "abended"),
    ListFilter.FAILED: ("failed", "failed"),
    ListFilter.RUNNING: ("is running", "are running"),
    ListFilter.HELD: ("is held", "are held"),
    ListFilter.WAITING: ("is waiting", "are waiting"),
    ListFilter.READY: ("is ready but not started", "are ready but not started"),
    ListFilter.SCHEDULED: ("waits for its start time", "wait for their start time"),
    ListFilter.SUCCEEDED: ("succeeded", "succeeded"),
    ListFilter.CANCELLED: ("was cancelled", "were cancelled"),
}
_NONE: dict[ListFilter, str] = {
    ListFilter.ABENDED: "No job has abended",
    ListFilter.FAILED: "No job has failed",
    ListFilter.RUNNING: "No job is running",
    ListFilter.HELD: "No job is held",
    ListFilter.WAITING: "No job is waiting",
    ListFilter.READY: "No job is ready but not started",
    ListFilter.SCHEDULED: "No job is waiting for its start time",
    ListFilter.SUCCEEDED: "No job has succeeded yet",
    ListFilter.CANCELLED: "No job was cancelled",
}


def _sort_key(job: PlanJob) -> tuple[float, str]:
    moment = job.ended_at or job.started_at or job.at_time
    # Most recent activity first: what an operator looks at first.
    return (-(moment.timestamp() if moment else 0.0), job.name)


def held_split(jobs: list[PlanJob]) -> tuple[list[PlanJob], list[PlanJob]]:
    """Jobs in HOLD: those an operator held (console HELD), and those waiting for predecessors.

    Args:
        jobs: Jobs whose internal status is HOLD.

    Returns:
        ``(held by an operator, waiting for predecessors)``.
    """
    held = [job for job in jobs if job.common_status == CommonStatus.HELD]
    waiting = [job for job in jobs if job.common_status != CommonStatus.HELD]
    return held, waiting


async def query_group(
    ctx: AnswerContext, intent: Intent, list_filter: ListFilter | None, subject: str | None
) -> Snapshot[list[PlanJob]]:
    """One engine query for a status group, narrowed by job stream (``subject``) and workstation.

    Args:
        ctx: The answer context.
        intent: The question (its workstation narrows).
        list_filter: The status group; None: every job.
        subject: A job stream (or ``STREAM.JOB``) that narrows, if any.

    Returns:
        The engine's answer, HELD not yet split.
    """
    statuses: tuple[JobStatus, ...] | None = None
    if list_filter is not None:
        statuses = LIST_FILTER_STATUSES[list_filter]
    name: str | None = None
    stream: str | None = None
    if subject:
        parts = parse_subject(subject)
        # "what failed in PAYROLL_DAILY": a bare name narrows by job stream.
        stream, name = (parts.job_stream, parts.name) if parts.job_stream else (parts.name, None)
    return await ctx.scheduler.query_jobs(
        name=name, job_stream=stream, workstation=intent.workstation, statuses=statuses
    )


async def missing_workstation(ctx: AnswerContext, name: str) -> Answer | None:
    """The answer when ``name`` is no workstation of the plan; None when it is one.

    Args:
        ctx: The answer context.
        name: The workstation asked about.

    Returns:
        "No workstation named X" with the ones there are, or None.
    """
    snapshot = await ctx.scheduler.workstations()
    names = sorted(ws.name for ws in snapshot.value)
    if name in names:
        return None
    blocks: list[Block] = [Paragraph(text=f"Workstations: {', '.join(names)}.")]
    blocks.append(
        Paragraph(text=f"If {name} is a job, ask 'what depends on {name}?' or 'status {name}'.")
    )
    blocks.append(as_of_line(ctx, snapshot.as_of))
    return Answer(
        reply=Reply(
            headline=f"No workstation named {name} in the current plan.",
            tone=Tone.WARNING,
            blocks=tuple(blocks),
        )
    )


async def answer_list(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "what failed tonight?" and the other status groups.

    Args:
        ctx: The answer context.
        intent: A LIST intent with a filter (LATE/AT_RISK go to the lateness answer).

    Returns:
        The answer (no new focus unless exactly one job matched).
    """
    list_filter = intent.list_filter or ListFilter.FAILED
    snapshot = await query_group(ctx, intent, list_filter, intent.subject)
    found = snapshot.value
    also: list[Block] = []
    if list_filter is ListFilter.HELD:
        found, waiting = held_split(found)
        if waiting:
            also.append(
                Paragraph(
                    text=f"Besides, {jobs_phrase(len(waiting))} in HOLD "
                    f"{'waits' if len(waiting) == 1 else 'wait'} for predecessors "
                    "(not held by anyone): ask 'what is waiting?'."
                )
            )
    elif (common := LIST_FILTER_COMMON_STATUS.get(list_filter)) is not None:
        found = [job for job in found if job.common_status == common]
    jobs = sorted(found, key=_sort_key)
    now = snapshot.as_of
    scope = _scope(intent)
    if not jobs:
        if intent.workstation and not snapshot.value:
            missing = await missing_workstation(ctx, intent.workstation)
            if missing is not None:
                return missing
        reply = Reply(
            headline=f"{_NONE[list_filter]}{scope} in the current plan.",
            tone=Tone.SUCCESS
            if list_filter in (ListFilter.FAILED, ListFilter.ABENDED)
            else Tone.INFO,
            blocks=(*also, as_of_line(ctx, snapshot.as_of)),
        )
        return Answer(reply=reply)
    counts = Counter(job.status.value for job in jobs)
    singular, plural = _VERB[list_filter]
    verb = singular if len(jobs) == 1 else plural
    headline = f"{jobs_phrase(len(jobs))} {verb}{scope} in the current plan"
    headline += f" ({count_line(counts)})." if len(counts) > 1 else "."
    table = jobs_table(jobs, ctx=ctx, now=now)
    blocks: list[Block] = [*also, table]
    if len(jobs) > len(table.rows):
        blocks.append(Paragraph(text=_narrowing_hint(list_filter)))
    blocks.append(as_of_line(ctx, snapshot.as_of))
    tone = Tone.ERROR if list_filter in (ListFilter.FAILED, ListFilter.ABENDED) else Tone.INFO
    focus = f"{jobs[0].job_stream_name}.{jobs[0].name}" if len(jobs) == 1 else None
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)), focus=focus)


def _scope(intent: Intent) -> str:
    parts = []
    if intent.subject:
        parts.append(f" in {intent.subject}")
    if intent.workstation:
        parts.append(f" on {intent.workstation}")
    return "".join(parts)


def _narrowing_hint(list_filter: ListFilter) -> str:
    return (
        f"Narrow it down: '{list_filter.value} jobs on AGT_LNX01' (a workstation) or "
        f"'{list_filter.value} in PAYROLL_DAILY' (a job stream)."
    )
