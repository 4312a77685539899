"""What a job waits for (predecessors) and what waits for it (successors, deadlines at risk).

"What does X wait for?" lists a job's direct predecessors and, for a job that has not run,
walks upstream to the causes further up (`agents.answers.blocking`): a waiting predecessor
is rarely the answer, the failed job three levels up is. A job stream is answered by what
holds the job stream (`agents.answers.stream_why`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from agents.answers.blocking import Blockage, Cause, CauseKind, find_blockage
from agents.answers.blocking_text import blockage_blocks, chain_text, release_note, unreleased
from agents.answers.common import MAX_ROWS, Answer, AnswerContext, as_of_line, not_found
from agents.answers.stream_why import answer_stream_why, ask_which_stream
from agents.forecast import FORECAST_STATUSES, Forecaster, JobForecast, read_forecast_plan
from agents.formatting import format_clock, format_status, plural
from agents.intents import Intent
from agents.messages import Block, Paragraph, Reply, Table, Tone
from agents.resolve import Resolution, resolve
from integrations.tws.models import ACTIVE_STATUSES, Dependency, PlanJob
from integrations.tws.scheduler import Scheduler

__all__ = ["answer_predecessors", "answer_successors", "further_successors", "pick_one"]

# The downstream walk stops after this many jobs (then the answer says "at least").
_MAX_TRANSITIVE = 1000
_READ_CONCURRENCY = 8
DEP_COLUMNS = ("Name", "Job stream", "Workstation", "Status", "Deadline")
_FORECASTABLE = frozenset(status.value for status in FORECAST_STATUSES)


def pick_one(
    ctx: AnswerContext, resolution: Resolution, *, prefer_failed: bool = False
) -> PlanJob | Answer:
    """One job from a resolution, or an answer that asks which one.

    Args:
        ctx: The answer context.
        resolution: What the name matched.
        prefer_failed: When several match and exactly one failed, take it (for "why").

    Returns:
        The job, or an answer explaining what to type instead.
    """
    if not resolution.jobs:
        if resolution.streams:
            names = ", ".join(stream.name for stream in resolution.streams[:5])
            return Answer(
                reply=Reply(
                    headline=f"{resolution.asked} is a job stream; this question needs a job.",
                    tone=Tone.WARNING,
                    blocks=(
                        Paragraph(
                            text=f"Ask about one of its jobs, e.g. 'status {names}' lists them."
                        ),
                        as_of_line(ctx, resolution.as_of),
                    ),
                )
            )
        return not_found(ctx, resolution)
    if len(resolution.jobs) == 1:
        return resolution.jobs[0]
    if prefer_failed:
        failed = [job for job in resolution.jobs if job.failed]
        if len(failed) == 1:
            return failed[0]
    choices = ", ".join(f"{job.job_stream_name}.{job.name}" for job in resolution.jobs[:8])
    return Answer(
        reply=Reply(
            headline=f"{resolution.asked} matches {plural(len(resolution.jobs), 'job')}; which one?",
            tone=Tone.WARNING,
            blocks=(
                Paragraph(text=f"Name it with its job stream: {choices}."),
                as_of_line(ctx, resolution.as_of),
            ),
        )
    )


def _dep_rows(
    deps: list[Dependency], ctx: AnswerContext, now: datetime
) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            dep.name if dep.kind == "job" else f"{dep.name} (job stream)",
            dep.job_stream_name or "-",
            dep.workstation or "-",
            dep.status,
            format_clock(dep.deadline, zone=ctx.zone, today=now),
        )
        for dep in deps[:MAX_ROWS]
    )


async def answer_predecessors(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "what does JOB wait for?" (or a job stream).

    Args:
        ctx: The answer context.
        intent: A PREDECESSORS intent with a subject.

    Returns:
        The predecessors, which of them are not done, and for a job that has not run the
        causes further up; for a job stream, what holds it.
    """
    assert intent.subject is not None
    resolution = await resolve(ctx.scheduler, intent.subject, index=ctx.names)
    if not resolution.jobs and resolution.streams:
        if len(resolution.streams) > 1:
            return ask_which_stream(ctx, resolution)
        now = resolution.as_of or datetime.now().astimezone()
        return await answer_stream_why(ctx, resolution.streams[0], now=now, waiting=True)
    picked = pick_one(ctx, resolution)
    if isinstance(picked, Answer):
        return picked
    job = picked
    deps = await ctx.scheduler.job_predecessors(job.id)
    focus = f"{job.job_stream_name}.{job.name}"
    found: Blockage | None = None
    if not job.finished and job.status not in ACTIVE_STATUSES:
        found = await find_blockage(ctx, [job], now=deps.as_of)
    roots = _root_chains(job, found)
    as_of = (found.as_of if found else None) or deps.as_of
    sources = ("plan dependencies",) if found else ()
    if not deps.value:
        headline = f"{job.name} has no predecessors"
        headline += (
            f"; what holds it: {'; '.join(roots)}."
            if roots
            else ": it waits for nothing but its own time and workstation."
        )
        blocks: list[Block] = [*blockage_blocks(found, job)] if roots and found else []
        reply = Reply(
            headline=headline,
            tone=Tone.WARNING if roots else Tone.INFO,
            blocks=(*blocks, as_of_line(ctx, as_of, *sources)),
        )
        return Answer(reply=reply, focus=focus)
    # A failed predecessor has finished but still holds the job: TWS releases only on SUCC.
    open_deps = unreleased(deps.value)
    headline = f"{job.name} has {plural(len(deps.value), 'predecessor')}"
    if open_deps:
        pending = ", ".join(f"{dep.name} ({dep.status})" for dep in open_deps[:5])
        headline += f"; {len(open_deps)} still holding it: {pending}."
    else:
        headline += ", all done."
    if roots:
        headline += f" Root cause: {'; '.join(roots)}."
    blocks = [
        Table(
            columns=DEP_COLUMNS, rows=_dep_rows(deps.value, ctx, deps.as_of), total=len(deps.value)
        )
    ]
    if found is not None and found.causes:
        # The walk's details say what releases each failed job, direct or further up.
        blocks.extend(blockage_blocks(found, job))
    else:
        note = release_note(deps.value)
        blocks.extend([Paragraph(text=note)] if note else [])
    blocks.append(as_of_line(ctx, as_of, *sources))
    failed = any(dep.status in ("ABEND", "FAIL", "ERROR") for dep in deps.value)
    tone = Tone.WARNING if failed or roots else Tone.INFO
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)), focus=focus)


