"""What changed in a window: "what changed since 22:00?", "anything new in the last hour?".

Read from one query of the plan: the jobs that failed, completed, started (still running)
and were rerun in the window, from their start and end times and status. The plan keeps no
time for holds and releases, so the answer says that and gives the jobs held now instead of
guessing when it happened. "22:00" is the last 22:00 in the display time zone before the
engine's now.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from agents.answers.common import Answer, AnswerContext, as_of_line, jobs_table
from agents.formatting import format_clock, format_duration, plural
from agents.intents import Intent
from agents.messages import Block, Paragraph, Reply, Tone
from integrations.tws.models import CommonStatus, JobStatus, PlanJob

__all__ = ["answer_changes", "window_start"]

_DEFAULT_MINUTES = 60


def window_start(arguments: dict[str, str], *, now: datetime, zone: ZoneInfo) -> datetime:
    """The start of the window a CHANGES question asks about.

    Args:
        arguments: ``since`` (``HH:MM`` in ``zone``) or ``minutes``.
        now: The engine's now (aware).
        zone: The display time zone.

    Returns:
        The window's start (aware): the last such clock time at or before ``now``, or
        ``now`` minus the minutes (an hour when neither is given).
    """
    since = arguments.get("since")
    if since:
        hour, minute = (int(part) for part in since.split(":", 1))
        local = now.astimezone(zone)
        start = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
        if start > local:
            start = datetime.combine(local.date() - timedelta(days=1), time(hour, minute), zone)
        return start
    minutes = int(arguments.get("minutes") or _DEFAULT_MINUTES)
    return now - timedelta(minutes=minutes)


def _within(moment: datetime | None, start: datetime) -> bool:
    return moment is not None and moment >= start


def _section(title: str, jobs: list[PlanJob], *, ctx: AnswerContext, now: datetime) -> list[Block]:
    if not jobs:
        return []
    ordered = sorted(jobs, key=lambda job: job.ended_at or job.started_at or now, reverse=True)
    return [Paragraph(text=f"{title} ({len(jobs)}):"), jobs_table(ordered, ctx=ctx, now=now)]


async def answer_changes(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "what changed since 22:00?" from the plan's start and end times.

    Args:
        ctx: The answer context.
        intent: A CHANGES intent (``since`` or ``minutes``).

    Returns:
        New failures, completions, reruns, starts, and the jobs held now.
    """
    plan = await ctx.scheduler.query_jobs()
    now = plan.as_of
    start = window_start(intent.arguments, now=now, zone=ctx.zone)
    jobs = plan.value
    failed = [job for job in jobs if job.failed and _within(job.ended_at, start)]
    completed = [
        job
        for job in jobs
        if job.status in (JobStatus.SUCC, JobStatus.SUCCP) and _within(job.ended_at, start)
    ]
    reruns = [job for job in jobs if job.rerun_count > 0 and _within(job.started_at, start)]
    started = [job for job in jobs if not job.finished and _within(job.started_at, start)]
    cancelled = [
        job for job in jobs if job.status is JobStatus.CANCL and _within(job.ended_at, start)
    ]
    held = [job for job in jobs if job.common_status == CommonStatus.HELD]
    window = (
        f"Since {format_clock(start, zone=ctx.zone, today=now)} "
        f"({format_duration(now - start)} ago)"
    )
    parts = [
        f"{plural(len(failed), 'job')} failed",
        f"{len(completed)} completed",
        f"{plural(len(reruns), 'rerun')}",
        f"{len(started)} started and still running",
    ]
    if cancelled:
        parts.append(f"{len(cancelled)} cancelled")
    headline = f"{window}: " + ", ".join(parts) + "."
    blocks: list[Block] = []
    blocks += _section("Failed", failed, ctx=ctx, now=now)
    blocks += _section("Rerun", reruns, ctx=ctx, now=now)
    blocks += _section("Completed", completed, ctx=ctx, now=now)
    blocks += _section("Started, still running", started, ctx=ctx, now=now)
    blocks += _section("Cancelled", cancelled, ctx=ctx, now=now)
    held_names = ", ".join(job.name for job in held[:8]) + (" ..." if len(held) > 8 else "")
    blocks.append(
        Paragraph(
            text="Holds and releases: the plan does not record when they happened; "
            + (
                f"held by an operator now: {plural(len(held), 'job')} ({held_names})."
                if held
                else "no job is held by an operator now."
            )
        )
    )
    blocks.append(as_of_line(ctx, now, "From the plan's start and end times"))
    tone = Tone.ERROR if failed else Tone.INFO
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)))
