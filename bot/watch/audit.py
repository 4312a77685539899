"""Audit records of alerts: every post, update, close, digest, notice, ack and snooze.

Best effort, like what the incident service does on its own (`agents.incidents.audit`):
the alert already went out (or the click was decided), so a failing log raises the
operator-visible alarm (``audit.write_failed``, error level) and work goes on.
"""

from __future__ import annotations

import structlog

from agents.messages import Actor
from integrations.audit.sink import AuditSink

__all__ = ["record_alert"]

log = structlog.get_logger(__name__)


async def record_alert(
    audit: AuditSink | None,
    *,
    action: str,
    outcome: str,
    platform: str,
    channel: str | None,
    key: str | None,
    target: str | None = None,
    thread: str | None = None,
    actor: Actor | None = None,
    parameters: dict[str, object] | None = None,
) -> None:
    """Write one ``watch.*`` record.

    Args:
        audit: The audit log (None: off).
        action: ``watch.alert``, ``watch.alert_update``, ``watch.alert_close``,
            ``watch.digest``, ``watch.paused``, ``watch.resumed``, ``watch.ack``,
            ``watch.snooze``.
        outcome: ``posted``, ``updated``, ``held``, ``failed``...
        platform: ``slack`` or ``teams``.
        channel: The alerts channel.
        key: The finding's key (correlation), when about one alert.
        target: The job or workstation.
        thread: The alert's message/thread.
        actor: Who clicked, for acks and snoozes (None: Resync on its own).
        parameters: What was shown or changed.
    """
    if audit is None:
        return
    try:
        await audit.record(
            action=action,
            outcome=outcome,
            actor_id=actor.user_id if actor else None,
            actor_identity=actor.identity if actor else None,
            platform=platform,
            channel=channel,
            thread=thread,
            target=target,
            parameters=parameters or {},
            correlation={"alert_key": key} if key else {},
        )
    except Exception:  # the alert is out already; the alarm says the log failed
        log.exception("audit.write_failed", action=action, alert_key=key)
