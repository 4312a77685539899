"""Cards that change after they are posted: versions, so a card never goes back in time.

An approval card is replaced several times (a click, the end of the run) by any replica, and
a platform may make a replacement wait (Slack answers 429 with ``Retry-After``). A late
replacement must not overwrite a newer one, so every versioned replacement goes through a
`CardVersion`: under a short lock per message (in the shared `Store`), it is sent only when
no equal or newer version was shown already, and the newest version shown is recorded. A
port that has to wait and retry asks again before each try, so a retry after ``Retry-After``
is dropped when a newer card went out meanwhile.

The version is the caller's (the runbook request's revision); this module only compares.
`VersionedOutcome` carries it through a click's answer, and `CardWatcher` lets a click
handler learn where a card with its buttons was posted.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import structlog

from agents.messages import ClickOutcome, Platform, Reply
from integrations.store import Store, StoreError

if TYPE_CHECKING:
    from bot.core.port import Posted

__all__ = ["CardVersion", "CardVersions", "CardWatcher", "VersionedOutcome"]

log = structlog.get_logger(__name__)

_KEEP_SECONDS: Final = 14 * 24 * 3600.0
_LOCK_SECONDS: Final = 30.0  # longer than one platform call; a wait for Retry-After is outside
_LOCK_WAIT_SECONDS: Final = 10.0


class VersionedOutcome(ClickOutcome):
    """A click's outcome whose ``updated_message`` shows a known version of the card.

    Attributes:
        card_version: The version ``updated_message`` shows (e.g. a request's revision).
    """

    card_version: int | None = None


@runtime_checkable
class CardWatcher(Protocol):
    """A click handler that wants to know where a card with its buttons was posted."""

    async def card_posted(self, *, platform: Platform, reply: Reply, posted: Posted) -> None:
        """A reply holding this handler's buttons was posted (or shown in place of another)."""
        ...


class CardVersion:
    """One versioned replacement of one message: send it only if nothing newer was shown."""

    def __init__(self, *, store: Store, key: str, number: int) -> None:
        """Bind the version to its message.

        Args:
            store: Where the newest shown version of each message is kept (shared).
            key: The message's key in the store.
            number: This replacement's version.
        """
        self._store = store
        self._key = key
        self.number = number

    async def send(self, deliver: Callable[[], Awaitable[bool]]) -> bool | None:
        """Deliver this version unless an equal or newer one is shown already.

        Call it again for each retry: a newer version shown meanwhile wins.

        Args:
            deliver: Sends the replacement once; True when the platform accepted it.

        Returns:
            ``deliver``'s answer, or None when nothing was sent (an equal or newer version
            is shown).
        """
        owner = secrets.token_hex(8)
        locked = await self._lock(owner)
        try:
            shown = await self._shown()
            if shown is not None and shown >= self.number:
                log.info(
                    "chat.card_update_outdated", card=self._key, version=self.number, shown=shown
                )
                return None
            delivered = await deliver()
            if delivered:
                await self._record()
            return delivered
        finally:
            if locked:
                await self._release(owner)

    async def _lock(self, owner: str) -> bool:
        # Fails open: a card updated out of order beats a card not updated at all.
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        try:
            while not await self._store.acquire_lease(
                self._key + ":lock", owner=owner, ttl_seconds=_LOCK_SECONDS
            ):
                if time.monotonic() > deadline:
                    log.warning("chat.card_lock_timeout", card=self._key)
                    return False
                await asyncio.sleep(0.02)
        except StoreError as exc:
            log.error("store.unavailable", use="card_versions", error=str(exc)[:200])
            return False
        return True

    async def _release(self, owner: str) -> None:
        try:
            await self._store.release_lease(self._key + ":lock", owner=owner)
        except StoreError as exc:
            log.error("store.unavailable", use="card_versions", error=str(exc)[:200])

    async def _shown(self) -> int | None:
        try:
            raw = await self._store.get(self._key)
        except StoreError as exc:
            log.error("store.unavailable", use="card_versions", error=str(exc)[:200])
            return None
        return int(raw) if raw and raw.isdigit() else None

    async def _record(self) -> None:
        try:
            await self._store.put(self._key, str(self.number), ttl_seconds=_KEEP_SECONDS)
        except StoreError as exc:
            log.error("store.unavailable", use="card_versions", error=str(exc)[:200])


class CardVersions:
    """Makes `CardVersion` objects for messages, over the shared store."""

    def __init__(self, *, store: Store) -> None:
        """Keep versions in ``store`` (Redis when scaled out, so every replica compares)."""
        self._store = store

    def of(self, *, platform: Platform, message: Posted, number: int) -> CardVersion:
        """The version ``number`` of a posted message.

        Args:
            platform: Where the message is.
            message: The message.
            number: The version.

        Returns:
            Its guard.
        """
        key = f"card:{platform.value}:{message.channel}:{message.message_id}:shown"
        return CardVersion(store=self._store, key=key, number=number)
