"""The cards Resync posted, kept in the shared store so any replica can check a click.

A card's buttons carry only the card id and the button's action id back; the reply itself
(and so each button's value and label) stays here, under ``teams:card:{card_id}`` for a
week, with where the card was posted, so a click is acted on only when the button is on
the card, with the stored value, and the card can be replaced for everyone. A second key,
``teams:card-at:{activity_id}``, finds the card of a posted message (``ChatPort.replace``).

Store failures are logged, never raised: a card that cannot be found is refused like an
expired one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import structlog
from pydantic import ValidationError

from agents.messages import Actions, Button, Reply
from bot.teams.references import split_conversation_id
from integrations.store import Store, StoreError

__all__ = ["CARD_TTL_SECONDS", "CardRecord", "CardRecords"]

log = structlog.get_logger(__name__)

CARD_TTL_SECONDS: Final = 7 * 24 * 3600.0


def _at_key(conversation_id: str, activity_id: str) -> str:
    return f"teams:card-at:{split_conversation_id(conversation_id)[0]}:{activity_id}"


@dataclass(frozen=True, slots=True)
class CardRecord:
    """One posted card.

    Attributes:
        card_id: The id its buttons carry.
        reply: What it shows now.
        service_url: The connector it was posted through.
        conversation_id: The conversation (with ``;messageid=`` in a channel thread).
        activity_id: The posted message's activity id.
    """

    card_id: str
    reply: Reply
    service_url: str
    conversation_id: str
    activity_id: str

    def button(self, action_id: str) -> Button | None:
        """The card's button with this action id, if it has one.

        Args:
            action_id: From the click (untrusted).

        Returns:
            The stored button, or None.
        """
        for block in self.reply.blocks:
            if isinstance(block, Actions):
                for button in block.buttons:
                    if button.action_id == action_id:
                        return button
        return None

    def showing(self, reply: Reply) -> CardRecord:
        """The same card showing another reply."""
        return CardRecord(
            card_id=self.card_id,
            reply=reply,
            service_url=self.service_url,
            conversation_id=self.conversation_id,
            activity_id=self.activity_id,
        )


class CardRecords:
    """Reads and writes `CardRecord` in a `Store`."""

    def __init__(self, *, store: Store, ttl_seconds: float = CARD_TTL_SECONDS) -> None:
        """Create the accessor.

        Args:
            store: The shared store.
            ttl_seconds: How long a card's buttons keep working.
        """
        self._store = store
        self._ttl = ttl_seconds

    async def save(self, record: CardRecord) -> None:
        """Store (or replace) a card and the index from its message to it."""
        data = {
            "reply": record.reply.model_dump(mode="json"),
            "service_url": record.service_url,
            "conversation_id": record.conversation_id,
            "activity_id": record.activity_id,
        }
        try:
            await self._store.put(
                f"teams:card:{record.card_id}", json.dumps(data), ttl_seconds=self._ttl
            )
            if record.activity_id:
                await self._store.put(
                    _at_key(record.conversation_id, record.activity_id),
                    record.card_id,
                    ttl_seconds=self._ttl,
                )
        except StoreError as exc:
            log.error(
                "store.unavailable",
                use="teams_cards",
                card=record.card_id,
                error=str(exc)[:200],
                hint="the card's buttons will answer as expired; check the store (Redis)",
            )

    async def load(self, card_id: str) -> CardRecord | None:
        """A card by its id (None: unknown, expired or unreadable)."""
        try:
            raw = await self._store.get(f"teams:card:{card_id}")
        except StoreError as exc:
            log.error("store.unavailable", use="teams_cards", card=card_id, error=str(exc)[:200])
            return None
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return CardRecord(
                card_id=card_id,
                reply=Reply.model_validate(data["reply"]),
                service_url=str(data["service_url"]),
                conversation_id=str(data["conversation_id"]),
                activity_id=str(data.get("activity_id") or ""),
            )
        except (ValueError, KeyError, TypeError, ValidationError):
            log.warning("teams.card_unreadable", card=card_id)
            return None

    async def at(self, conversation_id: str, activity_id: str) -> CardRecord | None:
        """The card posted as message ``activity_id`` (None: not one of ours, or expired).

        Args:
            conversation_id: The conversation (a ``;messageid=`` suffix is ignored).
            activity_id: The posted message's id.

        Returns:
            The card, or None.
        """
        try:
            card_id = await self._store.get(_at_key(conversation_id, activity_id))
        except StoreError as exc:
            log.error("store.unavailable", use="teams_cards", error=str(exc)[:200])
            return None
        return await self.load(card_id) if card_id else None
