"""Workstation status: which agents are up, and what waits on the ones that are not."""

from __future__ import annotations

from agents.answers.common import Answer, AnswerContext, as_of_line, jobs_phrase
from agents.formatting import plural
from agents.intents import LIST_FILTER_STATUSES, Intent, ListFilter
from agents.messages import Block, Fields, Paragraph, Reply, Table, Tone
from integrations.tws.models import Workstation

__all__ = ["answer_workstations"]

COLUMNS = ("Workstation", "Type", "Linked", "Running", "Limit", "Fence")


def _state(ws: Workstation) -> str:
    if not ws.linked:
        return "unlinked"
    if not ws.running:
        return "not running"
    if ws.limit == 0:
        return "limit 0"
    return "available"


def _row(ws: Workstation) -> tuple[str, ...]:
    return (
        ws.name,
        ws.type,
        "yes" if ws.linked else "NO",
        "yes" if ws.running else "NO",
        "-" if ws.limit is None else str(ws.limit),
        "-" if ws.fence is None else str(ws.fence),
    )


async def answer_workstations(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "workstation status" or "is AGT_LNX02 up?".

    Args:
        ctx: The answer context.
        intent: A WORKSTATIONS intent, with a workstation name as subject or none.

    Returns:
        All workstations, or the one asked about with the jobs waiting on it.
    """
    snapshot = await ctx.scheduler.workstations()
    stations = sorted(snapshot.value, key=lambda ws: (ws.available, ws.name))
    if intent.subject:
        wanted = intent.subject.replace("*", "")
        match = next((ws for ws in stations if ws.name == wanted), None)
        if match is None:
            names = ", ".join(ws.name for ws in stations)
            return Answer(
                reply=Reply(
                    headline=f"No workstation named {intent.subject} in the current plan.",
                    tone=Tone.WARNING,
                    blocks=(
                        Paragraph(text=f"Workstations: {names}."),
                        as_of_line(ctx, snapshot.as_of),
                    ),
                )
            )
        waiting = await ctx.scheduler.query_jobs(
            workstation=match.name, statuses=LIST_FILTER_STATUSES[ListFilter.WAITING]
        )
        state = _state(match)
        headline = f"{match.name} is {state}; {jobs_phrase(len(waiting.value))} waiting on it."
        blocks: list[Block] = [Fields(items=tuple(zip(COLUMNS, _row(match), strict=True)))]
        if match.status_text:
            blocks.append(Paragraph(text=f"Engine status: {match.status_text}"))
        if not match.available and waiting.value:
            names = ", ".join(job.name for job in waiting.value[:10])
            more = len(waiting.value) - 10
            names += f" and {more} more" if more > 0 else ""
            blocks.append(Paragraph(text=f"Stuck until it is back: {names}."))
        blocks.append(as_of_line(ctx, waiting.as_of))
        tone = Tone.SUCCESS if match.available else Tone.ERROR
        return Answer(reply=Reply(headline=headline, tone=tone, blocks=tuple(blocks)), focus=None)
    if not stations:
        return Answer(
            reply=Reply(
                headline="The current plan has no workstations.",
                tone=Tone.WARNING,
                blocks=(as_of_line(ctx, snapshot.as_of),),
            )
        )
    down = [ws for ws in stations if not ws.available]
    if down:
        names = ", ".join(f"{ws.name} ({_state(ws)})" for ws in down)
        headline = f"{plural(len(down), 'workstation')} of {len(stations)} unavailable: {names}."
    else:
        headline = (
            "The only workstation is linked and running."
            if len(stations) == 1
            else f"All {len(stations)} workstations are linked and running."
        )
    blocks = [
        Table(columns=COLUMNS, rows=tuple(_row(ws) for ws in stations), total=len(stations)),
        as_of_line(ctx, snapshot.as_of),
    ]
    return Answer(
        reply=Reply(
            headline=headline, tone=Tone.ERROR if down else Tone.SUCCESS, blocks=tuple(blocks)
        )
    )
