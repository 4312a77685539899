"""The "Watch paused" / "Watch resumed" notices, said once per outage on every platform.

Whether a pause was announced in chat is kept in one place, the `AlertBook` (``paused``):
the watcher's own flag only spares it calling `paused` every cycle. The publisher asks to
say "resumed" before every report it publishes (the book answers "already said" when there
was no pause), so a store error in the watcher's bookkeeping cannot lose the resume.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from agents.watch.alerts import AlertBook
from bot.core.port import ChatPort
from bot.watch import render
from bot.watch.audit import record_alert
from integrations.audit.sink import AuditSink

__all__ = ["announce"]

log = structlog.get_logger(__name__)


async def announce(
    reason: str | None,
    *,
    book: AlertBook,
    targets: Sequence[tuple[ChatPort, str]],
    audit: AuditSink | None,
) -> bool:
    """Post the pause (``reason`` set) or resume notice, unless it was already said.

    Args:
        reason: Why watching is paused; None to say it resumed.
        book: Alert state (holds whether the pause was announced).
        targets: Each platform's port and alerts channel.
        audit: The audit log.

    Returns:
        Whether the notice was posted now (False: already said, or nothing to resume).

    Raises:
        StoreError: The store failed (nothing was posted; the caller may retry).
        AlertBusyError: Another replica held the pause lease too long.
    """
    first = await book.mark_paused(reason) if reason is not None else await book.mark_resumed()
    if not first:
        return False
    reply = render.paused_reply(reason) if reason is not None else render.resumed_reply()
    action = "watch.paused" if reason is not None else "watch.resumed"
    for port, channel in targets:
        posted = await port.post_to_channel(channel=channel, reply=reply)
        await record_alert(
            audit,
            action=action,
            outcome="posted" if posted is not None else "failed",
            platform=port.platform.value,
            channel=channel,
            key=None,
            parameters={"reason": reason} if reason is not None else {},
        )
    return True
