"""The ``page.*`` steps: trigger, acknowledge and resolve the incident's page.

One page per incident: the dedup key is the incident id, and each step exists at most once
per incident (`integrations.db.StepTable`), so an escalation after a page does not page
again. A failure is retried ``page_attempts`` times (each attempt with the pager's own
HTTP retries); a final failure, or a refusal, is stored, audited, added to the timeline
and told in the incident's rooms. The rooms and the incident never wait for it.
"""

from __future__ import annotations

import structlog

from agents.incidents.context import EffectContext
from agents.incidents.loading import load_incident
from agents.incidents.model import Incident
from agents.incidents.policy import IncidentPolicy
from agents.incidents.replies import no_pager_reply, paging_failed_reply
from integrations.db import NewEntry, StepRow
from integrations.pager.base import PageEvent, Pager, PagerError, PageResult

__all__ = ["page_event", "run_page_step"]

log = structlog.get_logger(__name__)


def page_event(incident: Incident, *, policy: IncidentPolicy, source: str) -> PageEvent:
    """The page of an incident (dedup key = its id).

    Args:
        incident: The incident.
        policy: Maps its severity to the pager's.
        source: What is affected (e.g. the TWS master).

    Returns:
        The event.
    """
    return PageEvent(
        dedup_key=incident.id,
        summary=f"[{incident.id}] {incident.severity} {incident.title}",
        severity=policy.level(incident.severity).pager_severity,
        source=source,
        details={
            "incident": incident.id,
            "status": incident.status.value,
            "lead": incident.lead.name if incident.lead else None,
            "linked": [o.name for o in incident.links],
            "rooms": [f"{p.platform} {p.room.channel}" for p in incident.places],
        },
    )


async def _send(pager: Pager, action: str, event: PageEvent) -> PageResult:
    if action == "trigger":
        return await pager.trigger(event)
    if action == "acknowledge":
        return await pager.acknowledge(event)
    return await pager.resolve(event)


async def run_page_step(
    ctx: EffectContext, step: StepRow, *, pager: Pager | None, source: str
) -> None:
    """Drive one ``page.*`` step once: done, failed (and told), or scheduled again.

    Args:
        ctx: The collaborators.
        step: The pending step.
        pager: The pager; None: the step is skipped and the rooms are told.
        source: What the page says is affected.
    """
    incident = await load_incident(ctx.db, step.incident_id)
    action = step.name.split(".", 1)[1]
    attempts = step.attempts + 1
    if pager is None:
        await ctx.db.steps.finish(
            incident_id=incident.id,
            name=step.name,
            state="skipped",
            attempts=attempts,
            detail={"reason": "no pager configured"},
            at=ctx.clock(),
        )
        if action == "trigger":
            await ctx.tell_rooms(incident, no_pager_reply(incident), key="no-pager")
        return
    try:
        result = await _send(pager, action, page_event(incident, policy=ctx.policy, source=source))
    except PagerError as exc:
        detail: dict[str, object] = {"error": str(exc), "status": exc.status, "answer": exc.answer}
        if exc.retryable and attempts < ctx.policy.page_attempts:
            log.warning(
                "incident.page_retry",
                incident=incident.id,
                action=action,
                attempts=attempts,
                error=str(exc),
            )
            await ctx.db.steps.retry_later(
                incident_id=incident.id,
                name=step.name,
                attempts=attempts,
                not_before=ctx.retry_at(attempts),
                detail=detail,
                at=ctx.clock(),
            )
            return
        log.error("incident.page_failed", incident=incident.id, action=action, error=str(exc))
        settled = await ctx.settle(
            incident.id,
            step.name,
            state="failed",
            attempts=attempts,
            detail=detail,
            action="incident.page",
            outcome="failed",
            note=NewEntry(
                at=ctx.clock(),
                kind="page",
                text=f"Page {action} failed: {exc.answer}",
                data=detail,
                key=f"page-failed:{action}",
            ),
            parameters={"action": action, **detail},
        )
        if not settled:  # another driver finished it meanwhile
            return
        reply = paging_failed_reply(incident, action=action, pager=pager.name, error=exc.answer)
        await ctx.tell_rooms(incident, reply, key=f"page-failed-{action}")
        return
    detail = {"status": result.status, "message": result.message, "attempts": result.attempts}
    await ctx.settle(
        incident.id,
        step.name,
        state="done",
        attempts=attempts,
        detail=detail,
        action="incident.page",
        outcome="sent",
        note=NewEntry(
            at=ctx.clock(),
            kind="page",
            text=f"Page {action} sent to {result.target}",
            data=detail,
            key=f"page:{action}",
        ),
        parameters={"action": action, "target": result.target, **detail},
    )
