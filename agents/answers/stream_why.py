"""Why did a job stream fail, or why has it not finished.

A job stream fails through its jobs: the answer explains each failed job inside it the
same way "why did JOB fail?" does (return code, the log's error lines, what they mean),
and says what waits behind the failure. A job stream that did not fail but has not
finished is walked upstream from its waiting jobs (`agents.answers.blocking`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from agents.answers.blocking_failure import FailureEvidence, evidence_blocks, read_failure
from agents.answers.blocking_text import blockage_blocks
from agents.answers.common import Answer, AnswerContext, as_of_line, declare_actions
from agents.answers.stream_progress import (
    ask_which_stream,
    blocked_line,
    left_line,
    progress_line,
    stream_blockage,
    stream_jobs,
)
from agents.formatting import format_clock, plural
from agents.messages import Block, Fields, Paragraph, Reply, Tone
from integrations.tws.models import PlanJob, PlanJobStream

__all__ = ["answer_stream_why", "ask_which_stream"]

_CHAINS_NAMED = 3
"""Causes the headline names as chains; the others are listed below it."""
_FAILURES_EXPLAINED = 3
"""Failed jobs whose logs are read (one call each); the others are named."""


def _stream_fields(
    ctx: AnswerContext, stream: PlanJobStream, jobs: list[PlanJob], now: datetime
) -> Fields:
    return Fields(
        items=(
            ("Job stream", stream.qualified_name),
            ("Status", stream.status.value),
            ("Progress", progress_line(jobs)),
            ("Scheduled", format_clock(stream.sched_time, zone=ctx.zone, today=now)),
            ("Deadline", format_clock(stream.deadline, zone=ctx.zone, today=now)),
        )
    )


def _failure_title(item: FailureEvidence, ctx: AnswerContext, now: datetime) -> str:
    job = item.job
    rc = f" with return code {item.return_code}" if item.return_code is not None else ""
    ended = format_clock(job.ended_at, zone=ctx.zone, today=now)
    return f"{job.name} {job.status.value}{rc} at {ended}: {item.cause}"


async def _failed(
    ctx: AnswerContext,
    stream: PlanJobStream,
    jobs: list[PlanJob],
    failed: list[PlanJob],
    now: datetime,
) -> Answer:
    evidence = await asyncio.gather(
        *(read_failure(ctx, job) for job in failed[:_FAILURES_EXPLAINED])
    )
    first = _failure_title(evidence[0], ctx, now)
    headline = f"Job stream {stream.name} is {stream.status.value}: {first}"
    if len(failed) > 1:
        others = ", ".join(job.name for job in failed[1:6])
        headline += f" (and {plural(len(failed) - 1, 'other failed job')}: {others})"
    blocks: list[Block] = [_stream_fields(ctx, stream, jobs, now)]
    sources: list[str] = []
    for index, item in enumerate(evidence):
        title = _failure_title(item, ctx, now) if index else None
        blocks.extend(evidence_blocks(item, title=title))
        sources.extend(item.sources)
    waiting = [job for job in jobs if not job.finished]
    if waiting:
        names = ", ".join(job.name for job in waiting[:8])
        names += " ..." if len(waiting) > 8 else ""
        verb = "waits" if len(waiting) == 1 else "wait"
        blocks.append(
            Paragraph(
                text=(
                    f"{plural(len(waiting), 'job')} of the stream {verb} behind it: {names}. "
                    "A failed job does not release its successors: they start once it is "
                    "rerun and ends SUCC (or is cancelled or confirmed SUCC)."
                )
            )
        )
    extra = ["job log"]
    if sources:
        extra.append("knowledge: " + ", ".join(dict.fromkeys(sources)))
    blocks.append(as_of_line(ctx, now, *extra))
    blocks.extend(declare_actions(ctx, failed[0]))
    reply = Reply(headline=headline, tone=Tone.ERROR, blocks=tuple(blocks))
    return Answer(reply=reply, focus=stream.name)


async def answer_stream_why(
    ctx: AnswerContext, stream: PlanJobStream, *, now: datetime, waiting: bool = False
) -> Answer:
    """Answer "why did STREAM fail?", "why is STREAM not done?", "what does STREAM wait for?".

    Args:
        ctx: The answer context.
        stream: The one job stream asked about.
        now: The engine's now.
        waiting: The question asked what it waits for (a finished one waits for nothing).

    Returns:
        Its failed jobs explained, or what holds it back, or that it did not fail.
    """
    jobs, as_of = await stream_jobs(ctx, stream)
    failed = [job for job in jobs if job.failed]
    if failed:
        return await _failed(ctx, stream, jobs, failed, as_of)
    fields = _stream_fields(ctx, stream, jobs, as_of)
    if not jobs:
        headline = f"Job stream {stream.name} is {stream.status.value}: it has no jobs in the current plan."
        reply = Reply(headline=headline, tone=Tone.WARNING, blocks=(fields, as_of_line(ctx, as_of)))
        return Answer(reply=reply, focus=stream.name)
    if all(job.finished for job in jobs):
        state = "waits for nothing" if waiting else "did not fail"
        headline = (
            f"Job stream {stream.name} {state}: it is {stream.status.value}, {progress_line(jobs)}."
        )
        reply = Reply(headline=headline, tone=Tone.SUCCESS, blocks=(fields, as_of_line(ctx, as_of)))
        return Answer(reply=reply, focus=stream.name)
    found = await stream_blockage(ctx, jobs, now=as_of)
    headline = (
        f"Job stream {stream.name} has not finished ({stream.status.value}, {progress_line(jobs)})"
    )
    blocks: list[Block] = [fields]
    left = left_line(jobs)
    if left:
        blocks.append(Paragraph(text=left))
    tone = Tone.INFO
    if found is None:
        headline += ": only running jobs are left."
    else:
        line = blocked_line(stream, found, limit=_CHAINS_NAMED)
        headline += f". {line}" if line else ": nothing visible holds it."
        tone = Tone.WARNING if found.causes else Tone.INFO
        blocks.extend(blockage_blocks(found, None, named=_CHAINS_NAMED))
    blocks.append(as_of_line(ctx, (found.as_of if found else None) or as_of, "plan dependencies"))
    reply = Reply(headline=headline, tone=tone, blocks=tuple(blocks))
    return Answer(reply=reply, focus=stream.name)
