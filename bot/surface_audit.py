"""One audit record per chat-surface event (message, command, click, post), for every surface."""

from __future__ import annotations

import structlog

from agents.messages import Actor, Platform
from integrations.audit.sink import AuditSink

__all__ = ["record_surface_event"]

log = structlog.get_logger(__name__)


async def record_surface_event(
    audit: AuditSink,
    *,
    platform: Platform,
    action: str,
    outcome: str,
    actor: Actor | None,
    channel: str | None,
    thread: str | None,
    parameters: dict[str, object],
    correlation: dict[str, str],
) -> None:
    """Record what a surface did, never letting an audit failure lose the person's answer.

    A failing audit store is logged loudly (``<platform>.audit_failed`` with the trace) and
    alarms from there; the chat keeps working, because the audit log's own checks (chain,
    signed head) show any gap to an auditor.

    Args:
        audit: The audit log.
        platform: Which surface.
        action: What happened, e.g. ``slack.command``.
        outcome: How it ended, e.g. ``answered``, ``rate_limited``.
        actor: Who, when known.
        channel: Where.
        thread: Which thread, if any.
        parameters: What was asked or sent.
        correlation: The platform's ids (event, activity, trigger).
    """
    try:
        await audit.record(
            action=action,
            outcome=outcome,
            actor_id=actor.user_id if actor else None,
            actor_identity=actor.identity if actor else None,
            platform=platform.value,
            channel=channel,
            thread=thread,
            parameters=parameters,
            correlation=correlation,
        )
    except Exception:
        log.exception(f"{platform.value}.audit_failed", action=action, **correlation)
