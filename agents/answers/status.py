"""Status of a job or job stream: exact, wildcard, a business word, or the closest name.

A job stream's status says how far it is (n of m done), what is left, and what holds it
back, walked upstream (`agents.answers.stream_progress`). A business word ("payroll")
means the job streams whose names hold it: one is answered, several are named and asked
about.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from agents.answers.blocking_text import blockage_blocks
from agents.answers.common import (
    Answer,
    AnswerContext,
    as_of_line,
    count_line,
    declare_actions,
    duration_text,
    jobs_phrase,
    jobs_table,
    not_found,
)
from agents.answers.stream_progress import (
    ask_which_stream,
    blocked_line,
    left_line,
    stream_blockage,
    stream_jobs,
)
from agents.formatting import format_clock, format_duration, format_status
from agents.intents import Intent
from agents.messages import Block, Fields, Paragraph, Reply, Table, Tone
from agents.resolve import Resolution, resolve
from integrations.tws.models import PlanJob, PlanJobStream

__all__ = ["answer_status", "job_fields", "tone_of"]


def tone_of(job: PlanJob) -> Tone:
    """Error for failures, warning for late, success for done, info otherwise."""
    if job.failed:
        return Tone.ERROR
    if job.late:
        return Tone.WARNING
    if job.finished:
        return Tone.SUCCESS
    return Tone.INFO


def _job_headline(job: PlanJob, *, ctx: AnswerContext, now: datetime) -> str:
    status = format_status(job)
    if job.started_at and job.ended_at:
        return (
            f"{job.name} is {status}: ended {format_clock(job.ended_at, zone=ctx.zone, today=now)}."
        )
    if job.started_at:
        return (
            f"{job.name} is {status}: running since "
            f"{format_clock(job.started_at, zone=ctx.zone, today=now)} ({duration_text(job, now)})."
        )
    return f"{job.name} is {status}: not started yet."


def job_fields(job: PlanJob, *, ctx: AnswerContext, now: datetime) -> Fields:
    """The facts of one job as label/value pairs.

    Args:
        job: The job.
        ctx: The answer context.
        now: The engine's now.

    Returns:
        The fields block.
    """
    items: list[tuple[str, str]] = [
        ("Job", job.qualified_name),
        ("Workstation", job.workstation),
        ("Status", format_status(job)),
        ("Started", format_clock(job.started_at, zone=ctx.zone, today=now)),
        ("Ended", format_clock(job.ended_at, zone=ctx.zone, today=now)),
        ("Duration", duration_text(job, now)),
    ]
    if job.return_code is not None:
        items.append(("Return code", str(job.return_code)))
    if job.estimated_duration is not None:
        items.append(("Typical duration", format_duration(job.estimated_duration)))
    if job.at_time is not None:
        items.append(("Not before", format_clock(job.at_time, zone=ctx.zone, today=now)))
    if job.deadline is not None:
        items.append(("Deadline", format_clock(job.deadline, zone=ctx.zone, today=now)))
    items.append(("Priority", str(job.priority)))
    if job.rerun_count:
        items.append(("Reruns", str(job.rerun_count)))
    return Fields(items=tuple(items))


def _stream_answer(
    streams: list[PlanJobStream], jobs: list[PlanJob], *, ctx: AnswerContext, now: datetime
) -> tuple[str, list[Block], Tone]:
    if len(streams) == 1:
        stream = streams[0]
        done = sum(1 for job in jobs if job.finished and not job.failed)
        failed = [job for job in jobs if job.failed]
        if jobs:
            headline = f"Job stream {stream.name} is {stream.status.value}: {done} of {jobs_phrase(len(jobs))} done"
            headline += f", {len(failed)} failed." if failed else "."
        else:
            headline = (
                f"Job stream {stream.name} is {stream.status.value}: "
                "it has no jobs in the current plan."
            )
        fields = Fields(
            items=(
                ("Job stream", stream.qualified_name),
                ("Status", stream.status.value),
                ("Scheduled", format_clock(stream.sched_time, zone=ctx.zone, today=now)),
                ("Deadline", format_clock(stream.deadline, zone=ctx.zone, today=now)),
                ("Jobs", count_line(Counter(job.status.value for job in jobs)) or "none"),
            )
        )
        if not jobs:
            return headline, [fields], Tone.WARNING
        tone = Tone.ERROR if failed else (Tone.SUCCESS if done == len(jobs) else Tone.INFO)
        return headline, [fields, jobs_table(_in_run_order(jobs), ctx=ctx, now=now)], tone
    rows = tuple(
        (
            stream.name,
            stream.workstation,
            stream.status.value,
            format_clock(stream.sched_time, zone=ctx.zone, today=now),
            format_clock(stream.deadline, zone=ctx.zone, today=now),
        )
        for stream in streams
    )
    counts = count_line(Counter(stream.status.value for stream in streams))
    table = Table(
        columns=("Job stream", "Workstation", "Status", "Scheduled", "Deadline"),
        rows=rows[:25],
        total=len(rows),
    )
    return f"{len(streams)} job streams match: {counts}.", [table], Tone.INFO


def _in_run_order(jobs: list[PlanJob]) -> list[PlanJob]:
    never = datetime.max.replace(tzinfo=None)
    return sorted(
        jobs,
        key=lambda job: (
            job.started_at.replace(tzinfo=None) if job.started_at else never,
            job.name,
        ),
    )


async def answer_status(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "status of X" for a job, a job stream, or a wildcard.

    Args:
        ctx: The answer context.
        intent: A STATUS intent with a subject.

    Returns:
        The answer; its focus is the job or job stream when exactly one matched.
    """
    assert intent.subject is not None
    resolution = await resolve(ctx.scheduler, intent.subject, index=ctx.names)
    if not resolution.found:
        return not_found(ctx, resolution)
    now = resolution.as_of or datetime.now().astimezone()
    blocks: list[Block] = []
    if resolution.corrected_from:
        blocks.append(Paragraph(text=_correction(resolution)))
    if len(resolution.jobs) == 1:
        job = resolution.jobs[0]
        blocks += [job_fields(job, ctx=ctx, now=now), as_of_line(ctx, resolution.as_of)]
        blocks += declare_actions(ctx, job)
        reply = Reply(
            headline=_job_headline(job, ctx=ctx, now=now), tone=tone_of(job), blocks=tuple(blocks)
        )
        return Answer(reply=reply, focus=f"{job.job_stream_name}.{job.name}")
    if resolution.jobs:
        jobs = _in_run_order(resolution.jobs)
        counts = count_line(Counter(job.status.value for job in jobs))
        blocks += [jobs_table(jobs, ctx=ctx, now=now), as_of_line(ctx, resolution.as_of)]
        tone = Tone.ERROR if any(job.failed for job in jobs) else Tone.INFO
        reply = Reply(
            headline=f"{jobs_phrase(len(jobs))} match {resolution.asked}: {counts}.",
            tone=tone,
            blocks=tuple(blocks),
        )
        # Several jobs: no single subject for a follow-up, which then asks which one.
        return Answer(reply=reply)
    if len(resolution.streams) > 1 and resolution.by_word:
        return ask_which_stream(ctx, resolution)
    members: list[PlanJob] = []
    if len(resolution.streams) == 1:
        members, now = await stream_jobs(ctx, resolution.streams[0])
    headline, more, tone = _stream_answer(resolution.streams, members, ctx=ctx, now=now)
    as_of = resolution.as_of if len(resolution.streams) > 1 else now
    if resolution.by_word and len(resolution.streams) == 1:
        blocks.append(
            Paragraph(
                text=(
                    f"{resolution.by_word} means job stream {resolution.streams[0].name}, the "
                    "only one with that word in its name."
                )
            )
        )
    if len(resolution.streams) == 1 and members:
        blocks.append(more.pop(0))  # the stream's fields first
        left = left_line(members)
        if left:
            blocks.append(Paragraph(text=left))
        found = await stream_blockage(ctx, members, now=now)
        if found is not None:
            line = blocked_line(resolution.streams[0], found)
            if line:
                blocks.append(Paragraph(text=line))
            blocks += blockage_blocks(found, None)
            as_of = found.as_of or as_of
    blocks += [*more, as_of_line(ctx, as_of)]
    focus = resolution.streams[0].name if len(resolution.streams) == 1 else None
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)), focus=focus)


def _correction(resolution: Resolution) -> str:
    return f"Nothing is named {resolution.corrected_from}; showing the closest name."
