"""`AuditSink`: the capability of recording one action durably (house rule 4).

Everything above the audit log (the agents, the runbook service, the chat core) depends on
this protocol, never on `AuditLog` itself, so tests can hand in a recording fake and the
log's storage can change without touching its callers. `AuditLog.record` satisfies it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["AuditSink"]


class AuditSink(Protocol):
    """Appends one durable, tamper-evident record per action or decision."""

    async def record(
        self,
        *,
        action: str,
        outcome: str,
        actor_id: str | None,
        actor_identity: str | None,
        platform: str | None = None,
        channel: str | None = None,
        thread: str | None = None,
        target: str | None = None,
        parameters: dict[str, object] | None = None,
        correlation: dict[str, str] | None = None,
    ) -> object:
        """Append one record; return once it is durable.

        Raises:
            Exception: Whatever the store raises when the record could not be written
                (`integrations.audit.AuditError` for the real log); callers decide the policy.
        """
        ...
