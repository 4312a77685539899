"""Incident requests in chat: declare, list, show, stats, and changes to one incident.

A request without an incident id applies to the incident whose room the conversation is
(`incident_here`); elsewhere the answer asks which incident, naming the open ones. The
service decides what is allowed (who may change severity, status and roles; which status
changes the lifecycle allows); its refusals become one sentence for people.

`declare_from_button` (re-exported) is what the bot's "Declare incident" click handler
calls.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import structlog

from agents.answers.common import Answer, AnswerContext
from agents.answers.incident_declare import answer_declare, declare_from_button, find_target
from agents.answers.incident_place import Where, incident_here
from agents.answers.incident_views import (
    change_answer,
    error_answer,
    level_named,
    list_answer,
    show_answer,
    stats_answer,
    unknown_severity,
    warning,
)
from agents.incidents.errors import IncidentError, IncidentNotFoundError
from agents.incidents.model import Incident, IncidentStatus, LinkedObject, Person, Role
from agents.incidents.mutations import ChangeResult
from agents.incidents.service import IncidentService
from agents.intents import IncidentOp, Intent
from agents.messages import Actor, Platform
from agents.understand_incidents import INCIDENT_USAGE
from integrations.tws.models import PlanJob

__all__ = [
    "Where",
    "answer_incident",
    "declare_from_button",
    "incident_here",
    "linked_subject",
]

log = structlog.get_logger(__name__)

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_ME = frozenset({"me", "myself", "i"})
_STATUSES = (IncidentStatus.ACTIVE, IncidentStatus.MONITORING)


def _now() -> datetime:
    return datetime.now(UTC)


async def _open_ids(service: IncidentService) -> list[str]:
    try:
        return [incident.id for incident in await service.list_open()]
    except IncidentError:
        return []


async def _target(service: IncidentService, intent: Intent, where: Where) -> Incident | Answer:
    """The incident a request is about: the id given, else the one of this place."""
    asked = intent.arguments.get("id")
    if asked is not None:
        try:
            return await service.get(asked, timeline=intent.operation is IncidentOp.SHOW)
        except IncidentNotFoundError as exc:
            return error_answer(exc, asked=asked, open_ids=await _open_ids(service))
    here = await incident_here(service, where)
    if here is None:
        open_ids = await _open_ids(service)
        shown = ", ".join(open_ids[:8]) if open_ids else "none"
        op = intent.operation or IncidentOp.SHOW
        example = "incident INC-2026-0042" + ("" if op is IncidentOp.SHOW else f" {op.value} …")
        return warning(
            "Which incident? This conversation is not an incident's room.",
            f"Name it, e.g. '{example}'. Open incidents: {shown}.",
        )
    if intent.operation is IncidentOp.SHOW:
        return await service.get(here.id, timeline=True)
    return here


def _known_people(incident: Incident) -> list[Person]:
    people: dict[str, Person] = {}
    for person in (incident.declared_by, *incident.roles.values(), *incident.participants):
        people.setdefault(person.identity.lower(), person)
    return list(people.values())


async def _person(
    ctx: AnswerContext, incident: Incident, actor: Actor, typed: str, role: Role
) -> Person | Answer:
    """Who "@ana", "<@U123>", "Ana Smith" or "me" is, or why that cannot be told."""
    typed = typed.strip()
    if typed.lower() in _ME:
        return Person.from_actor(actor)
    known = _known_people(incident)
    names = ", ".join(p.name for p in known)
    hint = (
        f"Name someone who has taken part in {incident.id} ({names}); anyone takes part by "
        f"writing in it (incident note …), or writes 'incident {role.value} me'."
    )
    mention = _MENTION.match(typed)
    if mention is not None:
        user_id, label = mention.group(1), mention.group(2)
        if actor.platform is Platform.SLACK and actor.user_id == user_id:
            return Person.from_actor(actor)
        for person in known:
            if person.platform == Platform.SLACK.value and person.user_id == user_id:
                return person
        if ctx.people is not None:
            found = await ctx.people(Platform.SLACK, user_id)
            if found is not None:
                return Person.from_actor(found)
        return warning(f"I cannot tell who {label or 'that person'} is.", hint)
    wanted = typed.lstrip("@").strip().lower()
    matches = [p for p in known if wanted in (p.name.lower(), p.identity.lower())]
    if len(matches) == 1:
        return matches[0]
    if matches:
        return warning(f"Several people in {incident.id} are called {typed}: use their e-mail.")
    return warning(f"I do not know who '{typed}' is.", hint)


def _status_word(word: str) -> IncidentStatus | None:
    try:
        return IncidentStatus(word.strip().lower())
    except ValueError:
        return None


def _input_problem(service: IncidentService, intent: Intent) -> Answer | None:
    """What is wrong with the values typed, before any incident is looked up."""
    op, args = intent.operation, intent.arguments
    word = args.get("severity")
    if op is IncidentOp.SEVERITY and not word:
        return unknown_severity(service.policy, "")
    known = word is None or level_named(service.policy, word) is not None
    if op in (IncidentOp.SEVERITY, IncidentOp.ESCALATE) and not known:
        return unknown_severity(service.policy, word or "")
    if op is IncidentOp.STATUS:
        status = _status_word(args.get("status", ""))
        if status is IncidentStatus.RESOLVED:
            return warning("Resolving needs a summary: incident resolve <what fixed it>.")
        if status not in (*_STATUSES, IncidentStatus.CLOSED):
            return warning(
                f"Unknown status {args.get('status', '')}: use active or monitoring "
                "(or incident resolve <summary>, incident close)."
            )
    return None


async def _change(
    ctx: AnswerContext,
    service: IncidentService,
    incident: Incident,
    intent: Intent,
    actor: Actor,
) -> Answer:
    """Apply one change to ``incident`` and say what it did."""
    op, args, iid = intent.operation, intent.arguments, incident.id
    result: ChangeResult
    done = unchanged = ""
    if op is IncidentOp.NOTE:
        result = await service.note(iid, actor=actor, text=args.get("text", ""))
        done = f"Note added to {iid}'s timeline."
    elif op is IncidentOp.FOLLOW_UP:
        result = await service.add_follow_up(iid, actor=actor, text=args.get("text", ""))
        number = result.incident.follow_ups[-1].number if result.incident.follow_ups else 0
        done = f"Follow-up {number} added to {iid}."
    elif op is IncidentOp.UPDATE:
        result = await service.post_update(iid, actor=actor, text=args.get("text", ""))
        headline = f"Status update posted to {iid}: {result.incident.last_update}"
        return Answer(reply=result.reply.model_copy(update={"headline": headline}))
    elif op is IncidentOp.SEVERITY or op is IncidentOp.ESCALATE:
        word = args.get("severity")
        level = level_named(service.policy, word) if word is not None else None
        if word is not None and level is None:
            return unknown_severity(service.policy, word)
        if op is IncidentOp.SEVERITY:
            if level is None:
                return unknown_severity(service.policy, word or "")
            result = await service.set_severity(iid, actor=actor, severity=level.name)
            done = f"{iid} is now {level.name} ({level.label})"
            unchanged = f"{iid} is already {level.name}."
        else:
            result = await service.escalate(
                iid, actor=actor, severity=level.name if level else None
            )
            done = f"Escalated {iid} to {result.incident.severity}"
            unchanged = (
                f"Nothing to escalate: {iid} is already {incident.severity} and paging "
                "on-call was already requested."
            )
        if result.incident.paged and not incident.paged:
            done += "; paging on-call"
        done += "."
    elif op is IncidentOp.STATUS:
        status = _status_word(args.get("status", "")) or IncidentStatus.ACTIVE
        if status is IncidentStatus.CLOSED:
            result = await service.close(iid, actor=actor)
        else:
            result = await service.set_status(iid, actor=actor, status=status)
        done, unchanged = f"{iid} is now {status.value}.", f"{iid} is already {status.value}."
    elif op is IncidentOp.RESOLVE:
        summary = args.get("text", "")
        result = await service.resolve(iid, actor=actor, summary=summary)
        done, unchanged = f"Resolved {iid}: {summary}", f"{iid} is already resolved."
    elif op is IncidentOp.CLOSE:
        result = await service.close(iid, actor=actor)
        done, unchanged = f"Closed {iid}.", f"{iid} is already closed."
    elif op is IncidentOp.ROLE:
        role = Role(args.get("role", Role.LEAD.value))
        person = await _person(ctx, incident, actor, args.get("person", ""), role)
        if isinstance(person, Answer):
            return person
        result = await service.assign_role(iid, actor=actor, role=role, person=person)
        done = f"{person.name} is now the {role.value} of {iid}."
        unchanged = f"{person.name} is already the {role.value} of {iid}."
    elif op is IncidentOp.LINK:
        return await _link(ctx, service, incident, intent, actor)
    else:  # pragma: no cover - every operation is handled above or by the caller
        return warning("I cannot do that with an incident.")
    return change_answer(
        result,
        done=done,
        unchanged=unchanged,
        policy=service.policy,
        zone=ctx.zone,
        now=_now(),
    )


async def _link(
    ctx: AnswerContext, service: IncidentService, incident: Incident, intent: Intent, actor: Actor
) -> Answer:
    """Link the job or job stream the intent names, with its state now."""
    assert intent.subject is not None
    found = await find_target(ctx, intent.subject)
    if isinstance(found, Answer):
        return found
    kind = "job" if isinstance(found, PlanJob) else "job_stream"
    result = await service.link(
        incident.id,
        actor=actor,
        kind=kind,
        name=found.qualified_name,
        plan_id=found.id,
        state=found.status.value,
    )
    what = f"{kind.replace('_', ' ')} {found.qualified_name} ({found.status.value})"
    answer = change_answer(
        result,
        done=f"Linked {what} to {incident.id}.",
        unchanged=f"{found.qualified_name} is already linked to {incident.id}.",
        policy=service.policy,
        zone=ctx.zone,
        now=_now(),
    )
    focus = f"{found.job_stream_name}.{found.name}" if isinstance(found, PlanJob) else found.name
    return Answer(reply=answer.reply, focus=focus)


async def answer_incident(
    ctx: AnswerContext, intent: Intent, *, actor: Actor, where: Where
) -> Answer:
    """Answer an INCIDENT intent.

    Args:
        ctx: The answer context (its ``incidents`` may be None: then they are not enabled).
        intent: The request.
        actor: Who asks (declares, changes; the service checks what they may do).
        where: The conversation (for the incident of this place and the declare key).

    Returns:
        The answer.
    """
    service = ctx.incidents
    if service is None:
        return warning(
            "Incidents are not enabled here.",
            "Ask the Resync administrators to enable them, or use your usual incident process.",
        )
    op = intent.operation
    if op is None:  # e.g. an LLM that routed here without saying what to do
        return warning("Which incident command?", INCIDENT_USAGE)
    if op is IncidentOp.USAGE:
        return warning(intent.arguments.get("problem", INCIDENT_USAGE))
    try:
        if op is IncidentOp.DECLARE:
            return await answer_declare(ctx, service, intent, actor=actor, where=where)
        if op is IncidentOp.LIST:
            incidents = await service.list_open()
            return list_answer(incidents, policy=service.policy, zone=ctx.zone, now=_now())
        if op is IncidentOp.STATS:
            days = intent.arguments.get("days")
            since = _now() - timedelta(days=int(days)) if days else None
            stats = await service.stats(since=since)
            return stats_answer(stats, since=since, zone=ctx.zone, now=_now())
        wrong = _input_problem(service, intent)
        if wrong is not None:
            return wrong
        incident = await _target(service, intent, where)
        if isinstance(incident, Answer):
            return incident
        if op is IncidentOp.SHOW:
            return show_answer(incident, policy=service.policy, zone=ctx.zone, now=_now())
        return await _change(ctx, service, incident, intent, actor)
    except IncidentError as exc:
        log.info("incident.refused", operation=op.value, error=type(exc).__name__)
        return error_answer(exc, asked=intent.arguments.get("id"))


async def linked_subject(ctx: AnswerContext, where: Where) -> tuple[LinkedObject, ...] | None:
    """The objects linked to the incident of this place, for questions that name no job.

    Args:
        ctx: The answer context.
        where: The conversation.

    Returns:
        The linked jobs and job streams, or None when incidents are off, this is no incident's
        room, or the incident records did not answer (the question then asks which job).
    """
    if ctx.incidents is None:
        return None
    try:
        incident = await incident_here(ctx.incidents, where)
    except IncidentError as exc:
        log.warning("incident.place_lookup_failed", error=str(exc)[:200])
        return None
    if incident is None:
        return None
    return incident.links
