"""Why did a job fail, or why has it not run.

For a failure: the return code, the job log's error lines, what the AWS codes and
application errors mean, the predecessors' state and the job's record over 60 days
(`agents.answers.blocking_failure` reads and scans the log). For a job that has not run:
the walk upstream to what holds it (`agents.answers.blocking`), named as a chain. A job
stream is explained by the jobs inside it (`agents.answers.stream_why`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from agents.answers.blocking import find_blockage
from agents.answers.blocking_failure import evidence_blocks, read_failure
from agents.answers.blocking_text import blockage_blocks, chains
from agents.answers.common import Answer, AnswerContext, as_of_line, declare_actions, not_found
from agents.answers.dependencies import pick_one
from agents.answers.status import job_fields
from agents.answers.stream_why import answer_stream_why, ask_which_stream
from agents.formatting import format_clock, format_duration, plural
from agents.incidents.memory import IncidentMemory
from agents.intents import Intent
from agents.messages import Block, Paragraph, Reply, Tone
from agents.resolve import resolve
from integrations.tws.models import FINISHED_STATUSES, Dependency, JobRun, PlanJob

__all__ = ["answer_why"]

_HISTORY_DAYS = 60


def _history_line(runs: list[JobRun], job: PlanJob, zone_ctx: AnswerContext) -> str:
    past = [run for run in runs if run.run_id != job.run_id]
    if not past:
        return "No earlier runs in the last 60 days."
    failures = [run for run in past if run.status.value in ("ABEND", "FAIL", "ERROR")]
    durations = sorted(run.duration for run in past if run.duration is not None)
    typical = format_duration(durations[len(durations) // 2]) if durations else "-"
    if not failures:
        return f"First failure in {plural(len(past), 'run')} over {_HISTORY_DAYS} days (typical duration {typical})."
    last = format_clock(failures[0].started_at, zone=zone_ctx.zone)
    return (
        f"Failed {plural(len(failures), 'time')} in {plural(len(past), 'run')} over {_HISTORY_DAYS} days, "
        f"last on {last} (typical duration {typical})."
    )


def _predecessor_line(deps: list[Dependency]) -> str:
    if not deps:
        return "It has no predecessors."
    finished = {status.value for status in FINISHED_STATUSES}
    failed = [dep for dep in deps if dep.status in ("ABEND", "FAIL", "ERROR")]
    open_deps = [dep for dep in deps if dep.status not in finished]
    if failed:
        return (
            "Predecessors that failed too: "
            + ", ".join(f"{d.name} ({d.status})" for d in failed)
            + "."
        )
    if open_deps:
        return (
            "Predecessors not finished: "
            + ", ".join(f"{d.name} ({d.status})" for d in open_deps)
            + "."
        )
    names = ", ".join(d.name for d in deps[:6])
    if len(deps) == 1:
        return f"Its one predecessor had finished ({names})."
    return f"All {len(deps)} predecessors had finished ({names})."


async def _not_failed(ctx: AnswerContext, job: PlanJob, now: datetime) -> Answer:
    """A job that did not fail: say what it is doing, and for a waiting one what holds it."""
    focus = f"{job.job_stream_name}.{job.name}"
    if job.finished:
        headline = f"{job.name} did not fail: it is {job.status.value}"
        headline += (
            f", ended {format_clock(job.ended_at, zone=ctx.zone, today=now)}."
            if job.ended_at
            else "."
        )
        reply = Reply(
            headline=headline,
            tone=Tone.SUCCESS,
            blocks=(job_fields(job, ctx=ctx, now=now), as_of_line(ctx, now)),
        )
        return Answer(reply=reply, focus=focus)
    if job.started_at is not None:
        headline = (
            f"{job.name} has not failed: it is running since "
            f"{format_clock(job.started_at, zone=ctx.zone, today=now)}."
        )
        reply = Reply(
            headline=headline, blocks=(job_fields(job, ctx=ctx, now=now), as_of_line(ctx, now))
        )
        return Answer(reply=reply, focus=focus)
    found = await find_blockage(ctx, [job], now=now)
    shown = chains(found, job.name, job.job_stream_name, limit=3)
    if shown:
        why = "; ".join(shown)
    elif job.status.value == "READY":
        why = "its predecessors are done and its workstation is up; it should start shortly"
    else:
        why = "nothing visible holds it; it should start shortly"
    reply = Reply(
        headline=f"{job.name} has not run yet ({job.status.value}): {why}.",
        tone=Tone.WARNING if found.causes else Tone.INFO,
        blocks=(
            job_fields(job, ctx=ctx, now=now),
            *blockage_blocks(found, job),
            as_of_line(ctx, found.as_of or now, "plan dependencies"),
        ),
    )
    return Answer(reply=reply, focus=focus)


async def answer_why(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "why did JOB fail?", "why is JOB waiting?", "why did STREAM fail?".

    Args:
        ctx: The answer context.
        intent: A WHY intent with a subject.

    Returns:
        The diagnosis; for a job that did not fail, what it is doing or what holds it,
        walked upstream; for a job stream, its failed jobs or what holds it.
    """
    if intent.subject is None:
        return not_found_subject()
    resolution = await resolve(ctx.scheduler, intent.subject, index=ctx.names)
    if not resolution.found:
        return not_found(ctx, resolution)
    now = resolution.as_of or datetime.now().astimezone()
    if not resolution.jobs and resolution.streams:
        if len(resolution.streams) > 1:
            return ask_which_stream(ctx, resolution)
        return await answer_stream_why(ctx, resolution.streams[0], now=now)
    picked = pick_one(ctx, resolution, prefer_failed=True)
    if isinstance(picked, Answer):
        return picked
    job = picked
    if not job.failed:
        return await _not_failed(ctx, job, now)
    evidence, deps, history = await asyncio.gather(
        read_failure(ctx, job),
        ctx.scheduler.job_predecessors(job.id),
        ctx.scheduler.job_history(job.id, days=_HISTORY_DAYS),
    )
    rc = f" with return code {evidence.return_code}" if evidence.return_code is not None else ""
    ended = format_clock(job.ended_at, zone=ctx.zone, today=now)
    headline = f"{job.name} {job.status.value}{rc} at {ended}: {evidence.cause}"
    blocks: list[Block] = [job_fields(job, ctx=ctx, now=now), *evidence_blocks(evidence)]
    blocks.append(
        Paragraph(text=_predecessor_line(deps.value) + " " + _history_line(history.value, job, ctx))
    )
    extra = ["job log, run history (60 days)"]
    if evidence.sources:
        extra.append("knowledge: " + ", ".join(evidence.sources))
    if ctx.knowledge is not None:
        # "This happened before": resolved incidents like this failure (incident memory).
        cause = " ".join([evidence.cause, *evidence.lines[:5]])
        past = await IncidentMemory(ctx.knowledge).similar(
            job=job.name, stream=job.job_stream_name, cause=cause
        )
        blocks.extend(Paragraph(text=incident.sentence()) for incident in past)
        if past:
            extra.append("incident memory: " + ", ".join(p.incident_id for p in past))
    blocks.append(as_of_line(ctx, now, *extra))
    blocks.extend(declare_actions(ctx, job))
    focus = f"{job.job_stream_name}.{job.name}"
    return Answer(
        reply=Reply(headline=headline, tone=Tone.ERROR, blocks=tuple(blocks)), focus=focus
    )


def not_found_subject() -> Answer:
    """The answer to "why?" with nothing to refer to."""
    return Answer(
        reply=Reply(
            headline="Which job? Name it, e.g. 'why did PAYROLL_EXTRACT fail?'.",
            tone=Tone.WARNING,
        )
    )
