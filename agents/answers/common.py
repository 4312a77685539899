"""What every answer shares: its context, its result type, and the small print."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agents.forecast import EdgeCache
from agents.formatting import format_clock, format_duration, format_status, plural
from agents.knowledge_memory import KnowledgeDesk
from agents.messages import (
    Actions,
    Actor,
    Block,
    Button,
    Context,
    Paragraph,
    Platform,
    Reply,
    Table,
    Tone,
)
from agents.resolve import NameIndex, Resolution
from integrations.tws.models import PlanJob
from integrations.tws.scheduler import Scheduler

if TYPE_CHECKING:
    from agents.answers.runbook import RunbookRequester
    from agents.incidents.service import IncidentService

__all__ = [
    "DECLARE_ACTION_ID",
    "MAX_ROWS",
    "Answer",
    "AnswerContext",
    "PersonLookup",
    "as_of_line",
    "count_line",
    "declare_actions",
    "duration_text",
    "job_rows",
    "jobs_phrase",
    "jobs_table",
    "merge_answers",
    "not_found",
    "start_text",
]

MAX_ROWS = 25
JOB_COLUMNS = ("Job", "Job stream", "Workstation", "Status", "Start", "End")
DECLARE_ACTION_ID = "incident.declare"
"""The "Declare incident" button on failure answers; its value is the job's qualified name."""

PersonLookup = Callable[[Platform, str], Awaitable[Actor | None]]
"""Who a platform user id is (Slack ``U…`` of a mention), as an `Actor`; None: unknown."""


