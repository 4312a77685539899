"""Declaring an incident from chat: the job it is about, its impact, a suggested severity.

The job (named, mentioned in the title, or the conversation's) is linked with its state
now. Its impact is the deadlines it puts at risk: the job itself and everything downstream
of it, forecast by `agents.forecast`; when no severity is given, `suggest_severity` picks
one from them. The declare key comes from the message (`Where.declare_key`) or the button
click, so a retried delivery or a second click declares nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agents.answers.budget import PLAN_WALK_CALL_BUDGET, BudgetedScheduler, CallBudgetExceededError
from agents.answers.common import Answer, AnswerContext, as_of_line, not_found
from agents.answers.dependencies import further_successors, pick_one
from agents.answers.incident_place import Where
from agents.answers.incident_views import (
    level_named,
    severity_choices,
    unknown_severity,
    warning,
)
from agents.forecast import Forecaster
from agents.incidents.errors import IncidentInputError
from agents.incidents.model import Impact, LinkedObject, Location
from agents.incidents.policy import SeverityLevel
from agents.incidents.service import DeclareResult, IncidentService
from agents.incidents.severity import SeveritySuggestion, impact_from_forecast, suggest_severity
from agents.intents import Intent
from agents.messages import Actor, Block, Paragraph
from agents.resolve import NameIndex, resolve
from integrations.tws.models import PlanJob, PlanJobStream
from integrations.tws.scheduler import Scheduler

__all__ = ["answer_declare", "declare_from_button", "find_target"]

_FORECAST_NOTE = "Forecast: typical durations from run history and the dependency chain"
_EXAMPLE = "e.g. 'incident declare SEV2 PAYROLL_EXTRACT abended, bank file late'"

Target = PlanJob | PlanJobStream


@dataclass(frozen=True, slots=True)
class _Assessment:
    suggestion: SeveritySuggestion
    impact: Impact
    as_of: datetime


def _default_title(target: Target) -> str:
    if isinstance(target, PlanJob):
        rc = f" (rc {target.return_code})" if target.return_code is not None else ""
        return f"{target.name} {target.status.value}{rc}"
    return f"{target.name} {target.status.value}"


def _focus(target: Target) -> str:
    if isinstance(target, PlanJob):
        return f"{target.job_stream_name}.{target.name}"
    return target.name


def _link(target: Target, actor: Actor) -> LinkedObject:
    return LinkedObject(
        kind="job" if isinstance(target, PlanJob) else "job_stream",
        name=target.qualified_name,
        plan_id=target.id,
        state=target.status.value,
        linked_at=datetime.now(UTC),
        linked_by=actor.identity,
    )


async def find_target(ctx: AnswerContext, subject: str) -> Target | Answer:
    """The one job (or job stream) a name means, or an answer that says what to name instead.

    Nothing is declared or linked on such an answer (a name that matches nothing, or
    several things).

    Args:
        ctx: The answer context.
        subject: The name as typed, or the conversation's.

    Returns:
        The job or job stream, or the answer.
    """
    resolution = await resolve(ctx.scheduler, subject, index=ctx.names)
    if not resolution.found:
        return not_found(ctx, resolution)
    if not resolution.jobs and len(resolution.streams) == 1:
        return resolution.streams[0]
    if not resolution.jobs:
        names = ", ".join(stream.qualified_name for stream in resolution.streams[:8])
        return warning(f"{subject} matches several job streams; which one?", f"Name it: {names}.")
    return pick_one(ctx, resolution, prefer_failed=True)


async def _mentioned_target(ctx: AnswerContext, subject: str) -> Target | None:
    """The job a name in a title means, when it means exactly one (never a guess)."""
    resolution = await resolve(ctx.scheduler, subject, index=ctx.names)
    if resolution.corrected_from or len(resolution.jobs) > 1:
        return None
    if resolution.jobs:
        return resolution.jobs[0]
    return resolution.streams[0] if len(resolution.streams) == 1 else None


async def _assess(ctx: AnswerContext, target: Target, service: IncidentService) -> _Assessment:
    """The deadlines the job (and everything downstream) puts at risk, and a severity."""
    plan = await ctx.scheduler.query_jobs()
    forecaster = Forecaster(
        scheduler=ctx.scheduler, jobs=plan.value, now=plan.as_of, edges=ctx.edges
    )
    if isinstance(target, PlanJob):
        direct = (await ctx.scheduler.job_successors(target.id)).value
        further, _ = await further_successors(ctx.scheduler, target, direct)
        candidates = [target.id] + [
            dep.id for dep in (*direct, *further) if dep.kind == "job" and dep.deadline is not None
        ]
    else:  # a job stream: its own jobs
        candidates = [job.id for job in plan.value if job.job_stream_id == target.id]
    forecast = await forecaster.forecast(forecaster.watched(candidates))
    suggestion = suggest_severity(forecast.jobs, now=plan.as_of, policy=service.policy)
    at_risk = [item for item in forecast.jobs if item.at_risk]
    late = sum(1 for item in at_risk if item.late)
    if at_risk:
        summary = f"{len(at_risk)} deadline(s) at risk from {target.name}"
        summary += f", {late} already missed" if late else ""
    else:
        summary = f"No deadline at risk from {target.name} yet"
    impact = impact_from_forecast(forecast.jobs, summary=summary)
    return _Assessment(suggestion=suggestion, impact=impact, as_of=plan.as_of)


def _severity_in_title(service: IncidentService, title: str) -> tuple[SeverityLevel | None, str]:
    """A policy level named as the title's first word ("incident declare P1 ..." when P1 is one)."""
    first, _, rest = title.partition(" ")
    level = next(
        (lvl for lvl in service.policy.severities if lvl.name.lower() == first.lower()), None
    )
    return (level, rest.strip()) if level is not None and rest.strip() else (None, title)


