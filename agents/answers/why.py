"""Why did a job fail, or why has it not run.

For a failure: the return code, the job log's error lines, what the AWS codes and
application errors mean, the predecessors' state and the job's record over 60 days.

Only the end of the job log is read (`integrations.tws.scheduler.JOB_LOG_WINDOW_BYTES`: the
error lines and the JOBINFO trailer are there), and it is scanned in a worker thread: a
chatty job's log must not hold up everyone else's answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from agents.answers.common import Answer, AnswerContext, as_of_line, declare_actions, not_found
from agents.answers.dependencies import pick_one
from agents.answers.status import job_fields
from agents.formatting import format_clock, format_duration, plural
from agents.intents import Intent
from agents.logscan import exit_status, relevant_lines
from agents.messages import Block, Paragraph, Preformatted, Reply, Tone
from agents.resolve import resolve
from integrations.tws.models import FINISHED_STATUSES, Dependency, JobLog, JobRun, PlanJob
from knowledge.codes import CodeEntry, ErrorPattern, explain_codes, lookup_error_pattern

__all__ = ["answer_why"]

_HISTORY_DAYS = 60


@dataclass(frozen=True, slots=True)
class _LogFindings:
    lines: list[str]
    codes: list[CodeEntry]
    patterns: list[ErrorPattern]
    exit_status: int | None


def _scan(text: str) -> _LogFindings:
    """Everything the answer reads from a job log (CPU-bound: runs in a worker thread)."""
    return _LogFindings(
        lines=relevant_lines(text),
        codes=explain_codes(text),
        patterns=lookup_error_pattern(text),
        exit_status=exit_status(text),
    )


def _size_text(size_bytes: int) -> str:
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.1f} MB"
    return f"{max(1, size_bytes // 1024)} KB"


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
    deps, stations = await asyncio.gather(
        ctx.scheduler.job_predecessors(job.id), ctx.scheduler.workstations()
    )
    reasons: list[str] = []
    finished = {status.value for status in FINISHED_STATUSES}
    open_deps = [dep for dep in deps.value if dep.status not in finished]
    if open_deps:
        reasons.append("waits for " + ", ".join(f"{d.name} ({d.status})" for d in open_deps[:6]))
    failed_deps = [dep for dep in deps.value if dep.status in ("ABEND", "FAIL", "ERROR")]
    if failed_deps:
        reasons.append("a predecessor failed: " + ", ".join(d.name for d in failed_deps))
    if job.at_time is not None and job.at_time > now:
        reasons.append(f"not before {format_clock(job.at_time, zone=ctx.zone, today=now)}")
    station = next((ws for ws in stations.value if ws.name == job.workstation), None)
    if station is not None and not station.available:
        reasons.append(
            f"workstation {station.name} is unavailable (linked={station.linked}, limit={station.limit})"
        )
    if station is not None and station.fence is not None and job.priority < station.fence:
        reasons.append(
            f"priority {job.priority} is below the fence {station.fence} of {station.name}"
        )
    if job.priority == 0:
        reasons.append("it is held (priority 0)")
    why = "; ".join(reasons) if reasons else "nothing visible holds it; it should start shortly"
    reply = Reply(
        headline=f"{job.name} has not run yet ({job.status.value}): {why}.",
        tone=Tone.WARNING if reasons else Tone.INFO,
        blocks=(job_fields(job, ctx=ctx, now=now), as_of_line(ctx, deps.as_of)),
    )
    return Answer(reply=reply, focus=focus)


async def answer_why(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "why did JOB fail?".

    Args:
        ctx: The answer context.
        intent: A WHY intent with a subject.

    Returns:
        The diagnosis; for a job that did not fail, what it is doing or what holds it.
    """
    if intent.subject is None:
        return not_found_subject()
    resolution = await resolve(ctx.scheduler, intent.subject, index=ctx.names)
    if not resolution.found:
        return not_found(ctx, resolution)
    picked = pick_one(ctx, resolution, prefer_failed=True)
    if isinstance(picked, Answer):
        return picked
    job = picked
    now = resolution.as_of or datetime.now().astimezone()
    if not job.failed:
        return await _not_failed(ctx, job, now)
    log = JobLog(text="")
    if job.run_id:
        log_read, deps, history = await asyncio.gather(
            ctx.scheduler.job_log_tail(job.run_id),
            ctx.scheduler.job_predecessors(job.id),
            ctx.scheduler.job_history(job.id, days=_HISTORY_DAYS),
        )
        log = log_read.value
    else:
        deps, history = await asyncio.gather(
            ctx.scheduler.job_predecessors(job.id),
            ctx.scheduler.job_history(job.id, days=_HISTORY_DAYS),
        )
    found = await asyncio.to_thread(_scan, log.text)
    lines, codes, patterns = found.lines, found.codes, found.patterns
    cause = lines[-1] if lines else "no error line in the job log"
    for line in lines:
        if any(entry.code in line for entry in codes) or any(p.matches(line) for p in patterns):
            cause = line
            break
    # The plan's return code first; the log's JOBINFO trailer when the plan has none.
    return_code = job.return_code if job.return_code is not None else found.exit_status
    rc = f" with return code {return_code}" if return_code is not None else ""
    ended = format_clock(job.ended_at, zone=ctx.zone, today=now)
    headline = f"{job.name} {job.status.value}{rc} at {ended}: {cause}"
    blocks: list[Block] = [job_fields(job, ctx=ctx, now=now)]
    if log.truncated:
        blocks.append(
            Paragraph(
                text=(
                    f"The job log is {_size_text(log.size_bytes)}; I read only its last "
                    f"{_size_text(len(log.text.encode()))}, where the error lines and the "
                    "exit status usually are."
                )
            )
        )
    if lines:
        blocks.append(Paragraph(text=f"From the job log (run {job.run_id}):"))
        blocks.append(Preformatted(text="\n".join(lines)))
    elif job.run_id is None:
        blocks.append(Paragraph(text="The job never started, so there is no job log."))
    sources: list[str] = []
    for entry in codes:
        blocks.append(Paragraph(text=f"{entry.code}: {entry.meaning} What to do: {entry.action}"))
        sources.append(entry.source)
    for pattern in patterns:
        blocks.append(
            Paragraph(text=f"{pattern.name}: {pattern.meaning} What to do: {pattern.action}")
        )
        sources.append(pattern.source)
    blocks.append(
        Paragraph(text=_predecessor_line(deps.value) + " " + _history_line(history.value, job, ctx))
    )
    extra = ["job log, run history (60 days)"]
    if sources:
        extra.append("knowledge: " + ", ".join(dict.fromkeys(sources)))
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
