"""Closing an alert whose condition ended, and the message references alerts keep.

A key missing from the next report means the condition is over: the card is replaced by
a closed version saying why (`bot.watch.render.closed_note`), the state is kept (a later
click on the card is answered "closed"), and ``watch.alert_close`` is audited.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agents.watch.alert_state import AlertStatus, Shown
from agents.watch.alerts import AlertBook
from agents.watch.model import FindingKind
from bot.core.port import ChatPort, Posted
from bot.watch import render
from bot.watch.audit import record_alert
from integrations.audit.sink import AuditSink

__all__ = ["close_alert", "may_flap", "posted_at", "shown_as"]


def posted_at(shown: Shown) -> Posted:
    """The `Posted` of a stored message reference."""
    return Posted(channel=shown.channel, message_id=shown.message_id, thread=shown.thread)


def shown_as(posted: Posted) -> Shown:
    """The stored reference of a posted message."""
    return Shown(channel=posted.channel, message_id=posted.message_id, thread=posted.thread)


async def close_alert(
    port: ChatPort,
    channel: str,
    key: str,
    *,
    as_of: datetime,
    book: AlertBook,
    zone: ZoneInfo,
    audit: AuditSink | None,
) -> None:
    """Close the alert ``key`` on ``port``'s platform (open or held; closed ones stay).

    Call under the platform's publishing lease.

    Args:
        port: The platform.
        channel: The alerts channel.
        key: The finding's key.
        as_of: When the condition was seen to be over (the report's engine time).
        book: Alert state.
        zone: Display time zone.
        audit: The audit log.
    """
    platform = port.platform.value
    state = await book.get(platform, key)
    if state is None or state.status is AlertStatus.CLOSED:
        return
    note = render.closed_note(state.view, as_of=as_of, zone=zone)
    closed = state.model_copy(
        update={"status": AlertStatus.CLOSED, "closed_note": note, "closed_at": book.clock()}
    )
    done = False
    if state.message is not None:
        attention = await book.attention(key)
        reply = render.closed_reply(state.view, note=note, attention=attention, zone=zone)
        done = await port.replace(posted_at(state.message), reply)
    await book.save(closed)
    await record_alert(
        audit,
        action="watch.alert_close",
        outcome="closed" if done or state.message is None else "failed",
        platform=platform,
        channel=channel,
        key=key,
        target=state.view.object_name,
        thread=state.message.message_id if state.message else None,
        parameters={"note": note, "was": state.status.value},
    )


async def may_flap(book: AlertBook, platform: str, key: str, as_of: datetime) -> bool:
    """Whether a missing alert may be forecast noise: a deadline risk before its deadline."""
    if not key.startswith(f"{FindingKind.DEADLINE_RISK.value}:"):
        return False
    state = await book.get(platform, key)
    deadline = None if state is None else state.view.deadline
    return deadline is not None and as_of < deadline
