"""The ``rooms`` step: open the incident's places, post and pin the state, announce it.

The place rows are the journal: stored as soon as the platform returns the places, then
the state message id, then ``pinned``, then the announcement id. A resumed step does only
what its row says is missing, and asks `IncidentRooms.open` again only when no place was
stored; that call carries the same key and name, and the contract makes it return the
channel opened before (so a crash between creating the channel and storing it still ends
with one channel).
"""

from __future__ import annotations

import structlog

from agents.incidents.changes import ROOMS
from agents.incidents.context import EffectContext
from agents.incidents.errors import RoomsError
from agents.incidents.loading import load_incident
from agents.incidents.model import Incident, Place
from agents.incidents.replies import announcement, state_card
from integrations.db import NewEntry, StepRow

__all__ = ["run_rooms_step"]

log = structlog.get_logger(__name__)


async def run_rooms_step(ctx: EffectContext, step: StepRow) -> None:
    """Drive the ``rooms`` step once: done, or failed and scheduled again.

    Args:
        ctx: The collaborators.
        step: The pending step.
    """
    incident_id = step.incident_id
    attempts = step.attempts + 1
    try:
        await _open_rooms(ctx, incident_id)
    except Exception as exc:
        detail = {"error": f"{type(exc).__name__}: {exc}"}
        if attempts < ctx.policy.room_attempts:
            log.warning("incident.rooms_retry", incident=incident_id, attempts=attempts, **detail)
            await ctx.db.steps.retry_later(
                incident_id=incident_id,
                name=ROOMS,
                attempts=attempts,
                not_before=ctx.retry_at(attempts),
                detail=detail,
                at=ctx.clock(),
            )
            return
        log.error("incident.rooms_failed", incident=incident_id, attempts=attempts, **detail)
        await ctx.db.steps.finish(
            incident_id=incident_id,
            name=ROOMS,
            state="failed",
            attempts=attempts,
            detail=detail,
            at=ctx.clock(),
        )
        await ctx.audit.system(
            action="incident.rooms", outcome="failed", incident_id=incident_id, parameters=detail
        )
        return
    await ctx.db.steps.finish(
        incident_id=incident_id,
        name=ROOMS,
        state="done",
        attempts=attempts,
        detail={},
        at=ctx.clock(),
    )


async def _open_rooms(ctx: EffectContext, incident_id: str) -> None:
    incident = await load_incident(ctx.db, incident_id)
    if not incident.places:
        members = [p for p in (incident.declared_by, incident.lead) if p is not None]
        opened = await ctx.rooms.open(
            key=incident.id,
            name=incident.room_name,
            topic=f"{incident.id} {incident.severity}: {incident.title}",
            origin=incident.origin,
            members=members,
        )
        if not opened:
            raise RoomsError(f"{incident.id}: the rooms implementation opened no place")
        for place in opened:
            await ctx.db.places.add(
                incident_id=incident.id,
                platform=place.room.platform,
                channel=place.room.channel,
                thread=place.room.thread,
                announce_channel=place.announce_at.channel if place.announce_at else None,
                announce_thread=place.announce_at.thread if place.announce_at else None,
                at=ctx.clock(),
            )
        where = ", ".join(f"{p.room.platform} {p.room.channel}" for p in opened)
        await ctx.db.incidents.append(
            incident.id,
            NewEntry(at=ctx.clock(), kind="rooms", text=f"Opened {where}", key="rooms-opened"),
        )
        await ctx.audit.system(
            action="incident.rooms",
            outcome="opened",
            incident_id=incident.id,
            parameters={"places": [p.room.model_dump() for p in opened]},
        )
        incident = await load_incident(ctx.db, incident_id)
    for stored in incident.places:
        await _finish_place(ctx, incident, stored)


async def _finish_place(ctx: EffectContext, incident: Incident, place: Place) -> None:
    message_id = place.state_message_id
    if message_id is None:
        message_id = await ctx.rooms.post(
            at=place.room,
            reply=state_card(incident, policy=ctx.policy, zone=ctx.zone),
            key=f"{incident.id}:state:{place.platform}",
        )
        if message_id is None:
            raise RoomsError(
                f"{incident.id}: the state message was not posted in {place.room.channel}"
            )
        await ctx.db.places.set_state_message(
            incident_id=incident.id,
            platform=place.platform,
            message_id=message_id,
            version=incident.version,
        )
    if not place.pinned:
        if not await ctx.rooms.pin(at=place.room, message_id=message_id):
            raise RoomsError(
                f"{incident.id}: the state message was not pinned in {place.room.channel}"
            )
        await ctx.db.places.set_pinned(incident_id=incident.id, platform=place.platform)
    if place.announce_at is not None and place.announcement_message_id is None:
        announced = await ctx.rooms.post(
            at=place.announce_at,
            reply=announcement(incident, policy=ctx.policy, zone=ctx.zone),
            key=f"{incident.id}:announce:{place.platform}",
        )
        if announced is None:
            raise RoomsError(f"{incident.id}: the announcement was not posted")
        await ctx.db.places.set_announcement(
            incident_id=incident.id, platform=place.platform, message_id=announced
        )
