"""Runbook facts for the handover: runs during the shift, requests still waiting for approval.

Finished runs come from the audit log (``runbook.outcome`` records in the shift's time
range), which every replica shares and which keeps them after the request index forgets
them; the request itself (its target, who asked) is read from the runbook journal while it
still holds it. Runs in progress and pending approvals come from the journal's index of
open requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agents.handover.model import Approval, Run
from agents.runbooks.journal import RequestRecord, RequestStatus

__all__ = ["AuditReader", "RequestBook", "RunbookFacts", "read_runbook_facts"]


class RequestBook(Protocol):
    """What the handover reads of the runbook journal (`RequestJournal`)."""

    async def active(self) -> list[str]:
        """Ids of requests not finished yet."""
        ...

    async def load(self, request_id: str) -> RequestRecord | None:
        """One request, or None when unknown (or forgotten)."""
        ...


class AuditRecord(Protocol):
    """One record read back (`integrations.audit.records.ReadRecord`)."""

    @property
    def ts_us(self) -> int:
        """When it was written (µs since the epoch)."""
        ...

    @property
    def content(self) -> dict[str, Any] | None:
        """Its fields, None when it cannot be read (erased)."""
        ...


class AuditReader(Protocol):
    """Reads the audit log back (`integrations.audit.AuditLog`)."""

    async def read(
        self,
        *,
        since_us: int | None = None,
        until_us: int | None = None,
        action: str | None = None,
    ) -> Sequence[AuditRecord]:
        """Records in a time range, of one action."""
        ...


@dataclass(frozen=True, slots=True)
class RunbookFacts:
    """Runs during the shift (latest first) and requests waiting for approval (oldest first)."""

    runs: tuple[Run, ...]
    approvals: tuple[Approval, ...]


def _target(record: RequestRecord) -> str:
    try:
        shown = [param.display for param in record.resolved().values()]
    except (KeyError, TypeError, ValueError):  # an older record's shape: show what was typed
        shown = [f"{k}={v}" for k, v in record.values.items()]
    return ", ".join(shown) or "-"


def _run(record: RequestRecord, *, outcome: str, at: datetime | None) -> Run:
    return Run(
        request_id=record.id,
        runbook=record.runbook_id,
        target=_target(record),
        outcome=outcome,
        at=at,
        requested_by=record.requester_name,
    )


async def _finished(book: RequestBook, audit: AuditReader, since: datetime) -> list[Run]:
    records = await audit.read(
        since_us=int(since.timestamp() * 1_000_000), action="runbook.outcome"
    )
    runs: dict[str, Run] = {}
    for entry in records:
        content = entry.content
        if not content:
            continue
        request_id = str((content.get("correlation") or {}).get("request_id") or "")
        if not request_id:
            continue
        at = datetime.fromtimestamp(entry.ts_us / 1_000_000, tz=UTC)
        outcome = str(content.get("outcome") or "-")
        record = await book.load(request_id)
        if record is not None:
            runs[request_id] = _run(record, outcome=outcome, at=at)
            continue
        parameters = content.get("parameters") or {}
        runs[request_id] = Run(
            request_id=request_id,
            runbook=str(parameters.get("runbook") or "-"),
            target=str(content.get("target") or "-"),
            outcome=outcome,
            at=at,
            requested_by=str(content.get("actor_identity") or "-"),
        )
    return list(runs.values())


async def read_runbook_facts(
    book: RequestBook, audit: AuditReader | None, *, since: datetime
) -> RunbookFacts:
    """Read runs since ``since`` and pending approvals.

    Args:
        book: The runbook journal.
        audit: The audit log (None: only runs still in progress are known).
        since: When the shift began (server time).

    Returns:
        The facts.
    """
    runs = await _finished(book, audit, since) if audit is not None else []
    approvals: list[Approval] = []
    for request_id in await book.active():
        record = await book.load(request_id)
        if record is None:
            continue
        if record.status is RequestStatus.PENDING:
            approvals.append(
                Approval(
                    request_id=record.id,
                    runbook=record.runbook_id,
                    target=_target(record),
                    requested_by=record.requester_name,
                    requested_at=record.created_at,
                    expires_at=record.expires_at,
                )
            )
        elif not record.status.final and all(r.request_id != record.id for r in runs):
            runs.append(_run(record, outcome=record.status.value, at=record.created_at))
    never = datetime.min.replace(tzinfo=UTC)
    runs.sort(key=lambda r: r.at or never, reverse=True)
    approvals.sort(key=lambda a: a.requested_at)
    return RunbookFacts(runs=tuple(runs), approvals=tuple(approvals))
