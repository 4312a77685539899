"""Conversation references in the shared store, so any replica can post proactively.

A Teams conversation is reached through its connector ``serviceUrl``, its conversation id
and the bot's own account. Every inbound activity refreshes the reference of its
conversation (keyed by the id without the ``;messageid=`` suffix), serialized from
botbuilder's ``ConversationReference`` to JSON under ``teams:ref:{conversation_id}``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

from integrations.store import Store

__all__ = ["ConversationReferences", "split_conversation_id"]

_MESSAGE_ID: Final = ";messageid="


def split_conversation_id(conversation_id: str) -> tuple[str, str | None]:
    """Split a Teams conversation id into the conversation and the reply-chain root.

    Args:
        conversation_id: E.g. ``19:abc@thread.tacv2;messageid=1700000000000``.

    Returns:
        ``(conversation, root message id or None)``.
    """
    base, found, message_id = conversation_id.partition(_MESSAGE_ID)
    return base, (message_id or None) if found else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class ConversationReferences:
    """Reads and writes conversation references in a `Store`."""

    def __init__(self, *, store: Store) -> None:
        """Create the accessor.

        Args:
            store: The shared store.
        """
        self._store = store

    @staticmethod
    def key(conversation_id: str) -> str:
        """The store key of a conversation's reference."""
        return f"teams:ref:{split_conversation_id(conversation_id)[0]}"

    async def remember(self, activity: dict[str, Any]) -> ConversationReference | None:
        """Store (or refresh) the reference of the conversation an activity came from.

        Args:
            activity: The inbound activity JSON.

        Returns:
            The stored reference, or None when the activity lacks the parts a reference needs.
        """
        conversation = activity.get("conversation") or {}
        recipient = activity.get("recipient") or {}
        service_url = _text(activity.get("serviceUrl"))
        conversation_id = _text(conversation.get("id"))
        if not service_url or not conversation_id:
            return None
        base, _ = split_conversation_id(conversation_id)
        channel_data = activity.get("channelData") or {}
        tenant = _text((channel_data.get("tenant") or {}).get("id")) or _text(
            conversation.get("tenantId")
        )
        reference = ConversationReference(
            activity_id=None,
            bot=ChannelAccount(id=_text(recipient.get("id")), name=_text(recipient.get("name"))),
            conversation=ConversationAccount(
                id=base,
                is_group=bool(conversation.get("isGroup")),
                conversation_type=_text(conversation.get("conversationType")),
                tenant_id=tenant,
            ),
            channel_id=_text(activity.get("channelId")) or "msteams",
            service_url=service_url,
        )
        await self._store.put(self.key(base), json.dumps(reference.serialize()))
        return reference

    async def lookup(self, conversation_id: str) -> ConversationReference | None:
        """Read a conversation's reference.

        Args:
            conversation_id: The conversation id (a ``;messageid=`` suffix is ignored).

        Returns:
            The reference, or None when the bot has never heard from that conversation.
        """
        raw = await self._store.get(self.key(conversation_id))
        if raw is None:
            return None
        return ConversationReference.deserialize(json.loads(raw))
