"""When a job or job stream will finish, and on what basis.

The expected end comes from `agents.forecast` (read only here): a running job's start plus
its typical duration, a waiting job's later of now, its at-time and its predecessors'
expected ends, plus its typical duration. The answer names that basis, the predecessor that
decides the start, a failure that blocks it, and the deadline with the margin or overrun.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agents.answers.common import Answer, AnswerContext, as_of_line, not_found
from agents.forecast import Forecaster, JobForecast
from agents.formatting import format_clock, format_duration, format_status, plural
from agents.intents import Intent
from agents.messages import Block, Fields, Paragraph, Reply, Table, Tone
from agents.resolve import resolve
from integrations.tws.models import PlanJob, Workstation

__all__ = ["answer_eta"]

_BASIS = (
    "Basis: typical durations from run history (the engine's estimate) and the dependency chain"
)
_MAX_JOBS = 200  # a wildcard or a big stream: forecast at most this many


def _deadline_text(item: JobForecast, *, ctx: AnswerContext, now: datetime) -> str | None:
    job = item.job
    if job.deadline is None:
        return None
    deadline = format_clock(job.deadline, zone=ctx.zone, today=now)
    if item.overrun is None or job.failed or item.blocked_by_failure:
        return f"Deadline {deadline}."
    if item.overrun > timedelta(0):
        return f"Deadline {deadline}: expected {format_duration(item.overrun)} late."
    return f"Deadline {deadline}: expected in time, {format_duration(-item.overrun)} to spare."


def _unavailable(ws: Workstation) -> str:
    """Why a workstation runs no jobs, in the engine's words."""
    if not ws.linked:
        return "unlinked"
    return "not running" if not ws.running else "limit 0"


def _waits_on_down(job: PlanJob, down: dict[str, str]) -> bool:
    """Not started, and its workstation cannot run jobs now."""
    return job.started_at is None and not job.finished and job.workstation in down


def _job_sentence(
    item: JobForecast,
    *,
    ctx: AnswerContext,
    now: datetime,
    down: dict[str, str],
    blocker: PlanJob | None,
) -> tuple[str, Tone]:
    """The headline for one job, and its tone."""
    job = item.job
    expected = format_clock(item.expected_end, zone=ctx.zone, today=now)
    typical = format_duration(job.estimated_duration)
    for waiting in (job, blocker):
        if waiting is not None and _waits_on_down(waiting, down) and not job.failed:
            via = "" if waiting is job else f" for {waiting.name}, which waits"
            return (
                f"{job.name} cannot finish until workstation {waiting.workstation} is back"
                f" ({down[waiting.workstation]}): it waits{via} on it; then {job.name} "
                f"typically runs {typical}.",
                Tone.ERROR,
            )
    if job.failed:
        return (
            f"{job.name} will not finish on its own: it is {format_status(job)} and needs a "
            "rerun or a decision.",
            Tone.ERROR,
        )
    if job.finished:
        ended = format_clock(job.ended_at, zone=ctx.zone, today=now)
        return f"{job.name} has already finished: {format_status(job)} at {ended}.", Tone.SUCCESS
    if item.blocked_by_failure:
        root = item.failed_root or item.blocked_by or "a predecessor"
        return (
            f"{job.name} cannot finish until {root} is fixed: it failed upstream.",
            Tone.ERROR,
        )
    if job.started_at is not None:
        since = format_clock(job.started_at, zone=ctx.zone, today=now)
        basis = f"running since {since}, typical duration {typical}"
    elif item.blocked_by:
        basis = f"starts after {item.blocked_by}, then typically runs {typical}"
    elif job.at_time is not None and job.at_time > now:
        basis = (
            f"not before {format_clock(job.at_time, zone=ctx.zone, today=now)}, "
            f"then typically runs {typical}"
        )
    else:
        basis = f"can start now, typically runs {typical}"
    tone = Tone.WARNING if item.at_risk else Tone.INFO
    return f"{job.name} is expected to finish around {expected} ({basis}).", tone


def _expected_cell(
    item: JobForecast, *, ctx: AnswerContext, now: datetime, stuck: list[str]
) -> str:
    """The expected end, or why there is none (a forecast assumes the workstation runs)."""
    if item.job.finished or item.blocked_by_failure:
        return "-"
    if item.job.started_at is None and item.job.workstation in stuck:
        return f"after {item.job.workstation} is back"
    return format_clock(item.expected_end, zone=ctx.zone, today=now)


def _fields(item: JobForecast, *, ctx: AnswerContext, now: datetime, stuck: bool = False) -> Fields:
    job = item.job
    items = [
        ("Job", job.qualified_name),
        ("Status", format_status(job)),
        ("Typical duration", format_duration(job.estimated_duration)),
    ]
    if not job.finished and not item.blocked_by_failure and not stuck:
        items.append(("Expected end", format_clock(item.expected_end, zone=ctx.zone, today=now)))
    if item.blocked_by:
        items.append(("Waits for", item.blocked_by))
    if job.deadline is not None:
        items.append(("Deadline", format_clock(job.deadline, zone=ctx.zone, today=now)))
    return Fields(items=tuple(items))


