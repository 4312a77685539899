"""How far a job stream is, what is left of it and what holds it back.

Shared by "status of STREAM" / "is payroll done?" and "why is STREAM late?".
"""

from __future__ import annotations

from datetime import datetime

from agents.answers.blocking import Blockage, find_blockage
from agents.answers.blocking_text import chains
from agents.answers.common import Answer, AnswerContext, as_of_line, jobs_phrase
from agents.formatting import format_clock
from agents.messages import Paragraph, Reply, Table, Tone
from agents.resolve import Resolution
from integrations.tws.models import ACTIVE_STATUSES, PlanJob, PlanJobStream

__all__ = [
    "ask_which_stream",
    "blocked_line",
    "left_line",
    "progress_line",
    "stream_blockage",
    "stream_jobs",
]

_LEFT_SHOWN = 8


async def stream_jobs(ctx: AnswerContext, stream: PlanJobStream) -> tuple[list[PlanJob], datetime]:
    """The jobs of one job stream instance (one engine call).

    Args:
        ctx: The answer context.
        stream: The job stream.

    Returns:
        Its jobs, and the engine time of the read.
    """
    snapshot = await ctx.scheduler.query_jobs(job_stream=stream.name)
    return [job for job in snapshot.value if job.job_stream_id == stream.id], snapshot.as_of


def progress_line(jobs: list[PlanJob]) -> str:
    """``3 of 8 jobs done, 1 failed, 1 running``.

    Args:
        jobs: The job stream's jobs.

    Returns:
        The line (without a final period).
    """
    done = sum(1 for job in jobs if job.finished and not job.failed)
    failed = sum(1 for job in jobs if job.failed)
    running = sum(1 for job in jobs if job.status in ACTIVE_STATUSES)
    text = f"{done} of {jobs_phrase(len(jobs))} done"
    if failed:
        text += f", {failed} failed"
    if running:
        text += f", {running} running"
    return text


def left_line(jobs: list[PlanJob]) -> str | None:
    """What is left to run: the unfinished jobs with their statuses, in the given order.

    Args:
        jobs: The job stream's jobs.

    Returns:
        ``Left: A (EXEC), B (HOLD), ...``, or None when every job has ended.
    """
    left = [job for job in jobs if not job.finished]
    if not left:
        return None
    shown = ", ".join(f"{job.name} ({job.status.value})" for job in left[:_LEFT_SHOWN])
    more = f" and {len(left) - _LEFT_SHOWN} more" if len(left) > _LEFT_SHOWN else ""
    return f"Left to run ({len(left)}): {shown}{more}."


async def stream_blockage(
    ctx: AnswerContext, jobs: list[PlanJob], *, now: datetime
) -> Blockage | None:
    """Walk upstream from a job stream's jobs that have not started.

    Args:
        ctx: The answer context.
        jobs: The job stream's jobs.
        now: The engine's now.

    Returns:
        What holds them, or None when no job waits (all ended, or only running ones left).
    """
    waiting = [job for job in jobs if not job.finished and job.status not in ACTIVE_STATUSES]
    if not waiting:
        return None
    return await find_blockage(ctx, waiting, now=now)


def blocked_line(stream: PlanJobStream, found: Blockage, *, limit: int = 3) -> str | None:
    """``What holds it: GL_CLOSE ← PAYROLL_DAILY ← PAYROLL_EXTRACT ABEND rc 12; ...``.

    Args:
        stream: The job stream.
        found: What the walk found.
        limit: At most this many chains.

    Returns:
        The line, or None when the walk found nothing.
    """
    shown = chains(found, stream.name, stream.name, limit=limit)
    if not shown:
        return None
    more = f" (and {len(found.causes) - limit} more)" if len(found.causes) > limit else ""
    return "What holds it: " + "; ".join(shown) + more + "."


def ask_which_stream(ctx: AnswerContext, resolution: Resolution) -> Answer:
    """Several job streams match (e.g. the business word "billing"): name them and ask.

    Args:
        ctx: The answer context.
        resolution: The resolution with several job streams.

    Returns:
        The answer that lists them and asks which one.
    """
    streams = resolution.streams
    word = resolution.by_word or resolution.asked
    rows = tuple(
        (
            stream.name,
            stream.status.value,
            format_clock(stream.deadline, zone=ctx.zone, today=resolution.as_of),
        )
        for stream in streams[:25]
    )
    names = ", ".join(stream.name for stream in streams[:8])
    return Answer(
        reply=Reply(
            headline=f"{word} matches {len(streams)} job streams: {names}. Which one?",
            tone=Tone.WARNING,
            blocks=(
                Table(columns=("Job stream", "Status", "Deadline"), rows=rows, total=len(streams)),
                Paragraph(text=f"Name it, e.g. 'status of {streams[0].name}'."),
                as_of_line(ctx, resolution.as_of),
            ),
        )
    )