# A direct predecessor that failed or runs is already said by the list of direct ones.
_SAID_BY_THE_LIST = frozenset({CauseKind.FAILED, CauseKind.RUNNING})


def _root_chains(job: PlanJob, found: Blockage | None, *, limit: int = 3) -> list[str]:
    """The causes the direct predecessors do not already say, as chains from the job."""
    if found is None:
        return []

    def said(cause: Cause) -> bool:
        return len(cause.path) == 1 and cause.kind in _SAID_BY_THE_LIST

    return [
        chain_text(job.name, job.job_stream_name, cause)
        for cause in found.causes
        if not said(cause)
    ][:limit]


async def further_successors(
    scheduler: Scheduler, job: PlanJob, direct: list[Dependency]
) -> tuple[list[Dependency], bool]:
    """Every successor of the successors, each once, walked until nothing new turns up.

    The walk reads one successor list per job downstream, a level at a time and
    concurrently (at most `_READ_CONCURRENCY` at once). It stops at `_MAX_TRANSITIVE` jobs so
    a question stays bounded on any plan; the second value says whether it stopped there.

    Args:
        scheduler: The engine.
        job: The job whose downstream is walked.
        direct: Its direct successors.

    Returns:
        The successors further down (not the direct ones), and whether the walk was cut.
    """
    seen = {job.id} | {dep.id for dep in direct}
    further: list[Dependency] = []
    frontier = [dep for dep in direct if dep.kind == "job"]
    limit = asyncio.Semaphore(_READ_CONCURRENCY)

    async def read(dep_id: str) -> list[Dependency]:
        async with limit:
            return (await scheduler.job_successors(dep_id)).value

    while frontier:
        if len(seen) > _MAX_TRANSITIVE:
            return further, True
        levels = await asyncio.gather(*(read(dep.id) for dep in frontier))
        frontier = []
        for level in levels:
            for dep in level:
                if dep.id not in seen:
                    seen.add(dep.id)
                    further.append(dep)
                    if dep.kind == "job":
                        frontier.append(dep)
    return further, False


