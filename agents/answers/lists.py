"""Jobs by status: what failed, what is running, held, waiting, done."""

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
from integrations.tws.models import PlanJob

__all__ = ["answer_list"]

# The verb after "N job(s)": (singular, plural).
_VERB: dict[ListFilter, tuple[str, str]] = {
    ListFilter.ABENDED: ("abended", "abended"),
    ListFilter.FAILED: ("failed", "failed"),
    ListFilter.RUNNING: ("is running", "are running"),
    ListFilter.HELD: ("is held", "are held"),
    ListFilter.WAITING: ("is waiting", "are waiting"),
    ListFilter.SUCCEEDED: ("succeeded", "succeeded"),
    ListFilter.CANCELLED: ("was cancelled", "were cancelled"),
}
_NONE: dict[ListFilter, str] = {
    ListFilter.ABENDED: "No job has abended",
    ListFilter.FAILED: "No job has failed",
    ListFilter.RUNNING: "No job is running",
    ListFilter.HELD: "No job is held",
    ListFilter.WAITING: "No job is waiting",
    ListFilter.SUCCEEDED: "No job has succeeded yet",
    ListFilter.CANCELLED: "No job was cancelled",
}


def _sort_key(job: PlanJob) -> tuple[float, str]:
    moment = job.ended_at or job.started_at or job.at_time
    # Most recent activity first: what an operator looks at first.
    return (-(moment.timestamp() if moment else 0.0), job.name)


async def answer_list(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "what failed tonight?" and the other status groups.

    Args:
        ctx: The answer context.
        intent: A LIST intent with a filter (LATE/AT_RISK go to the lateness answer).

    Returns:
        The answer (no new focus unless exactly one job matched).
    """
    list_filter = intent.list_filter or ListFilter.FAILED
    statuses = LIST_FILTER_STATUSES[list_filter]
    name: str | None = None
    stream: str | None = None
    if intent.subject:
        parts = parse_subject(intent.subject)
        # "what failed in PAYROLL_DAILY": a bare name narrows by job stream.
        stream, name = (parts.job_stream, parts.name) if parts.job_stream else (parts.name, None)
    snapshot = await ctx.scheduler.query_jobs(
        name=name, job_stream=stream, workstation=intent.workstation, statuses=statuses
    )
    found = snapshot.value
    common = LIST_FILTER_COMMON_STATUS.get(list_filter)
    if common is not None:
        found = [job for job in found if job.common_status == common]
    jobs = sorted(found, key=_sort_key)
    now = snapshot.as_of
    scope = _scope(intent)
    if not jobs:
        reply = Reply(
            headline=f"{_NONE[list_filter]}{scope} in the current plan.",
            tone=Tone.SUCCESS
            if list_filter in (ListFilter.FAILED, ListFilter.ABENDED)
            else Tone.INFO,
            blocks=(as_of_line(ctx, snapshot.as_of),),
        )
        return Answer(reply=reply)
    counts = Counter(job.status.value for job in jobs)
    singular, plural = _VERB[list_filter]
    verb = singular if len(jobs) == 1 else plural
    headline = f"{jobs_phrase(len(jobs))} {verb}{scope} in the current plan"
    headline += f" ({count_line(counts)})." if len(counts) > 1 else "."
    blocks: list[Block] = [jobs_table(jobs, ctx=ctx, now=now)]
    if len(jobs) > len(blocks[0].rows):  # type: ignore[union-attr]
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
