"""`Inbox`: messages being worked on, kept in the shared store until their walk ends.

A platform never re-sends a delivery it saw acknowledged, so a replica killed between the
acknowledgement and the answer would lose the question. The core writes each message it
works on here (the `ChatEvent` and its audit details, as JSON, keyed by delivery) and removes
it when the walk ends (answered, refused, or failed and said so). Every replica sweeps the
oldest entries now and then (`bot.background`); an entry whose admission claim is neither
held nor done (its holder died and the lease lapsed) is worked on again through the normal
walk, where the claim decides which single replica answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.messages import ChatEvent
from integrations.store import Store, StoreError

if TYPE_CHECKING:
    from bot.core.conversation import ChatCore
    from bot.core.port import ChatPort

__all__ = ["INBOX_TTL_SECONDS", "SWEEP_LIMIT", "Inbox", "InboxEntry", "redeliver"]

log = structlog.get_logger(__name__)

INBOX_QUEUE: Final = "inbox"
# Far longer than any walk (the dispatcher's limit is 60 s); an entry nobody could finish in
# this time is dropped rather than answered hours late.
INBOX_TTL_SECONDS: Final = 3600.0
SWEEP_LIMIT: Final = 20
# A message is kept just before its walk claims it; a sweep leaves it alone that long. Below
# the claim's lease (10 s), so it delays no re-run of a dead replica's message.
MIN_AGE_SECONDS: Final = 5.0


class InboxEntry(BaseModel):
    """One message being worked on, with what it takes to work on it again.

    Attributes:
        platform: ``slack`` or ``teams``.
        delivery_id: The platform's id of the delivery.
        event: The message, the person already resolved.
        details: Its audit parameters (``kind`` …).
        admitted: True once rate limited and audited (``chat.message``): a re-run does
            neither again, so the record is written once.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    delivery_id: str
    event: ChatEvent
    details: dict[str, Any]
    admitted: bool = False

    @property
    def key(self) -> str:
        """``platform:message:delivery`` (the admission claim's key too)."""
        return f"{self.platform}:message:{self.delivery_id}"


class Inbox:
    """The shared store's queue of messages being worked on."""

    def __init__(self, store: Store, *, ttl_seconds: float = INBOX_TTL_SECONDS) -> None:
        """Create the inbox.

        Args:
            store: The shared store.
            ttl_seconds: How long an unfinished entry is kept.
        """
        self._store = store
        self._ttl = ttl_seconds

    async def keep(self, entry: InboxEntry) -> None:
        """Write (or update) an entry; a store failure is logged (the walk goes on)."""
        try:
            await self._store.queue_add(
                INBOX_QUEUE, entry.key, entry.model_dump_json(), ttl_seconds=self._ttl
            )
        except StoreError as exc:
            log.error("store.unavailable", use="inbox_keep", key=entry.key, error=str(exc)[:200])

    async def finish(self, key: str) -> None:
        """Remove the entry ``key`` (its walk ended)."""
        try:
            await self._store.queue_remove(INBOX_QUEUE, key)
        except StoreError as exc:
            log.error("store.unavailable", use="inbox_finish", key=key, error=str(exc)[:200])

    async def oldest(self, *, limit: int = SWEEP_LIMIT) -> list[InboxEntry]:
        """The oldest entries (at most ``limit``); unreadable ones are removed and logged."""
        try:
            found = await self._store.queue_oldest(INBOX_QUEUE, limit=limit)
        except StoreError as exc:
            log.error("store.unavailable", use="inbox_sweep", error=str(exc)[:200])
            return []
        entries: list[InboxEntry] = []
        for key, value in found:
            try:
                entries.append(InboxEntry.model_validate_json(value))
            except ValidationError as exc:
                log.error("chat.inbox_entry_unreadable", key=key, error=str(exc)[:200])
                await self.finish(key)
        return entries

    async def during(self, entry: InboxEntry, walk: Awaitable[None]) -> None:
        """Remove the kept ``entry`` once its ``walk`` ended, however it ended.

        A walk cancelled (shutdown) keeps its entry: its claim is released, so a replica's
        sweep works on it again.
        """
        try:
            await walk
        except asyncio.CancelledError:
            raise
        except Exception:
            await self.finish(entry.key)
            raise
        await self.finish(entry.key)


async def redeliver(
    core: ChatCore,
    ports: Iterable[ChatPort],
    *,
    limit: int = SWEEP_LIMIT,
    min_age_seconds: float = MIN_AGE_SECONDS,
) -> int:
    """Work again on the oldest entries whose claim is neither held nor done (one round).

    Each is walked again through `ChatCore.answer`, which claims it first: of replicas
    sweeping at once, one answers.

    Args:
        core: The chat core (its inbox, admission and task supervisor).
        ports: The surfaces' ports; an entry of another platform waits.
        limit: Entries looked at in this round, oldest first.
        min_age_seconds: Younger entries are left alone (kept, not claimed yet: their
            replica is about to claim them).

    Returns:
        How many walks were started again.
    """
    by_platform = {port.platform.value: port for port in ports}
    started = 0
    for entry in await core.inbox.oldest(limit=limit):
        port = by_platform.get(entry.platform)
        if (datetime.now(UTC) - entry.event.received_at).total_seconds() < min_age_seconds:
            continue
        state = await core.admission.state(entry.key)
        if state == "done":  # answered; its replica died before removing the entry
            await core.inbox.finish(entry.key)
        elif state == "free" and port is not None:
            log.info("chat.inbox_rerun", key=entry.key)
            core.tasks.spawn(core.answer(port, entry), name=f"{entry.platform}-message-rerun")
            started += 1
    return started
