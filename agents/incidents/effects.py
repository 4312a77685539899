"""`SideEffects`: carry out an incident's pending steps exactly once; keep posted state current.

The steps (``rooms``, ``page.trigger``, ``page.acknowledge``, ``page.resolve``,
``postmortem.v{n}``) are written by the transaction that decided them
(`integrations.db.StepTable`). `SideEffects.drive`:

1. takes the drive lease ``inc:drive:{id}`` in the `Store` (one replica at a time; another
   takes over when the lease lapses), then reads the steps (after the lease, so a step a
   previous driver finished is seen as done);
2. runs the due ones in order: ``rooms`` first (`agents.incidents.opening`), then the
   pages (`agents.incidents.paging`), last the postmortem post on resolve
   (`agents.incidents.postmortem_post`). A failed step is scheduled again (``not_before``) for
   the next `drive` or `IncidentService.recover`.

`SideEffects.refresh` updates state messages and announcements in place after a change.
"""

from __future__ import annotations

import secrets

import structlog

from agents.incidents.changes import (
    PAGE_ACKNOWLEDGE,
    PAGE_RESOLVE,
    PAGE_TRIGGER,
    POSTMORTEM,
    ROOMS,
)
from agents.incidents.context import EffectContext
from agents.incidents.loading import load_incident
from agents.incidents.model import Incident, Place
from agents.incidents.opening import run_rooms_step
from agents.incidents.paging import run_page_step
from agents.incidents.postmortem_post import run_postmortem_step
from agents.incidents.replies import announcement, state_card
from integrations.pager.base import Pager
from integrations.store.base import Store, StoreError

__all__ = ["SideEffects"]

log = structlog.get_logger(__name__)

_ORDER = {ROOMS: 0, PAGE_TRIGGER: 1, PAGE_ACKNOWLEDGE: 2, PAGE_RESOLVE: 3}
_LAST = 4  # the postmortem (``postmortem.v{n}``): after the page is resolved
_REFRESH_ROUNDS = 3


def _rank(name: str) -> int:
    return _LAST if name.startswith(POSTMORTEM + ".") else _ORDER.get(name, 9)


class SideEffects:
    """Drives the steps of incidents and keeps their posted state current."""

    def __init__(
        self, *, ctx: EffectContext, pager: Pager | None, store: Store, source: str, namespace: str
    ) -> None:
        """Wire the driver.

        Args:
            ctx: Database, rooms, audit, policy, zone, clock.
            pager: The pager (None: pages are skipped and the rooms told).
            store: Leases shared by the replicas.
            source: What pages say is affected.
            namespace: Prefix of the store keys.
        """
        self._ctx = ctx
        self._pager = pager
        self._store = store
        self._source = source
        self._ns = namespace

    async def _lease(self, key: str, owner: str) -> bool:
        try:
            return await self._store.acquire_lease(
                self._ns + key, owner=owner, ttl_seconds=self._ctx.policy.lease_seconds
            )
        except StoreError as exc:
            # Fail open: every step is idempotent by key, so a rare second driver costs at
            # most a repeated post, while failing closed would leave incidents without rooms.
            log.error("incident.store_unavailable", key=key, error=str(exc))
            return True

    async def _release(self, key: str, owner: str) -> None:
        try:
            await self._store.release_lease(self._ns + key, owner=owner)
        except StoreError as exc:
            log.warning("incident.store_unavailable", key=key, error=str(exc))

    async def drive(self, incident_id: str) -> None:
        """Carry out the incident's due steps, unless another replica is driving it.

        Args:
            incident_id: The incident.
        """
        # One owner per call, not per process: two drives in one process must exclude
        # each other as much as drives on two replicas.
        key, owner = f"drive:{incident_id}", secrets.token_hex(8)
        if not await self._lease(key, owner):
            return
        try:
            steps = await self._ctx.db.steps.for_incident(incident_id)
            for step in sorted(steps, key=lambda s: (_rank(s.name), s.created_at)):
                if step.state != "pending" or step.not_before > self._ctx.clock():
                    continue
                if not await self._lease(key, owner):  # renew between steps
                    return  # it lapsed and another replica took over
                if step.name == ROOMS:
                    await run_rooms_step(self._ctx, step)
                elif step.name in _ORDER:
                    await run_page_step(self._ctx, step, pager=self._pager, source=self._source)
                elif _rank(step.name) == _LAST:
                    await run_postmortem_step(self._ctx, step)
        finally:
            await self._release(key, owner)

    async def refresh(self, incident_id: str) -> None:
        """Update the state messages and announcements that show an older version.

        One replica at a time per incident; it re-reads until the version it rendered is
        the current one. Failures are logged: `IncidentService.recover` finds places still
        behind.

        Args:
            incident_id: The incident.
        """
        key, owner = f"card:{incident_id}", secrets.token_hex(8)
        if not await self._lease(key, owner):
            return
        try:
            for _ in range(_REFRESH_ROUNDS):
                incident = await load_incident(self._ctx.db, incident_id)
                for place in incident.places:
                    if place.state_message_id and place.rendered_version < incident.version:
                        await self._render(incident, place, place.state_message_id)
                current = await self._ctx.db.incidents.get(incident.id)
                if current is None or current.version == incident.version:
                    return
        finally:
            await self._release(key, owner)

    async def _render(self, incident: Incident, place: Place, message_id: str) -> None:
        ctx = self._ctx
        try:
            card = state_card(incident, policy=ctx.policy, zone=ctx.zone)
            done = await ctx.rooms.update(at=place.room, message_id=message_id, reply=card)
            if place.announce_at and place.announcement_message_id:
                await ctx.rooms.update(
                    at=place.announce_at,
                    message_id=place.announcement_message_id,
                    reply=announcement(incident, policy=ctx.policy, zone=ctx.zone),
                )
        except Exception as exc:
            log.warning(
                "incident.refresh_failed",
                incident=incident.id,
                platform=place.platform,
                error=f"{type(exc).__name__}: {exc}",
            )
            return
        if done:
            await ctx.db.places.mark_rendered(
                incident_id=incident.id, platform=place.platform, version=incident.version
            )