async def answer_successors(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "what depends on JOB?": successors and the deadlines they put at risk.

    Args:
        ctx: The answer context.
        intent: A SUCCESSORS intent with a subject.

    Returns:
        Direct and further successors, deadlines at risk first.
    """
    assert intent.subject is not None
    picked = pick_one(ctx, await resolve(ctx.scheduler, intent.subject, index=ctx.names))
    if isinstance(picked, Answer):
        return picked
    job = picked
    focus = f"{job.job_stream_name}.{job.name}"
    successors = await ctx.scheduler.job_successors(job.id)
    direct = successors.value
    if not direct:
        reply = Reply(
            headline=f"Nothing in the current plan depends on {job.name}.",
            blocks=(as_of_line(ctx, successors.as_of),),
        )
        return Answer(reply=reply, focus=focus)
    further, truncated = await further_successors(ctx.scheduler, job, direct)
    everything = direct + further
    # Every downstream job with a deadline: the forecast keeps the unfinished ones and the
    # failed ones already late. When every one of them already ended well (their statuses
    # came with the successor lists), nothing is at risk and the plan need not be read.
    with_deadline = [
        dep.id
        for dep in everything
        if dep.kind == "job" and dep.deadline is not None and dep.status in _FORECASTABLE
    ]
    late: list[JobForecast] = []
    at_risk: list[JobForecast] = []
    now = successors.as_of
    if with_deadline:
        plan = await read_forecast_plan(ctx.scheduler)
        now = plan.as_of
        forecaster = Forecaster(scheduler=ctx.scheduler, jobs=plan.value, now=now, edges=ctx.edges)
        forecast = await forecaster.forecast(forecaster.watched(with_deadline))
        late, at_risk = forecast.late, forecast.at_risk
    verb = "depends" if len(direct) == 1 else "depend"
    headline = f"{plural(len(direct), 'job')} {verb} directly on {job.name}"
    if further:
        headline += f", {'at least ' if truncated else ''}{len(further)} more further down"
    headline += "; " + _deadline_phrase(late, at_risk) + "."
    blocks: list[Block] = [
        Paragraph(text="Direct successors:"),
        Table(columns=DEP_COLUMNS, rows=_dep_rows(direct, ctx, now), total=len(direct)),
    ]
    if late:
        lines = [
            f"{item.job.name} (deadline {format_clock(item.job.deadline, zone=ctx.zone)}, "
            f"{format_status(item.job)})"
            for item in late[:MAX_ROWS]
        ]
        blocks.append(Paragraph(text="Deadlines already missed:\n" + "\n".join(lines)))
    if at_risk:
        lines = [
            f"{item.job.name} (deadline {format_clock(item.job.deadline, zone=ctx.zone)}): "
            + (
                "blocked until the failure is fixed"
                if item.blocked_by_failure
                else f"expected {format_clock(item.expected_end, zone=ctx.zone)}"
            )
            for item in at_risk[:MAX_ROWS]
        ]
        blocks.append(Paragraph(text="Deadlines at risk:\n" + "\n".join(lines)))
    if further:
        names = ", ".join(dep.name for dep in further[:10])
        more = " ..." if len(further) > 10 or truncated else ""
        blocks.append(Paragraph(text=f"Further down: {names}{more}"))
    blocks.append(as_of_line(ctx, now))
    tone = Tone.ERROR if late else (Tone.WARNING if at_risk else Tone.INFO)
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)), focus=focus)


def _deadline_phrase(late: list[JobForecast], at_risk: list[JobForecast]) -> str:
    """``2 deadlines already missed (A, B), 4 at risk`` or ``no deadline at risk``."""
    if not late and not at_risk:
        return "no deadline at risk"
    parts = []
    if late:
        names = ", ".join(item.job.name for item in late[:5])
        names += ", ..." if len(late) > 5 else ""
        parts.append(f"{plural(len(late), 'deadline')} already missed ({names})")
    if at_risk:
        parts.append(
            f"{len(at_risk)} at risk" if late else f"{plural(len(at_risk), 'deadline')} at risk"
        )
    return ", ".join(parts)
