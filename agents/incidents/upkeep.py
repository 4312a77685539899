"""The upkeep half of `IncidentService`: events others record, reminders, recovery, postmortems.

- `IncidentUpkeep.record_event`: runbooks, plan watchers and others append to a timeline
  (audited; an idempotency key records a repeated event once).
- `IncidentUpkeep.remind`: one reminder per incident and interval across all replicas (a
  `Store` claim per interval; see `agents.incidents.reminders`).
- `IncidentUpkeep.recover`: drives pending steps and refreshes stale state messages; call
  it at start-up and every minute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from agents.incidents.audit import IncidentAudit
from agents.incidents.context import EffectContext
from agents.incidents.effects import SideEffects
from agents.incidents.errors import IncidentNotFoundError
from agents.incidents.loading import entry_from, incident_from, load_incident, storage
from agents.incidents.model import Incident, IncidentStatus, Person, TimelineEntry
from agents.incidents.policy import IncidentPolicy
from agents.incidents.postmortem import JobEvidence, gather_evidence, render_postmortem
from agents.incidents.reminders import DueReminder, due_reminders
from agents.incidents.replies import postmortem_reply, reminder_reply
from agents.messages import Actor, Reply
from integrations.db import Database, MissingRowError, NewEntry
from integrations.store.base import Store, StoreError
from integrations.tws.scheduler import Scheduler

__all__ = ["IncidentUpkeep", "Postmortem", "RecoveryReport"]

log = structlog.get_logger(__name__)

OPEN_STATUSES = [s.value for s in IncidentStatus if s.open]


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What `IncidentUpkeep.recover` did: incidents whose steps it drove, cards it refreshed."""

    driven: tuple[str, ...]
    refreshed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Postmortem:
    """A postmortem draft: the Markdown, and the reply that shows it."""

    markdown: str
    reply: Reply


def _same_object(linked: str, name: str) -> bool:
    # ``WS#STREAM.JOB``, ``STREAM.JOB`` and ``JOB`` name the same job for this purpose.
    def parts(text: str) -> list[str]:
        return text.strip().upper().split("#", 1)[-1].split(".")

    a, b = parts(linked), parts(name)
    return a == b or a[-len(b) :] == b or b[-len(a) :] == a


