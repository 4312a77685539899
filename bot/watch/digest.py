"""The digest: one message per alerts channel and hour for the alerts over the rate.

`AlertPublisher` holds back new alerts beyond ``RESYNC_ALERTS_PER_HOUR`` in a channel; they
are listed here instead of getting cards. The digest is posted once per hour window and
then updated in place as more alerts are held, so a storm of findings makes one message,
not hundreds. A held alert gets its own card once the hour allows new alerts again.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agents.watch.alerts import AlertBook, DigestEntry
from bot.core.port import ChatPort
from bot.watch import render
from bot.watch.audit import record_alert
from bot.watch.closing import posted_at, shown_as
from integrations.audit.sink import AuditSink

__all__ = ["post_digest"]


async def post_digest(
    port: ChatPort,
    channel: str,
    held: list[DigestEntry],
    *,
    book: AlertBook,
    per_hour: int,
    zone: ZoneInfo,
    audit: AuditSink | None,
) -> None:
    """Add alerts held back this cycle to the channel's digest (posting or updating it).

    Call under the platform's publishing lease.

    Args:
        port: The platform.
        channel: The alerts channel.
        held: Alerts held back this cycle (those already listed are skipped).
        book: Alert state.
        per_hour: The rate (named in the digest).
        zone: Display time zone.
        audit: The audit log (``watch.digest``).
    """
    platform = port.platform.value
    digest = await book.digest(platform, channel)
    known = {e.key for e in digest.entries}
    fresh = [e for e in held if e.key not in known]
    if not fresh:
        return
    digest = digest.model_copy(update={"entries": (*digest.entries, *fresh)})
    reply = render.digest_reply(digest, per_hour=per_hour, zone=zone)
    if digest.message is None:
        posted = await port.post_to_channel(channel=channel, reply=reply)
        if posted is not None:
            digest = digest.model_copy(update={"message": shown_as(posted)})
        outcome = "posted" if posted is not None else "failed"
    else:
        outcome = "updated" if await port.replace(posted_at(digest.message), reply) else "failed"
    await book.save_digest(platform, channel, digest)
    await record_alert(
        audit,
        action="watch.digest",
        outcome=outcome,
        platform=platform,
        channel=channel,
        key=None,
        parameters={"held": [e.key for e in fresh], "total": len(digest.entries)},
    )
