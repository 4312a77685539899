"""A request to change the plan: hand it to the runbook service, which shows the approval card.

The assistant never acts on the plan itself (answers only read). A request in natural words
("rerun PAYROLL_EXTRACT") names a job the way operators do; it is qualified here
(``WS#STREAM.JOB``) against the live plan so the runbook's parameter check gets one exact
job, and an ambiguous or unknown name is answered like any other question about names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from agents.answers.common import Answer, AnswerContext, not_found
from agents.intents import Intent
from agents.messages import Actor, Paragraph, Reply, Tone
from agents.resolve import resolve
from agents.runbooks.intake import refusal
from agents.understand_actions import command_problems

__all__ = ["RunbookRequester", "answer_runbook"]


class RequestOutcome(Protocol):
    """What the runbook service answers to a request."""

    @property
    def reply(self) -> Reply:
        """The approval card, or why nothing was queued."""
        ...


class RunbookRequester(Protocol):
    """The slice of the runbook service the assistant uses."""

    async def request(
        self,
        *,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None = None,
        thread: str | None = None,
    ) -> RequestOutcome:
        """Validate a request against the live plan and return its approval card."""
        ...


async def answer_runbook(
    ctx: AnswerContext,
    intent: Intent,
    *,
    actor: Actor,
    channel: str,
    thread: str | None,
) -> Answer:
    """Request a runbook run for the person asking.

    Args:
        ctx: The answer context (its ``runbooks`` must be set).
        intent: The RUNBOOK intent.
        actor: Who asks (the requester, who can never approve it).
        channel: Where the card goes.
        thread: The thread progress is posted in.

    Returns:
        The approval card, or why nothing was requested.
    """
    if ctx.runbooks is None:
        return Answer(reply=Reply(headline="Runbooks are not enabled here.", tone=Tone.WARNING))
    problems = command_problems(intent)
    if problems:  # the same refusal `RunbookService.request_text` gives
        return Answer(reply=refusal(headline="Cannot read that run command", problems=problems))
    if intent.runbook is None:
        return Answer(
            reply=Reply(headline="Which runbook? Say `help` for examples.", tone=Tone.WARNING)
        )
    values = dict(intent.arguments)
    if not values:
        example = f"e.g. '{intent.runbook.replace('-', ' ')} PAYROLL_DAILY.PAYROLL_EXTRACT'"
        return Answer(reply=Reply(headline=f"Which one? Name it, {example}.", tone=Tone.WARNING))
    job = values.get("job")
    focus: str | None = None
    if job is not None and "." not in job:
        # Operators say "rerun PAYROLL_EXTRACT"; the runbook needs the job in the plan.
        resolution = await resolve(ctx.scheduler, job.upper(), index=ctx.names)
        if resolution.streams and not resolution.jobs:
            return Answer(
                reply=Reply(
                    headline=f"{job} is a job stream; {intent.runbook} needs a job.",
                    tone=Tone.WARNING,
                )
            )
        if not resolution.jobs:
            return not_found(ctx, resolution)
        if len(resolution.jobs) > 1:
            names = ", ".join(j.qualified_name for j in resolution.jobs[:8])
            return Answer(
                reply=Reply(
                    headline=f"{job} matches {len(resolution.jobs)} jobs; which one?",
                    tone=Tone.WARNING,
                    blocks=(Paragraph(text=f"Name it as STREAM.JOB: {names}."),),
                )
            )
        found = resolution.jobs[0]
        values["job"] = found.qualified_name
        focus = f"{found.job_stream_name}.{found.name}"
    result = await ctx.runbooks.request(
        runbook_id=intent.runbook, values=values, actor=actor, channel=channel, thread=thread
    )
    return Answer(reply=result.reply, focus=focus)
