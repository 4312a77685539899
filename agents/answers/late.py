"""What is late, and what will be: expected ends from run history against deadlines."""

from __future__ import annotations

from datetime import timedelta

from agents.answers.common import MAX_ROWS, Answer, AnswerContext, as_of_line
from agents.forecast import Forecaster, JobForecast, read_forecast_plan
from agents.formatting import format_clock, format_duration, format_status, plural
from agents.intents import Intent
from agents.messages import Block, Paragraph, Reply, Table, Tone

__all__ = ["answer_late", "forecast_rows"]

COLUMNS = ("Job", "Job stream", "Status", "Deadline", "Expected end", "Why")


def _reason(item: JobForecast) -> str:
    job = item.job
    if job.failed:
        return f"{job.status.value}: needs a rerun or a decision before it can finish"
    if item.blocked_by_failure:
        root = item.failed_root or item.blocked_by or "a predecessor"
        via = f" (via {item.blocked_by})" if item.blocked_by and item.blocked_by != root else ""
        return f"blocked: {root} failed{via}"
    if item.blocked_by:
        reason = f"waits for {item.blocked_by}"
    elif job.started_at is not None and not job.finished:
        reason = f"running, typical {format_duration(job.estimated_duration)}"
    else:
        reason = f"typical {format_duration(job.estimated_duration)}"
    if item.overrun is not None and item.overrun > timedelta(0):
        reason += f"; {format_duration(item.overrun)} past the deadline"
    return reason


def forecast_rows(items: list[JobForecast], ctx: AnswerContext) -> tuple[tuple[str, ...], ...]:
    """Table rows for forecasts.

    Args:
        items: The forecasts.
        ctx: The answer context.

    Returns:
        One row per forecast, matching `COLUMNS`.
    """
    rows = []
    for item in items:
        job = item.job
        if job.failed:
            expected = "not until rerun"
        elif item.blocked_by_failure:
            expected = "blocked"
        else:
            expected = format_clock(item.expected_end, zone=ctx.zone)
        rows.append(
            (
                job.name,
                job.job_stream_name,
                format_status(job),
                format_clock(job.deadline, zone=ctx.zone),
                expected,
                _reason(item),
            )
        )
    return tuple(rows)


async def answer_late(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "what is late?" / "what will be late?".

    Args:
        ctx: The answer context.
        intent: A LATE intent.

    Returns:
        Late jobs, then jobs at risk, worst first.
    """
    del intent  # every lateness question gets the whole picture: late and at risk
    plan = await read_forecast_plan(ctx.scheduler)
    forecaster = Forecaster(
        scheduler=ctx.scheduler, jobs=plan.value, now=plan.as_of, edges=ctx.edges
    )
    forecast = await forecaster.forecast()
    late, at_risk = forecast.late, forecast.at_risk
    watched = len(forecast.jobs)
    blocks: list[Block] = []
    # Only unfinished and failed jobs were read: whether the plan has any job at all is
    # one more (one-row) question, asked only when none of those came back.
    if not plan.value and not (await ctx.scheduler.query_jobs(limit=1)).value:
        headline = "The current plan has no jobs: there is nothing to be late."
        blocks.append(as_of_line(ctx, plan.as_of))
        return Answer(reply=Reply(headline=headline, tone=Tone.WARNING, blocks=tuple(blocks)))
    if watched == 0:
        headline = "Nothing is late: no unfinished job in the current plan has a deadline to watch."
        blocks.append(as_of_line(ctx, plan.as_of))
        return Answer(reply=Reply(headline=headline, tone=Tone.INFO, blocks=tuple(blocks)))
    if not late and not at_risk:
        in_time = "expected in time" if watched == 1 else "all expected in time"
        headline = (
            f"Nothing is late and nothing is at risk: {plural(watched, 'unfinished job')} "
            f"with a deadline, {in_time}."
        )
        blocks.append(as_of_line(ctx, plan.as_of, "Forecast: typical durations from run history"))
        return Answer(reply=Reply(headline=headline, tone=Tone.SUCCESS, blocks=tuple(blocks)))
    headline = f"{plural(len(late), 'job')} late, {plural(len(at_risk), 'job')} at risk of missing the deadline."
    if late:
        blocks.append(Paragraph(text="Late now:"))
        blocks.append(
            Table(columns=COLUMNS, rows=forecast_rows(late[:MAX_ROWS], ctx), total=len(late))
        )
    if at_risk:
        blocks.append(Paragraph(text="At risk:"))
        blocks.append(
            Table(columns=COLUMNS, rows=forecast_rows(at_risk[:MAX_ROWS], ctx), total=len(at_risk))
        )
    blocks.append(
        as_of_line(
            ctx, plan.as_of, "Forecast: typical durations from run history and the dependency chain"
        )
    )
    tone = Tone.ERROR if late else Tone.WARNING
    return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)))
