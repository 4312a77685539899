"""The ``postmortem.v{n}`` step: post the postmortem draft in the incident's rooms on resolve.

Resolving enqueues the step in the resolving transaction (`agents.incidents.changes`), so a
process that dies after the commit leaves it pending for the retried call or `recover`.
The draft is the one ``resync incidents export`` writes (`render_postmortem` of the incident
and its timeline), split into messages that fit (`agents.incidents.replies.postmortem_parts`);
each message has a stable key per part and platform, so a resumed step does not post a part
twice where the rooms remember posts by key. Posting is audited (``incident.postmortem``)
and noted on the timeline. A failure is retried like the rooms step, then marked failed
and audited.
"""

from __future__ import annotations

import structlog

from agents.incidents.changes import ROOMS
from agents.incidents.context import EffectContext
from agents.incidents.loading import load_incident
from agents.incidents.postmortem import render_postmortem
from agents.incidents.replies import postmortem_parts
from integrations.db import NewEntry, StepRow

__all__ = ["run_postmortem_step"]

log = structlog.get_logger(__name__)


async def run_postmortem_step(ctx: EffectContext, step: StepRow) -> None:
    """Drive one ``postmortem.v{n}`` step once: done, skipped, or failed and scheduled again.

    Args:
        ctx: The collaborators.
        step: The pending step.
    """
    incident_id, attempts = step.incident_id, step.attempts + 1
    incident = await load_incident(ctx.db, incident_id, timeline=True)
    if not incident.places:
        rooms = await ctx.db.steps.get(incident_id=incident_id, name=ROOMS)
        if rooms is not None and rooms.state == "pending":
            # The rooms are still being opened: post there once they are.
            await ctx.db.steps.retry_later(
                incident_id=incident_id,
                name=step.name,
                attempts=step.attempts,
                not_before=ctx.retry_at(1),
                detail={"waiting": "rooms"},
                at=ctx.clock(),
            )
            return
        await ctx.db.steps.finish(
            incident_id=incident_id,
            name=step.name,
            state="skipped",
            attempts=attempts,
            detail={"reason": "the incident has no rooms"},
            at=ctx.clock(),
        )
        return
    markdown = render_postmortem(incident, zone=ctx.zone)
    parts = postmortem_parts(incident, markdown=markdown)
    version = step.name.rsplit(".", 1)[-1]
    try:
        for place in incident.places:
            for number, reply in enumerate(parts, start=1):
                await ctx.rooms.post(
                    at=place.room,
                    reply=reply,
                    key=f"{incident.id}:postmortem-{version}-{number}:{place.platform}",
                )
    except Exception as exc:
        detail = {"error": f"{type(exc).__name__}: {exc}"}
        if attempts < ctx.policy.room_attempts:
            log.warning("incident.postmortem_retry", incident=incident_id, attempts=attempts)
            await ctx.db.steps.retry_later(
                incident_id=incident_id,
                name=step.name,
                attempts=attempts,
                not_before=ctx.retry_at(attempts),
                detail=detail,
                at=ctx.clock(),
            )
            return
        log.error("incident.postmortem_failed", incident=incident_id, **detail)
        await ctx.settle(
            incident_id,
            step.name,
            state="failed",
            attempts=attempts,
            detail=detail,
            action="incident.postmortem",
            outcome="failed",
        )
        return
    where = [f"{p.platform} {p.room.channel}" for p in incident.places]
    posted: dict[str, object] = {"places": where, "parts": len(parts), "characters": len(markdown)}
    await ctx.settle(
        incident_id,
        step.name,
        state="done",
        attempts=attempts,
        detail=posted,
        action="incident.postmortem",
        outcome="posted",
        note=NewEntry(
            at=ctx.clock(),
            kind="postmortem",
            text=f"Postmortem draft posted in {', '.join(where)}",
            data=posted,
            key=f"postmortem:{version}",
        ),
    )