async def _declare(
    ctx: AnswerContext,
    service: IncidentService,
    *,
    target: Target | None,
    title: str,
    level: SeverityLevel | None,
    actor: Actor,
    key: str,
    origin: Location | None,
) -> tuple[DeclareResult, Answer]:
    """Declare, and the answer that shows it with how the severity was chosen."""
    assessment = await _assess(ctx, target, service) if target is not None else None
    severity = level.name if level else None
    if severity is None and assessment is not None:
        severity = assessment.suggestion.severity
    result = await service.declare(
        key=key,
        actor=actor,
        title=title or (_default_title(target) if target is not None else ""),
        severity=severity,
        origin=origin,
        impact=assessment.impact if assessment else None,
        links=(_link(target, actor),) if target is not None else (),
    )
    blocks: list[Block] = list(result.reply.blocks)
    if result.created and level is None and assessment is not None:
        reasons = "; ".join(assessment.suggestion.reasons)
        blocks.append(
            Paragraph(text=f"Severity {result.incident.severity} suggested from {reasons}.")
        )
    elif result.created and level is None:
        blocks.append(
            Paragraph(
                text=f"Severity {result.incident.severity} is the default: no job is linked to "
                f"weigh the deadlines at risk. Severities: {severity_choices(service.policy)}."
            )
        )
    if result.created and target is None:
        blocks.append(Paragraph(text="Link the job it is about: incident link <JOB>."))
    if assessment is not None:
        blocks.append(as_of_line(ctx, assessment.as_of, _FORECAST_NOTE))
    reply = result.reply.model_copy(update={"blocks": tuple(blocks)})
    return result, Answer(reply=reply, focus=_focus(target) if target is not None else None)


