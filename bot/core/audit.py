"""The chat core's audit policy, stated once.

A question or a click is still answered when the audit store fails: the failure raises an
operator-visible alarm (an ``audit.write_failed`` error log line with the trace), and the
audit log's own checks (hash chain, signed head) show any gap to an auditor. A change to the
plan is different: the runbook executor refuses to run a step whose audit record was not
written (see `agents.runbooks`).
"""

from __future__ import annotations

import structlog

from agents.messages import Actor
from integrations.audit.sink import AuditSink

__all__ = ["record_chat_event"]

log = structlog.get_logger(__name__)


async def record_chat_event(
    audit: AuditSink | None,
    *,
    action: str,
    outcome: str,
    platform: str,
    actor: Actor | None,
    channel: str | None,
    thread: str | None,
    parameters: dict[str, object],
    correlation: dict[str, str],
) -> bool:
    """Record what happened in a conversation; never lose the person's answer over it.

    Args:
        audit: The audit log (None: auditing is off, e.g. in some tests).
        action: What happened: ``chat.message``, ``chat.click``, ``chat.post``, ``question``...
        outcome: How it ended: ``accepted``, ``rate_limited``, ``answered``...
        platform: ``slack``, ``teams`` or ``console``.
        actor: Who, when known.
        channel: Where.
        thread: Which thread, if any.
        parameters: What was asked or sent.
        correlation: The platform's ids (delivery id, request id).

    Returns:
        True when the record is durable; False when the store failed (alarm logged).
    """
    if audit is None:
        return True
    try:
        await audit.record(
            action=action,
            outcome=outcome,
            actor_id=actor.user_id if actor else None,
            actor_identity=actor.identity if actor else None,
            platform=platform,
            channel=channel,
            thread=thread,
            parameters=parameters,
            correlation=correlation,
        )
    except Exception:  # any store failure: alarm, keep answering
        log.exception("audit.write_failed", action=action, platform=platform, **correlation)
        return False
    return True