async def answer_eta(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "when will GL_CLOSE finish?" for a job, a wildcard or a job stream.

    Args:
        ctx: The answer context.
        intent: An ETA intent with a subject.

    Returns:
        The expected end with its basis; the focus is the job or job stream when one matched.
    """
    assert intent.subject is not None
    resolution = await resolve(ctx.scheduler, intent.subject, index=ctx.names)
    if not resolution.found:
        return not_found(ctx, resolution)
    stream = resolution.streams[0] if not resolution.jobs and resolution.streams else None
    wanted: list[PlanJob] = resolution.jobs
    plan = await ctx.scheduler.query_jobs()
    now = plan.as_of
    if stream is not None:
        wanted = [job for job in plan.value if job.job_stream_id == stream.id]
    ids = {job.id for job in wanted[:_MAX_JOBS]}
    stations = await ctx.scheduler.workstations()
    down = {ws.name: _unavailable(ws) for ws in stations.value if not ws.available}
    by_name = {job.name: job for job in plan.value}
    forecaster = Forecaster(scheduler=ctx.scheduler, jobs=plan.value, now=now, edges=ctx.edges)
    forecast = await forecaster.forecast(list(ids))
    items = forecast.jobs
    blocks: list[Block] = []
    if resolution.corrected_from:
        blocks.append(
            Paragraph(
                text=f"Nothing is named {resolution.corrected_from}; showing the closest name."
            )
        )
    if not items:
        headline = f"{intent.subject}: none of its jobs is in the current plan."
        blocks.append(as_of_line(ctx, now))
        return Answer(reply=Reply(headline=headline, tone=Tone.WARNING, blocks=tuple(blocks)))
    if stream is None and len(items) == 1:
        item = items[0]
        blocker = by_name.get(item.blocked_by) if item.blocked_by else None
        headline, tone = _job_sentence(item, ctx=ctx, now=now, down=down, blocker=blocker)
        stuck = tone is Tone.ERROR and not item.job.failed and not item.blocked_by_failure
        blocks.append(_fields(item, ctx=ctx, now=now, stuck=stuck))
        deadline = _deadline_text(item, ctx=ctx, now=now)
        if deadline:
            blocks.append(Paragraph(text=deadline))
        blocks.append(as_of_line(ctx, now, _BASIS))
        job = item.job
        reply = Reply(headline=headline, tone=tone, blocks=tuple(blocks))
        return Answer(reply=reply, focus=f"{job.job_stream_name}.{job.name}")
    return _group_answer(
        intent.subject if stream is None else stream.name,
        items,
        blocks,
        ctx=ctx,
        now=now,
        focus=stream.name if stream else None,
        down=down,
    )


def _group_answer(
    name: str,
    items: list[JobForecast],
    blocks: list[Block],
    *,
    ctx: AnswerContext,
    now: datetime,
    focus: str | None,
    down: dict[str, str],
) -> Answer:
    """A job stream (or several jobs): the last expected end, and what stops it."""
    failed = [item for item in items if item.job.failed]
    blocked = [item for item in items if item.blocked_by_failure and not item.job.failed]
    open_items = [item for item in items if not item.job.finished]
    stuck = sorted({item.job.workstation for item in open_items if _waits_on_down(item.job, down)})
    if stuck and not failed and not blocked:
        states = ", ".join(f"{ws} ({down[ws]})" for ws in stuck)
        waiting = [item.job.name for item in open_items if item.job.workstation in stuck]
        headline = (
            f"{name} cannot finish until workstation{'s' if len(stuck) > 1 else ''} {states} "
            f"{'is' if len(stuck) == 1 else 'are'} back: {plural(len(waiting), 'job')} of it "
            f"{'waits' if len(waiting) == 1 else 'wait'} there ({', '.join(waiting[:5])})."
        )
        tone = Tone.ERROR
    elif not open_items and not failed:
        last = max((item.job.ended_at for item in items if item.job.ended_at), default=None)
        headline = (
            f"{name} has already finished: every job ended, the last at "
            f"{format_clock(last, zone=ctx.zone, today=now)}."
        )
        tone = Tone.SUCCESS
    elif failed or blocked:
        roots = sorted(
            {item.job.name for item in failed}
            | {item.failed_root or item.blocked_by or "?" for item in blocked}
        )
        headline = (
            f"{name} will not finish until {', '.join(roots[:5])} "
            f"{'is' if len(roots) == 1 else 'are'} fixed."
        )
        tone = Tone.ERROR
    else:
        last_item = max(open_items, key=lambda item: item.expected_end)
        headline = (
            f"{name} is expected to finish around "
            f"{format_clock(last_item.expected_end, zone=ctx.zone, today=now)} "
            f"(last job {last_item.job.name}; {len(open_items)} of {len(items)} jobs still to run)."
        )
        tone = Tone.WARNING if any(item.at_risk for item in open_items) else Tone.INFO
        deadline = _deadline_text(last_item, ctx=ctx, now=now)
        if deadline:
            blocks.append(Paragraph(text=deadline))
    rows = [
        (
            item.job.name,
            format_status(item.job),
            _expected_cell(item, ctx=ctx, now=now, stuck=stuck),
            item.blocked_by or "-",
        )
        for item in sorted(items, key=lambda item: item.expected_end)[:25]
    ]
    blocks.append(
        Table(
            columns=("Job", "Status", "Expected end", "Waits for"),
            rows=tuple(rows),
            total=len(items),
        )
    )
    blocks.append(as_of_line(ctx, now, _BASIS))
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)), focus=focus)
