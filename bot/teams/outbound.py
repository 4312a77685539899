"""Sending cards through the Bot Connector: where a message goes, and what goes there.

A `Place` says where: the connector (``serviceUrl``), the conversation (with
``;messageid=<root>`` for a channel thread), the bot account, and whether the message
answers an activity or starts a new post in a channel (``POST /v3/conversations``).
`Outbound` renders a `Reply` as an Adaptive Card, sends it there and stores the card
(`bot.teams.card_records`) so clicks on its buttons can be checked and the card replaced.

Connector failures raise `ConnectorError`; `hint_for` says what to do about one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import ConversationReference

from agents.messages import Reply
from bot.teams.card_records import CardRecord, CardRecords
from bot.teams.cards import CARD_BUDGET_BYTES, CARD_CONTENT_TYPE, render_card
from bot.teams.connector import ConnectorClient, ConnectorError
from bot.teams.escape import escape_markdown
from bot.teams.references import split_conversation_id

__all__ = ["Outbound", "Place", "hint_for", "place_in", "place_of"]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message goes.

    Attributes:
        service_url: The connector's base URL.
        conversation_id: The conversation; ``;messageid=<root>`` for a channel thread.
        bot: The bot's account (``id``, ``name``), sent as ``from``.
        reply_to: The activity this message answers, if any.
        new_post: Start a new post (a thread) in the channel ``conversation_id``.
        tenant: The tenant, for a new post.
    """

    service_url: str
    conversation_id: str
    bot: dict[str, Any] | None = None
    reply_to: str | None = None
    new_post: bool = False
    tenant: str | None = None


def in_channel(reference: ConversationReference) -> bool:
    """Whether a conversation is a team's channel (which has threads)."""
    return (
        reference.conversation is not None and reference.conversation.conversation_type == "channel"
    )


def place_in(reference: ConversationReference, thread: str | None) -> Place:
    """Where a proactive message goes: the thread in a channel, a new post, or the chat.

    Args:
        reference: The stored reference of the conversation.
        thread: The thread root; None starts a new post in a channel (chats have no threads).

    Returns:
        The place.
    """
    conversation = reference.conversation
    base = split_conversation_id(str(conversation.id if conversation else ""))[0]
    bot = reference.bot
    account = {"id": bot.id, "name": bot.name} if bot is not None and bot.id else None
    service_url = str(reference.service_url)
    if in_channel(reference):
        if thread:
            return Place(service_url, f"{base};messageid={thread}", account)
        tenant = conversation.tenant_id if conversation is not None else None
        return Place(service_url, base, account, new_post=True, tenant=tenant)
    return Place(service_url, base, account)


def place_of(activity: dict[str, Any], *, reply: bool = True) -> Place:
    """Where the answer to an inbound activity goes: its conversation, as a reply to it.

    Args:
        activity: The inbound activity JSON (``serviceUrl`` already checked).
        reply: Answer the activity (False: just post in its conversation).

    Returns:
        The place.
    """
    recipient = activity.get("recipient")
    bot = None
    if isinstance(recipient, dict) and recipient.get("id"):
        bot = {"id": recipient["id"], "name": recipient.get("name")}
    activity_id = activity.get("id")
    return Place(
        service_url=str(activity.get("serviceUrl") or ""),
        conversation_id=str((activity.get("conversation") or {}).get("id") or ""),
        bot=bot,
        reply_to=str(activity_id) if reply and activity_id else None,
    )


def hint_for(error: ConnectorError) -> str:
    """What to do about a connector failure, for the log line."""
    status = error.status
    if status is None:
        return "the Bot Connector could not be reached: check outbound HTTPS from this host"
    if status in (401, 403):
        return (
            "the connector refused the bot: check RESYNC_TEAMS_APP_ID / _APP_PASSWORD / "
            "_TENANT_ID and that the app is still installed in that conversation"
        )
    if status == 404:
        return "the conversation or message is gone (deleted, or the app was removed)"
    if status == 413:
        return "the message is larger than Teams accepts (about 28 KB)"
    if status == 429:
        return "Teams is throttling the bot; later messages will get through"
    return "the Bot Connector failed; it usually recovers, try again later"


