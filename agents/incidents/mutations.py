"""The changing half of `IncidentService`: severity, status, roles, notes, updates, links.

Every change takes the same path (`IncidentMutations._change`):

1. read the incident (and its version);
2. check the permission (severity, status, roles, closing: the lead or a manager group;
   a refusal is audited and raised);
3. compute the `Change` (a pure function of `agents.incidents.changes`);
4. write it compare-and-swap in one transaction with its timeline entries, its steps and
   its audit record (the guard): all or nothing; a lost race starts again at 1;
5. after the commit: refresh the posted state, drive the steps it decided (page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from agents.incidents import changes
from agents.incidents.audit import IncidentAudit
from agents.incidents.context import EffectContext
from agents.incidents.effects import SideEffects
from agents.incidents.errors import (
    IncidentConflictError,
    IncidentInputError,
    IncidentPermissionError,
)
from agents.incidents.loading import load_incident, storage
from agents.incidents.model import Incident, IncidentStatus, LinkedObject, Person, Role
from agents.incidents.policy import IncidentPolicy, may_manage
from agents.incidents.replies import state_card, update_reply
from agents.messages import Actor, Reply
from agents.runbooks.policy import ApprovalGroups, GroupDirectory
from integrations.db import Database

__all__ = ["ChangeResult", "IncidentMutations"]

log = structlog.get_logger(__name__)

_CAS_ATTEMPTS = 8

Build = Callable[[Incident, Person, datetime], "changes.Change | None"]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """The answer to a change.

    Attributes:
        incident: The incident after it (or as it is, when nothing changed).
        changed: False when the change would have changed nothing (e.g. same severity).
        reply: What to show the person (the state card; the update for `post_update`).
    """

    incident: Incident
    changed: bool
    reply: Reply


def _person(who: Person | Actor) -> Person:
    return who if isinstance(who, Person) else Person.from_actor(who)


class IncidentMutations:
    """Changes to incidents (mixed into `agents.incidents.service.IncidentService`)."""

    _db: Database
    _audit: IncidentAudit
    _ctx: EffectContext
    _effects: SideEffects
    _policy: IncidentPolicy
    _groups: ApprovalGroups | None
    _directory: GroupDirectory | None
    _clock: Callable[[], datetime]
    _zone: ZoneInfo

    def _card(self, incident: Incident) -> Reply:
        return state_card(incident, policy=self._policy, zone=self._zone, now=self._clock())

    async def _after(self, incident_id: str, *, drive: bool) -> None:
        # The change is committed: what follows only shows it and is retried by recover().
        try:
            await self._effects.refresh(incident_id)
            if drive:
                await self._effects.drive(incident_id)
        except Exception as exc:
            log.warning(
                "incident.after_change_failed",
                incident=incident_id,
                error=f"{type(exc).__name__}: {exc}",
            )

    async def _require_manager(self, incident: Incident, by: Person, what: str) -> None:
        if await may_manage(
            identity=by.identity,
            incident=incident,
            policy=self._policy,
            groups=self._groups,
            directory=self._directory,
        ):
            return
        await self._audit.system(
            action="incident.permission",
            outcome="refused",
            incident_id=incident.id,
            by=by,
            parameters={"asked": what},
        )
        lead = incident.lead.name if incident.lead else "none yet"
        groups = ", ".join(self._policy.manager_groups) or "(no manager groups configured)"
        raise IncidentPermissionError(
            f"only the lead of {incident.id} ({lead}) or a member of {groups} may {what}"
        )

    async def _change(
        self, incident_id: str, *, actor: Actor, what: str, manage: bool, build: Build
    ) -> ChangeResult:
        by = Person.from_actor(actor)
        for _ in range(_CAS_ATTEMPTS):
            incident = await load_incident(self._db, incident_id)
            if manage:
                await self._require_manager(incident, by, what)
            now = self._clock()
            change = build(incident, by, now)
            if change is None:
                return ChangeResult(incident, changed=False, reply=self._card(incident))
            after = change.incident
            guard = self._audit.guard(
                action=change.action, by=by, before=change.before, after=change.after
            )
            with storage():
                written = await self._db.incidents.update(
                    incident.id,
                    expected_version=incident.version,
                    at=now,
                    title=after.title,
                    severity=after.severity,
                    status=after.status.value,
                    document=after.to_document(),
                    timeline=change.entries,
                    enqueue=change.enqueue,
                    guard=guard,
                )
            if written.applied and written.row is not None:
                result = after.model_copy(update={"version": written.row.version})
                await self._after(result.id, drive=bool(change.enqueue))
                return ChangeResult(result, changed=True, reply=self._card(result))
        raise IncidentConflictError(
            f"{incident_id} changed {_CAS_ATTEMPTS} times while {what} was applied; try again"
        )

    async def set_severity(self, incident_id: str, *, actor: Actor, severity: str) -> ChangeResult:
        """Set the severity (lead or manager); raising it to a paging level pages, once.

        Raises:
            IncidentNotFoundError, IncidentPermissionError, IncidentInputError (unknown
            level), IncidentTransitionError (closed), IncidentAuditError, IncidentStorageError.
        """
        level = self._policy.level(severity)
        return await self._change(
            incident_id,
            actor=actor,
            what="change the severity",
            manage=True,
            build=lambda inc, by, now: changes.change_severity(inc, level=level, by=by, now=now),
        )

    async def escalate(
        self, incident_id: str, *, actor: Actor, severity: str | None = None
    ) -> ChangeResult:
        """Raise the severity (one level, or to ``severity``) and page on-call (once ever).

        Raises:
            IncidentInputError: ``severity`` is not more severe than the current one.
            IncidentNotFoundError, IncidentPermissionError, IncidentTransitionError,
            IncidentAuditError, IncidentStorageError.
        """

        def build(incident: Incident, by: Person, now: datetime) -> changes.Change | None:
            target = self._policy.raised(incident.severity)
            if severity is not None:
                target = self._policy.level(severity)
                if self._policy.rank(target.name) > self._policy.rank(incident.severity):
                    raise IncidentInputError(
                        f"{target.name} is less severe than {incident.severity}: use set severity"
                    )
            return changes.change_severity(incident, level=target, by=by, now=now, escalate=True)

        return await self._change(
            incident_id, actor=actor, what="escalate", manage=True, build=build
        )

    async def set_status(
        self,
        incident_id: str,
        *,
        actor: Actor,
        status: IncidentStatus | str,
        summary: str | None = None,
    ) -> ChangeResult:
        """Move the incident along its lifecycle (lead or manager).

        Args:
            incident_id: The incident.
            actor: Who.
            status: The new status.
            summary: Required when resolving.

        Returns:
            The result.

        Raises:
            IncidentTransitionError: Not allowed from the current status.
            IncidentInputError: Unknown status, or resolving without a summary.
            IncidentNotFoundError, IncidentPermissionError, IncidentAuditError,
            IncidentStorageError.
        """
        try:
            target = IncidentStatus(str(status).strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in IncidentStatus)
            raise IncidentInputError(f"unknown status {status!r}: one of {names}") from None
        return await self._change(
            incident_id,
            actor=actor,
            what=f"change the status to {target.value}",
            manage=True,
            build=lambda inc, by, now: changes.change_status(
                inc, status=target, by=by, now=now, summary=summary
            ),
        )

    async def resolve(self, incident_id: str, *, actor: Actor, summary: str) -> ChangeResult:
        """Resolve with a summary (required); resolves the page if one was sent."""
        if not summary.strip():
            raise IncidentInputError(
                "a resolution summary is required: what happened, what fixed it"
            )
        return await self.set_status(
            incident_id, actor=actor, status=IncidentStatus.RESOLVED, summary=summary
        )

    async def close(self, incident_id: str, *, actor: Actor) -> ChangeResult:
        """Close a resolved incident (lead or manager)."""
        return await self.set_status(incident_id, actor=actor, status=IncidentStatus.CLOSED)

    async def assign_role(
        self, incident_id: str, *, actor: Actor, role: Role | str, person: Person | Actor
    ) -> ChangeResult:
        """Give a role to someone (lead or manager)."""
        try:
            which = Role(str(role).strip().lower())
        except ValueError:
            names = ", ".join(r.value for r in Role)
            raise IncidentInputError(f"unknown role {role!r}: one of {names}") from None
        holder = _person(person)
        return await self._change(
            incident_id,
            actor=actor,
            what=f"assign the {which.value} role",
            manage=True,
            build=lambda inc, by, now: changes.assign_role(
                inc, role=which, person=holder, by=by, now=now
            ),
        )

    async def note(self, incident_id: str, *, actor: Actor, text: str) -> ChangeResult:
        """Add a note to the timeline (anyone)."""
        return await self._change(
            incident_id,
            actor=actor,
            what="add a note",
            manage=False,
            build=lambda inc, by, now: changes.add_note(inc, text=text, by=by, now=now),
        )

    async def post_update(self, incident_id: str, *, actor: Actor, text: str) -> ChangeResult:
        """Post a status update (anyone): timeline, rooms, and the reminder clock restarts."""
        result = await self._change(
            incident_id,
            actor=actor,
            what="post an update",
            manage=False,
            build=lambda inc, by, now: changes.add_update(inc, text=text, by=by, now=now),
        )
        incident = result.incident
        reply = update_reply(
            incident,
            text=incident.last_update or text,
            by=actor.display_name,
            at=incident.last_update_at or self._clock(),
            policy=self._policy,
            zone=self._zone,
        )
        await self._ctx.tell_rooms(incident, reply, key=f"update-{incident.version}")
        return ChangeResult(result.incident, changed=True, reply=reply)

    async def link(
        self,
        incident_id: str,
        *,
        actor: Actor,
        kind: str,
        name: str,
        plan_id: str | None = None,
        state: str | None = None,
    ) -> ChangeResult:
        """Link a TWS job or job stream (anyone), with its state now."""
        if kind not in ("job", "job_stream") or not name.strip():
            raise IncidentInputError("link a job or a job_stream by name")
        link = LinkedObject(
            kind="job" if kind == "job" else "job_stream",
            name=name.strip(),
            plan_id=plan_id,
            state=state,
            linked_at=self._clock(),
            linked_by=actor.identity,
        )
        return await self._change(
            incident_id,
            actor=actor,
            what="link an object",
            manage=False,
            build=lambda inc, by, now: changes.add_link(inc, link=link, by=by, now=now),
        )

    async def add_follow_up(
        self, incident_id: str, *, actor: Actor, text: str, owner: str | None = None
    ) -> ChangeResult:
        """Add a follow-up task (anyone; also after closing)."""
        return await self._change(
            incident_id,
            actor=actor,
            what="add a follow-up",
            manage=False,
            build=lambda inc, by, now: changes.add_follow_up(
                inc, text=text, owner=owner, by=by, now=now
            ),
        )