class IncidentUpkeep:
    """Events, reminders, recovery and postmortems (mixed into `IncidentService`)."""

    _db: Database
    _audit: IncidentAudit
    _ctx: EffectContext
    _effects: SideEffects
    _policy: IncidentPolicy
    _store: Store
    _scheduler: Scheduler | None
    _clock: Callable[[], datetime]
    _zone: ZoneInfo
    _ns: str

    async def list_open(self) -> list[Incident]:
        """Incidents not yet resolved, oldest first (places not loaded)."""
        with storage():
            rows = await self._db.incidents.list_by_status(OPEN_STATUSES)
        return [incident_from(row) for row in rows]

    # --- events others record --------------------------------------------------------------

    async def record_event(
        self,
        incident_id: str,
        *,
        kind: str,
        text: str,
        actor: Actor | None = None,
        data: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> TimelineEntry:
        """Append an event to an incident's timeline (runbooks, plan changes, ...).

        Args:
            incident_id: The incident.
            kind: What kind (e.g. ``runbook``, ``plan``).
            text: One line, e.g. "PAYROLL_EXTRACT SUCC at 02:14".
            actor: Who, when a person did it.
            data: Details (JSON-serializable).
            key: Idempotency key: the same key is recorded once.

        Returns:
            The entry (the earlier one for a repeated key).

        Raises:
            IncidentNotFoundError, IncidentAuditError, IncidentStorageError.
        """
        by = Person.from_actor(actor) if actor else None
        entry = NewEntry(
            at=self._clock(),
            kind=kind,
            text=text,
            actor=by.identity if by else None,
            data=dict(data or {}),
            key=key,
        )
        guard = self._audit.guard(
            action="incident.event", by=by, before={}, after={"kind": kind, "text": text}
        )
        with storage():
            try:
                appended = await self._db.incidents.append(
                    incident_id.strip().upper(), entry, guard=guard
                )
            except MissingRowError:
                raise IncidentNotFoundError(f"no incident {incident_id}") from None
        return entry_from(appended.entry)

    async def record_object_event(
        self,
        *,
        name: str,
        kind: str,
        text: str,
        data: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> list[str]:
        """Append an event to every open incident that links the object ``name``.

        ``WS#STREAM.JOB``, ``STREAM.JOB`` and ``JOB`` match each other.

        Returns:
            The incidents it was recorded on.
        """
        hit = [
            i.id for i in await self.list_open() if any(_same_object(o.name, name) for o in i.links)
        ]
        for incident_id in hit:
            await self.record_event(incident_id, kind=kind, text=text, data=data, key=key)
        return hit

    # --- reminders, recovery, postmortems -----------------------------------------------

    async def due_reminders(self, now: datetime | None = None) -> list[DueReminder]:
        """Open incidents that owe a status update at ``now`` (nothing is posted)."""
        return due_reminders(await self.list_open(), now=now or self._clock(), policy=self._policy)

    async def remind(self, now: datetime | None = None) -> list[DueReminder]:
        """Post the due reminders: one per incident and interval across all replicas.

        Returns:
            The reminders this call posted.
        """
        sent: list[DueReminder] = []
        for item in await self.due_reminders(now):
            try:
                ttl = max(item.cadence * 2, timedelta(days=1)).total_seconds()
                if not await self._store.claim(self._ns + item.claim_key, ttl_seconds=ttl):
                    continue
            except StoreError as exc:
                # Fail closed: a missed reminder is better than one per replica per minute.
                log.error("incident.store_unavailable", key=item.claim_key, error=str(exc))
                continue
            incident = await load_incident(self._db, item.incident_id)
            reply = reminder_reply(
                incident, silent_for=item.silent_for, cadence=item.cadence, policy=self._policy
            )
            await self._ctx.tell_rooms(
                incident, reply, key=f"remind-{int(item.anchor.timestamp())}-{item.interval}"
            )
            await self._audit.system(
                action="incident.reminder",
                outcome="sent",
                incident_id=incident.id,
                parameters={
                    "interval": item.interval,
                    "silent_seconds": int(item.silent_for.total_seconds()),
                },
            )
            sent.append(item)
        return sent

    async def recover(self) -> RecoveryReport:
        """Carry out pending steps and refresh stale state messages (start-up, then each minute).

        A process killed between opening a channel and pinning its state message left a
        pending ``rooms`` step: this finishes it without opening another channel.
        """
        with storage():
            due = await self._db.steps.due(now=self._clock())
            behind = await self._db.places.behind()
        driven = tuple(dict.fromkeys(step.incident_id for step in due))
        refreshed = tuple(dict.fromkeys(place.incident_id for place in behind))
        for incident_id in driven:
            try:
                await self._effects.drive(incident_id)
            except Exception as exc:
                log.warning(
                    "incident.drive_failed",
                    incident=incident_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
        for incident_id in refreshed:
            try:
                await self._effects.refresh(incident_id)
            except Exception as exc:
                log.warning(
                    "incident.refresh_failed",
                    incident=incident_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
        return RecoveryReport(driven=driven, refreshed=refreshed)

    async def postmortem(
        self,
        incident_id: str,
        *,
        audit_records: Sequence[Mapping[str, Any]] = (),
        evidence: Sequence[JobEvidence] | None = None,
    ) -> Postmortem:
        """A postmortem draft from the timeline, the audit records, the evidence and durations.

        Args:
            incident_id: The incident.
            audit_records: Its audit records (``ReadRecord.as_dict()`` shape).
            evidence: The linked jobs' evidence; read through the scheduler when None.

        Returns:
            The draft.
        """
        incident = await load_incident(self._db, incident_id, timeline=True)
        if evidence is None:
            evidence = (
                await gather_evidence(self._scheduler, incident.links) if self._scheduler else []
            )
        markdown = render_postmortem(
            incident, zone=self._zone, audit_records=audit_records, evidence=evidence
        )
        return Postmortem(markdown=markdown, reply=postmortem_reply(incident, markdown=markdown))
