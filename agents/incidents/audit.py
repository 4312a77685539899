"""`IncidentAudit`: how incident actions reach the audit log, and the policy for failures.

- **A change by a person** (declare, severity, status, roles, notes, updates, links,
  follow-ups, events others record) is written by `IncidentAudit.guard`, which runs inside
  the database transaction of the change, after the compare-and-swap succeeded and before
  the commit. If the record cannot be written the transaction rolls back and
  `IncidentAuditError` is raised: a change nobody can trace is not made.
- **What the service does on its own** (rooms opened, pages sent or failed, reminders) and
  **refusals** are recorded best effort (`IncidentAudit.system`): they describe something
  that already happened or was not done, so a failing log is logged and work goes on.

Every record names the actor, ``target`` = the incident id, ``parameters`` = the changed
fields ``before`` and ``after``, and ``correlation`` = ``{"incident_id": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from agents.incidents.errors import IncidentAuditError
from agents.incidents.model import Location, Person
from integrations.audit.sink import AuditSink
from integrations.db.rows import Guard, IncidentRow

__all__ = ["IncidentAudit"]

log = structlog.get_logger(__name__)


class IncidentAudit:
    """Writes incident audit records through an `AuditSink`."""

    def __init__(self, sink: AuditSink) -> None:
        """Use ``sink`` (the audit log)."""
        self._sink = sink

    async def _write(
        self,
        *,
        action: str,
        outcome: str,
        by: Person | None,
        incident_id: str,
        where: Location | None,
        parameters: Mapping[str, object],
    ) -> None:
        await self._sink.record(
            action=action,
            outcome=outcome,
            actor_id=by.user_id if by else None,
            actor_identity=by.identity if by else None,
            platform=where.platform if where else (by.platform if by else None),
            channel=where.channel if where else None,
            thread=where.thread if where else None,
            target=incident_id,
            parameters=dict(parameters),
            correlation={"incident_id": incident_id},
        )

    def guard(
        self,
        *,
        action: str,
        by: Person | None,
        before: Mapping[str, object],
        after: Mapping[str, object],
        where: Location | None = None,
    ) -> Guard:
        """The guard that writes a change's record before its transaction commits.

        Args:
            action: ``incident.declare``, ``incident.severity``, ...
            by: Who (None: the system, e.g. an event another component recorded).
            before: The changed fields before.
            after: The changed fields after.
            where: Where it was asked, when known.

        Returns:
            A guard for `integrations.db.IncidentTable` writes; it raises
            `IncidentAuditError` when the record cannot be written.
        """

        async def write(row: IncidentRow) -> None:
            try:
                await self._write(
                    action=action,
                    outcome="applied",
                    by=by,
                    incident_id=row.id,
                    where=where,
                    parameters={
                        "before": dict(before),
                        "after": dict(after),
                        "version": row.version,
                    },
                )
            except Exception as exc:
                log.error(
                    "incident.audit_failed",
                    action=action,
                    incident=row.id,
                    error=f"{type(exc).__name__}: {exc}",
                    hint="the change was not applied; fix the audit log and try again",
                )
                raise IncidentAuditError(
                    f"{row.id}: the audit log could not record {action}, so nothing was "
                    f"changed ({type(exc).__name__}: {exc})"
                ) from exc

        return write

    async def system(
        self,
        *,
        action: str,
        outcome: str,
        incident_id: str,
        by: Person | None = None,
        where: Location | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> None:
        """Record something done (or refused) best effort: a failure is logged, not raised.

        Args:
            action: E.g. ``incident.rooms``, ``incident.page``, ``incident.reminder``.
            outcome: E.g. ``opened``, ``sent``, ``failed``, ``refused``.
            incident_id: The incident.
            by: Who asked, if a person did.
            where: Where, when known.
            parameters: Details.
        """
        try:
            await self._write(
                action=action,
                outcome=outcome,
                by=by,
                incident_id=incident_id,
                where=where,
                parameters=parameters or {},
            )
        except Exception as exc:
            log.error(
                "incident.audit_failed",
                action=action,
                outcome=outcome,
                incident=incident_id,
                error=f"{type(exc).__name__}: {exc}",
            )