async def answer_declare(
    ctx: AnswerContext, service: IncidentService, intent: Intent, *, actor: Actor, where: Where
) -> Answer:
    """Declare an incident from a message (exactly once per message).

    Args:
        ctx: The answer context.
        service: The incident service.
        intent: A DECLARE intent.
        actor: Who declares.
        where: Where it was asked (the origin, and the declare key).

    Returns:
        The declared incident, or what is missing or wrong.
    """
    title = intent.arguments.get("title", "").strip()
    word = intent.arguments.get("severity")
    level: SeverityLevel | None = None
    if word is not None:
        level = level_named(service.policy, word)
        if level is None:
            return unknown_severity(service.policy, word)
    elif intent.arguments.get("severity_word"):  # "declare a critical incident"
        level = level_named(service.policy, intent.arguments["severity_word"])
    if level is None and word is None and title:
        level, title = _severity_in_title(service, title)
    link = intent.arguments.get("link")
    target: Target | None = None
    if intent.subject is not None and link == "mentioned":
        target = await _mentioned_target(ctx, intent.subject)
    elif intent.subject is not None:
        found = await find_target(ctx, intent.subject)
        if isinstance(found, Answer):
            return found
        target = found
    elif link == "focus":
        return warning(f"Which job is the incident about? Name it, {_EXAMPLE}.")
    if not title and target is None:
        return warning(
            "An incident needs a title: incident declare [SEV1..SEV4] <title>.",
            f"For example 'incident declare SEV2 bank file late', or 'raise an incident for "
            f"PAYROLL_EXTRACT'. Severities: {severity_choices(service.policy)}.",
        )
    _, answer = await _declare(
        ctx,
        service,
        target=target,
        title=title,
        level=level,
        actor=actor,
        key=where.declare_key,
        origin=where.location,
    )
    return answer


async def declare_from_button(
    service: IncidentService,
    *,
    click_value: str,
    actor: Actor,
    key: str,
    scheduler: Scheduler | None,
    zone: ZoneInfo,
    origin: Location | None = None,
) -> DeclareResult:
    """Declare an incident for the job of a "Declare incident" button, with defaults.

    Title "<JOB> <status> (rc N)", the job linked with its state now, the deadlines it puts
    at risk as the impact, and the severity suggested from them. Without a scheduler the
    job is linked by name only, with the policy's default severity.

    Args:
        service: The incident service.
        click_value: The button's value: the job's qualified name (``WS#STREAM.JOB``);
            checked against the plan, never trusted.
        actor: Who clicked (declares, and leads).
        key: The declare key, e.g. ``button:{message id}:{value}``: a second click of the
            same button returns the incident the first one declared.
        scheduler: The engine; None: the job is not looked up.
        zone: The time zone of times in the reply.
        origin: Where the button was (the announcement goes there), if known.

    Returns:
        The declaration; its reply says how the severity was chosen.

    Raises:
        IncidentInputError: The value names no single job in the plan (the message says
            what it matched), or the plan could not be read within the call budget.
        IncidentError: The service refused or failed (its message is for people).
    """
    name = click_value.strip().upper()
    if scheduler is None:
        link = LinkedObject(
            kind="job", name=name, linked_at=datetime.now(UTC), linked_by=actor.identity
        )
        title = f"{name.split('#', 1)[-1].split('.')[-1]} failed"
        return await service.declare(
            key=key, actor=actor, title=title, origin=origin, links=(link,)
        )
    engine = BudgetedScheduler(scheduler, budget=PLAN_WALK_CALL_BUDGET)
    ctx = AnswerContext(scheduler=engine, names=NameIndex(), zone=zone, incidents=service)
    try:
        found = await find_target(ctx, name)
        if isinstance(found, Answer):
            headline = found.reply.headline
            raise IncidentInputError(headline[:1].lower() + headline[1:])
        result, answer = await _declare(
            ctx, service, target=found, title="", level=None, actor=actor, key=key, origin=origin
        )
    except CallBudgetExceededError:
        raise IncidentInputError(
            f"the plan around {name} could not be read in time; declare it with "
            "'incident declare <title>'"
        ) from None
    return replace(result, reply=answer.reply)