class Outbound:
    """Renders and sends cards, and keeps the record of each one."""

    def __init__(
        self,
        *,
        connector: ConnectorClient,
        records: CardRecords,
        budget_bytes: int = CARD_BUDGET_BYTES,
    ) -> None:
        """Create the sender.

        Args:
            connector: The Bot Connector client.
            records: Where posted cards are kept.
            budget_bytes: Most bytes one card may take.
        """
        self._connector = connector
        self.records = records
        self.budget = budget_bytes

    async def post(self, place: Place, reply: Reply) -> str:
        """Send a reply as a card and remember it.

        Args:
            place: Where.
            reply: What.

        Returns:
            The posted message's activity id (for a new post: the thread root).

        Raises:
            ConnectorError: The connector refused or could not be reached.
        """
        card_id = uuid.uuid4().hex
        card = render_card(reply, card_id=card_id, budget_bytes=self.budget).card
        conversation_id, sent = await self.post_card(place, card, summary=reply.headline)
        await self.records.save(
            CardRecord(
                card_id=card_id,
                reply=reply,
                service_url=place.service_url,
                conversation_id=conversation_id,
                activity_id=sent,
            )
        )
        return sent

    async def post_card(
        self, place: Place, card: dict[str, Any], *, summary: str
    ) -> tuple[str, str]:
        """Send a rendered card (not remembered: it has no buttons to check).

        Args:
            place: Where.
            card: The Adaptive Card JSON.
            summary: The notification text (escaped here).

        Returns:
            ``(conversation id, activity id)`` of the posted message.

        Raises:
            ConnectorError: The connector refused or could not be reached.
        """
        message: dict[str, Any] = {
            "type": "message",
            "summary": escape_markdown(summary[:200]),
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        if place.new_post:
            return await self._new_post(place, message)
        if place.bot:
            message["from"] = place.bot
        if place.reply_to:
            answer = await self._connector.reply_to_activity(
                service_url=place.service_url,
                conversation_id=place.conversation_id,
                activity_id=place.reply_to,
                activity=message,
            )
        else:
            answer = await self._connector.send_to_conversation(
                service_url=place.service_url,
                conversation_id=place.conversation_id,
                activity=message,
            )
        return place.conversation_id, str(answer.get("id") or "")

    async def _new_post(self, place: Place, message: dict[str, Any]) -> tuple[str, str]:
        parameters: dict[str, Any] = {
            "isGroup": True,
            "channelData": {"channel": {"id": place.conversation_id}},
            "activity": message,
        }
        if place.bot:
            parameters["bot"] = place.bot
        if place.tenant:
            parameters["tenantId"] = place.tenant
            parameters["channelData"]["tenant"] = {"id": place.tenant}
        answer = await self._connector.create_conversation(
            service_url=place.service_url, parameters=parameters
        )
        thread_conversation = str(answer.get("id") or "")
        root = answer.get("activityId") or split_conversation_id(thread_conversation)[1] or ""
        root = str(root)
        return thread_conversation or f"{place.conversation_id};messageid={root}", root

    async def replace(self, record: CardRecord, reply: Reply) -> None:
        """Replace a posted card for everyone and remember what it shows now.

        Raises:
            ConnectorError: The connector refused or could not be reached.
        """
        card = render_card(reply, card_id=record.card_id, budget_bytes=self.budget).card
        await self._connector.update_activity(
            service_url=record.service_url,
            conversation_id=record.conversation_id,
            activity_id=record.activity_id,
            activity={
                "type": "message",
                "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
            },
        )
        await self.records.save(record.showing(reply))

    async def typing(self, place: Place) -> None:
        """Show "Resync is typing…" in a conversation.

        Raises:
            ConnectorError: The connector refused or could not be reached.
        """
        activity: dict[str, Any] = {"type": "typing"}
        if place.bot:
            activity["from"] = place.bot
        await self._connector.send_to_conversation(
            service_url=place.service_url,
            conversation_id=place.conversation_id,
            activity=activity,
        )