@dataclass(slots=True)
class AnswerContext:
    """What an answer may use: the plan, the name cache, the display zone, the services.

    Attributes:
        scheduler: The engine.
        names: The name cache for "did you mean".
        zone: The time zone answers show times in.
        edges: The dependency cache shared by forecasts.
        runbooks: Where requests to change the plan go; None: not enabled.
        incidents: The incident service; None: incidents are not enabled.
        people: Resolves mentioned users for incident roles; None: only people who took
            part in the incident (or the person asking) can be named.
        knowledge: The knowledge base (documents, past incidents) for knowledge questions
            and "this happened before" in why answers; None: the shipped corpus only.
    """

    scheduler: Scheduler
    names: NameIndex
    zone: ZoneInfo
    edges: EdgeCache = field(default_factory=EdgeCache)
    runbooks: RunbookRequester | None = None
    incidents: IncidentService | None = None
    people: PersonLookup | None = None
    knowledge: KnowledgeDesk | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply and the subject the conversation is now about (for follow-ups).

    Attributes:
        reply: What to say.
        focus: The job or job stream the answer is about, for the next "and its ...?"; None
            when it is not about exactly one (see `agents.graph` for when that clears the
            conversation's focus and when it keeps it).
    """

    reply: Reply
    focus: str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)


def as_of_line(ctx: AnswerContext, as_of: datetime | None, *extra: str) -> Context:
    """The small print: when the data was true and where it came from.

    Args:
        ctx: The answer context.
        as_of: The engine time of the data.
        *extra: More sources (e.g. the knowledge file that explained a code).

    Returns:
        A context block.
    """
    items = [f"As of {format_clock(as_of, zone=ctx.zone)}", f"Source: {ctx.scheduler.source}"]
    items.extend(extra)
    return Context(items=tuple(items))


def declare_actions(ctx: AnswerContext, job: PlanJob) -> list[Actions]:
    """The "Declare incident" button for a failed job, when incidents are enabled.

    The bot handles the click (``incident.declare``, value = the job's qualified name) with
    `agents.answers.incident_declare.declare_from_button`.

    Args:
        ctx: The answer context.
        job: The job the answer is about.

    Returns:
        One actions block, or none (job not failed, incidents not enabled).
    """
    if ctx.incidents is None or not job.failed:
        return []
    button = Button(action_id=DECLARE_ACTION_ID, label="Declare incident", value=job.qualified_name)
    return [Actions(buttons=(button,))]


def job_rows(
    jobs: list[PlanJob], *, ctx: AnswerContext, now: datetime | None
) -> list[tuple[str, ...]]:
    """Table rows for jobs, in the order given.

    Args:
        jobs: The jobs.
        ctx: The answer context.
        now: Reference time for "today" in clock formatting.

    Returns:
        One row per job, matching `JOB_COLUMNS`.
    """
    return [
        (
            job.name,
            job.job_stream_name,
            job.workstation,
            format_status(job),
            start_text(job, ctx=ctx, now=now),
            format_clock(job.ended_at, zone=ctx.zone, today=now),
        )
        for job in jobs
    ]


def start_text(job: PlanJob, *, ctx: AnswerContext, now: datetime | None) -> str:
    """The Start column: the actual start, else the earliest allowed one, marked as such.

    A job that has not started shows ``not before 21:00 UTC`` (its at-time), never a bare
    time that would read as an actual start; ``-`` when it has neither.

    Args:
        job: The job.
        ctx: The answer context.
        now: Reference time for "today" in clock formatting.

    Returns:
        The cell text.
    """
    if job.started_at is not None:
        return format_clock(job.started_at, zone=ctx.zone, today=now)
    if job.at_time is not None:
        return "not before " + format_clock(job.at_time, zone=ctx.zone, today=now)
    return "-"


def jobs_table(jobs: list[PlanJob], *, ctx: AnswerContext, now: datetime | None) -> Table:
    """A table of at most `MAX_ROWS` jobs that says how many there are in all.

    Args:
        jobs: The jobs, already sorted.
        ctx: The answer context.
        now: Reference time for clock formatting.

    Returns:
        The table.
    """
    rows = job_rows(jobs[:MAX_ROWS], ctx=ctx, now=now)
    return Table(columns=JOB_COLUMNS, rows=tuple(rows), total=len(jobs))


def not_found(ctx: AnswerContext, resolution: Resolution) -> Answer:
    """The answer when a name matched nothing: say so, and offer close names.

    Args:
        ctx: The answer context.
        resolution: The failed resolution.

    Returns:
        The answer.
    """
    blocks: list[Paragraph | Context] = []
    if resolution.elsewhere:
        shown = ", ".join(resolution.elsewhere[:8])
        more = f" and {len(resolution.elsewhere) - 8} more" if len(resolution.elsewhere) > 8 else ""
        blocks.append(Paragraph(text=f"In the current plan there is: {shown}{more}."))
        blocks.append(as_of_line(ctx, resolution.as_of))
        parts = resolution.asked.split("#", 1)
        return Answer(
            reply=Reply(
                headline=(
                    f"No job or job stream named {parts[-1]} on workstation "
                    f"{resolution.workstation} in the current plan."
                ),
                tone=Tone.WARNING,
                blocks=tuple(blocks),
            )
        )
    if resolution.unreturned:
        # What was looked for, that TWS did not return it, and what to try.
        name = resolution.unreturned
        blocks.append(
            Paragraph(
                text=(
                    f"The closest name I know is {name}, but TWS did not return it when I looked "
                    f"it up: it may have left the plan since I read the names. Try a wildcard "
                    f"such as {name[:3]}*, or ask again in a minute."
                )
            )
        )
    if resolution.suggestions:
        ask = "Other close names: " if resolution.unreturned else "Did you mean: "
        blocks.append(Paragraph(text=ask + ", ".join(resolution.suggestions) + "?"))
    elif not resolution.unreturned:
        blocks.append(
            Paragraph(
                text=f"Check the spelling, or use a wildcard such as {resolution.asked[:3]}*."
            )
        )
    blocks.append(as_of_line(ctx, resolution.as_of))
    return Answer(
        reply=Reply(
            headline=f"No job or job stream named {resolution.asked} in the current plan.",
            tone=Tone.WARNING,
            blocks=tuple(blocks),
        )
    )


def duration_text(job: PlanJob, now: datetime) -> str:
    """How long a job ran, or has been running.

    Args:
        job: The job.
        now: The engine's now.

    Returns:
        The duration text, or ``-`` when it has not started.
    """
    if job.started_at is None:
        return "-"
    return format_duration((job.ended_at or now) - job.started_at)


def count_line(counts: dict[str, int]) -> str:
    """``3 ABEND, 1 FAIL``, largest first.

    Args:
        counts: Status to count.

    Returns:
        The line.
    """
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {status}" for status, count in ordered)


_TONE_ORDER = (Tone.ERROR, Tone.WARNING, Tone.INFO, Tone.SUCCESS)


def merge_answers(answers: list[Answer]) -> Answer:
    """One answer for a question about several names ("what failed in A and B?").

    The headlines are joined in order; each answer's details follow under its own
    headline; the tone is the most serious one. The focus is cleared: "it" no longer
    means one thing.

    Args:
        answers: One answer per name, in the order asked (at least one).

    Returns:
        The merged answer.
    """
    if len(answers) == 1:
        return answers[0]
    blocks: list[Block] = []
    for answer in answers:
        blocks.append(Paragraph(text=answer.reply.headline))
        blocks.extend(answer.reply.blocks)
    tones = {answer.reply.tone for answer in answers}
    tone = next((tone for tone in _TONE_ORDER if tone in tones), Tone.INFO)
    headline = " ".join(answer.reply.headline for answer in answers)
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)))


def jobs_phrase(count: int) -> str:
    """``1 job`` or ``N jobs``."""
    return plural(count, "job")
