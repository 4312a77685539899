"""`IncidentService`: declare incidents exactly once, change them, and converge after crashes.

What the chat layer wires::

    service = IncidentService(db=await open_database(...), rooms=..., audit=audit_log,
                              store=store, pager=pager, policy=policy, groups=groups)
    await service.declare(key=view_submission_id, actor=actor, title=..., severity="SEV2")
    await service.set_severity(...) / escalate / set_status / resolve / close / assign_role
    await service.note(...) / post_update / link / add_follow_up / record_event
    await service.recover()        at start-up, then every minute (steps, stale state cards)
    await service.remind()         every minute (status-update reminders, once per interval)

Exactly once across replicas: the declare key is UNIQUE in the database; side effects are
steps written in the deciding transaction and driven under a lease, each idempotent by key
(see `agents.incidents.effects`); reminders claim a store key per incident and interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from agents.incidents.audit import IncidentAudit
from agents.incidents.changes import PAGE_TRIGGER, ROOMS
from agents.incidents.context import EffectContext
from agents.incidents.effects import SideEffects
from agents.incidents.errors import IncidentInputError
from agents.incidents.loading import incident_from, load_incident, storage
from agents.incidents.memory import IncidentMemory
from agents.incidents.model import (
    Impact,
    Incident,
    IncidentStatus,
    LinkedObject,
    Location,
    Person,
    Role,
    room_name,
)
from agents.incidents.mutations import ChangeResult, IncidentMutations
from agents.incidents.policy import IncidentPolicy
from agents.incidents.ports import IncidentRooms
from agents.incidents.replies import declared_reply
from agents.incidents.stats import IncidentStats, compute_stats
from agents.incidents.upkeep import IncidentUpkeep, Postmortem, RecoveryReport
from agents.messages import Actor, Reply
from agents.runbooks.policy import ApprovalGroups, GroupDirectory
from integrations.audit.sink import AuditSink
from integrations.db import Database, NewEntry
from integrations.pager.base import Pager
from integrations.store.base import Store
from integrations.tws.scheduler import Scheduler

__all__ = ["ChangeResult", "DeclareResult", "IncidentService", "Postmortem", "RecoveryReport"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeclareResult:
    """The answer to a declaration.

    Attributes:
        incident: The incident (the existing one when the key was seen before).
        created: True only for the call that created it.
        reply: What to show the declarer.
    """

    incident: Incident
    created: bool
    reply: Reply


class IncidentService(IncidentMutations, IncidentUpkeep):
    """Incidents: declaration, lifecycle, rooms, paging, reminders, stats, postmortems."""

    def __init__(
        self,
        *,
        db: Database,
        rooms: IncidentRooms,
        audit: AuditSink,
        store: Store,
        pager: Pager | None = None,
        policy: IncidentPolicy | None = None,
        groups: ApprovalGroups | None = None,
        directory: GroupDirectory | None = None,
        scheduler: Scheduler | None = None,
        zone: ZoneInfo | None = None,
        source: str = "Resync",
        clock: Callable[[], datetime] | None = None,
        namespace: str = "inc:",
    ) -> None:
        """Wire the service.

        Args:
            db: The incident database (`integrations.db.open_database`).
            rooms: Opens places and posts on the chat platforms.
            audit: The audit log (every change is recorded before it commits).
            store: Leases and reminder claims shared by the replicas (Redis when scaled out).
            pager: Pages on-call; None: nobody is paged and the rooms are told.
            policy: Severities, id prefix, manager groups, retries.
            groups: Approval groups (the policy's manager groups are looked up here).
            directory: Resolves group references (``slack-usergroup:S…``).
            scheduler: Reads the linked jobs' evidence for postmortems.
            zone: The time zone of times in replies (UTC by default).
            source: What pages say is affected (e.g. the TWS master's name).
            clock: Now, UTC (injectable for tests).
            namespace: Prefix of the store keys.
        """
        self._db = db
        self._policy = policy or IncidentPolicy()
        self._groups = groups
        self._directory = directory
        self._scheduler = scheduler
        self._zone = zone or ZoneInfo("UTC")
        self._clock = clock or (lambda: datetime.now(UTC))
        self._store = store
        self._ns = namespace
        self._audit = IncidentAudit(audit)
        self._ctx = EffectContext(
            db=db,
            rooms=rooms,
            audit=self._audit,
            policy=self._policy,
            zone=self._zone,
            clock=self._clock,
        )
        self._effects = SideEffects(
            ctx=self._ctx, pager=pager, store=store, source=source, namespace=namespace
        )
        self._memory: IncidentMemory | None = None

    def use_memory(self, memory: IncidentMemory | None) -> None:
        """Remember incidents in the knowledge base when they are resolved (None: stop).

        Args:
            memory: Incident memory (`agents.incidents.memory`).
        """
        self._memory = memory

    async def set_status(
        self,
        incident_id: str,
        *,
        actor: Actor,
        status: IncidentStatus | str,
        summary: str | None = None,
    ) -> ChangeResult:
        """Move the incident along its lifecycle; a resolved one goes to incident memory.

        See `IncidentMutations.set_status` for the arguments, result and errors. Storing in
        incident memory happens after the change committed and never fails it (a store
        that is down is logged); resolving the same incident again replaces its entry.
        """
        result = await super().set_status(incident_id, actor=actor, status=status, summary=summary)
        resolved = result.incident.status is IncidentStatus.RESOLVED
        if self._memory is not None and result.changed and resolved:
            try:
                incident = await load_incident(self._db, incident_id, timeline=True)
            except Exception as exc:  # committed already: the resolution stands
                log.error("incident.memory_failed", incident=incident_id, error=str(exc)[:300])
            else:
                await self._memory.remember(incident)
        return result

    @property
    def policy(self) -> IncidentPolicy:
        """The policy in force."""
        return self._policy

    async def declare(
        self,
        *,
        key: str,
        actor: Actor,
        title: str,
        severity: str | None = None,
        description: str = "",
        origin: Location | None = None,
        impact: Impact | None = None,
        links: Sequence[LinkedObject] = (),
        lead: Person | None = None,
    ) -> DeclareResult:
        """Declare an incident, exactly once per ``key`` (retries, double clicks, replicas).

        Anyone may declare. The declarer leads unless ``lead`` is given. The rooms are
        opened (and a paging severity pages) before this returns; a failure there does not
        fail the declaration: the step is retried by `recover`.

        Args:
            key: What makes this declaration unique (the modal submission or message id).
            actor: Who declares.
            title: One line.
            severity: A level name; the policy's default when None.
            description: What is known.
            origin: Where it was declared (the announcement goes there).
            impact: What it affects (see `agents.incidents.severity.impact_from_forecast`).
            links: TWS objects it is about, with their state now.
            lead: Who leads, when not the declarer.

        Returns:
            The incident and whether this call created it.

        Raises:
            IncidentInputError: Empty title or key, or unknown severity.
            IncidentAuditError: The declaration could not be audited (nothing was created).
            IncidentStorageError: The database failed.
        """
        title, key = title.strip(), key.strip()
        if not title or not key or len(key) > 255:
            raise IncidentInputError("an incident needs a title and a declare key (1-255 chars)")
        level = self._policy.level(severity or self._policy.default_severity)
        by = Person.from_actor(actor)
        leader = lead or by
        now = self._clock()
        entries = [
            NewEntry(
                at=now,
                kind="declared",
                text=f"Declared {level.name} ({level.label}) by {by.name}: {title}",
                actor=by.identity,
                data={"severity": level.name, "lead": leader.identity},
                key="declared",
            ),
            *(
                NewEntry(
                    at=now,
                    kind="link",
                    text=f"Linked {o.kind.replace('_', ' ')} {o.name} ({o.state or '-'})",
                    actor=by.identity,
                    data={"name": o.name, "state": o.state},
                )
                for o in links
            ),
        ]

        def document(incident_id: str, number: int) -> Mapping[str, Any]:
            people = (by,) if leader.same(by.identity) else (by, leader)
            return Incident(
                id=incident_id,
                number=number,
                title=title,
                description=description.strip(),
                severity=level.name,
                status_times={IncidentStatus.TRIAGE: now},
                declared_at=now,
                declared_by=by,
                roles={Role.LEAD: leader},
                participants=people,
                links=tuple(links),
                impact=impact or Impact(),
                origin=origin,
                room_name=room_name(incident_id, title),
                paged=level.pages,
            ).to_document()

        guard = self._audit.guard(
            action="incident.declare",
            by=by,
            before={},
            after={"title": title, "severity": level.name, "declare_key": key},
            where=origin,
        )
        with storage():
            made = await self._db.incidents.create_if_absent(
                declare_key=key,
                id_prefix=self._policy.id_prefix,
                year=now.year,
                at=now,
                title=title,
                severity=level.name,
                status=IncidentStatus.TRIAGE.value,
                document=document,
                timeline=entries,
                enqueue=(ROOMS, PAGE_TRIGGER) if level.pages else (ROOMS,),
                guard=guard,
            )
        try:
            # Also for a repeated key: if the first call died after the commit, this one
            # carries its rooms through (the lease keeps it to one driver).
            await self._effects.drive(made.row.id)
        except Exception as exc:
            log.warning(
                "incident.drive_failed", incident=made.row.id, error=f"{type(exc).__name__}: {exc}"
            )
        incident = await load_incident(self._db, made.row.id)
        reply = declared_reply(incident, created=made.created, policy=self._policy, zone=self._zone)
        return DeclareResult(incident=incident, created=made.created, reply=reply)

    # --- reads ---------------------------------------------------------------------------

    async def get(self, incident_id: str, *, timeline: bool = False) -> Incident:
        """One incident with its places (and timeline when asked).

        Raises:
            IncidentNotFoundError: No such incident.
            IncidentStorageError: The database failed.
        """
        return await load_incident(self._db, incident_id, timeline=timeline)

    async def find_by_place(
        self, *, platform: str, channel: str, thread: str | None = None
    ) -> Incident | None:
        """The incident whose room this is (messages there belong to it), or None.

        Args:
            platform: The platform.
            channel: The channel.
            thread: The thread, where incident places are threads (Teams).
        """
        with storage():
            incident_id = await self._db.places.find(
                platform=platform, channel=channel, thread=thread
            )
        return None if incident_id is None else await load_incident(self._db, incident_id)

    async def stats(self, *, since: datetime | None = None) -> IncidentStats:
        """Counts, time to acknowledge and time to resolve per severity.

        Args:
            since: Only incidents declared since then (all when None).
        """
        with storage():
            rows = await self._db.incidents.stats_rows(since=since)
        return compute_stats([incident_from(row) for row in rows], policy=self._policy)
