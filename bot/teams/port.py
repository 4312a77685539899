"""`TeamsPort`: the `bot.core.port.ChatPort` of Microsoft Teams, over the Bot Connector.

One instance serves proactive posts (it finds conversations by their stored reference,
`bot.teams.references`); each inbound message or click gets its own (`answering`) that
knows the activity, so answers are replies to it, and, for an ``Action.Execute`` invoke,
the `ClickWindow` whose first note becomes the clicker's private view of the card.

Teams specifics:

- ``whisper``: Teams has no ephemeral messages. During a click invoke the note is the
  invoke response (only the clicker sees it); otherwise it is posted in the thread,
  addressed to the person ("Name: note").
- ``create_channel``: a bot cannot create channels without Microsoft Graph, so an
  incident gets a new post (a thread) in the ``parent`` channel.
- ``upload_image``: the PNG goes inline in a card as a ``data:`` URI, so it must stay
  well under Teams' ~28 KB message limit (`IMAGE_MAX_BYTES`).

Connector failures are logged with a hint and answered None/False; only ``create_channel``
raises (`ChatPortError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

import structlog
from botbuilder.schema import ConversationReference

from agents.messages import Actor, ChatEvent, Context, Paragraph, Platform, Reply
from bot.core.cards import CardVersion
from bot.core.port import ChatPortError, Posted
from bot.teams.card_records import CardRecord, CardRecords
from bot.teams.cards import image_card
from bot.teams.connector import ConnectorError
from bot.teams.errors import NoConversationError
from bot.teams.outbound import Outbound, Place, hint_for, in_channel, place_in, place_of
from bot.teams.references import ConversationReferences, split_conversation_id
from bot.teams.window import ClickWindow
from integrations.store import StoreError

__all__ = ["IMAGE_MAX_BYTES", "TeamsPort"]

log = structlog.get_logger(__name__)

TYPING_WAIT_SECONDS: Final = 2.0
IMAGE_MAX_BYTES: Final = 20_000
"""Largest PNG shown inline: base64 makes it ~27 KB, just under Teams' ~28 KB limit."""


def _no_reference(conversation: str) -> str:
    return (
        f"No Teams conversation reference for {conversation!r}: install the Resync app in "
        "that team or chat (or @mention Resync there once), then retry."
    )


class TeamsPort:
    """Teams as the chat core sees it."""

    def __init__(
        self,
        *,
        outbound: Outbound,
        references: ConversationReferences,
        verified: bool,
        activity: dict[str, Any] | None = None,
        window: ClickWindow | None = None,
    ) -> None:
        """Create a port.

        Args:
            outbound: Sends and replaces cards.
            references: Stored conversation references (proactive posts).
            verified: Whether inbound requests are authenticated (False: local mode).
            activity: The inbound activity being answered, if any.
            window: The click invoke waiting for its answer, if any.
        """
        self._outbound = outbound
        self._refs = references
        self._verified = verified
        self._activity = activity
        self._window = window

    def answering(
        self, activity: dict[str, Any], *, window: ClickWindow | None = None
    ) -> TeamsPort:
        """A port for one inbound activity.

        Args:
            activity: The message or click activity (``serviceUrl`` already checked).
            window: For an ``Action.Execute`` invoke: where the clicker's first note goes.

        Returns:
            A port that replies to the activity.
        """
        return TeamsPort(
            outbound=self._outbound,
            references=self._refs,
            verified=self._verified,
            activity=activity,
            window=window,
        )

    @property
    def records(self) -> CardRecords:
        """The stored cards (for checking clicks)."""
        return self._outbound.records

    @property
    def platform(self) -> Platform:
        """Teams."""
        return Platform.TEAMS

    @property
    def verified(self) -> bool:
        """Whether senders are authenticated (False in local mode: no approvals)."""
        return self._verified

    # --- answering ---------------------------------------------------------------------------

    async def acknowledge(self, event: ChatEvent) -> Posted | None:
        """Show "Resync is typing…" while the answer is worked on (nothing to replace later).

        Best effort and brief: a slow connector must not delay the answer.
        """
        if self._activity is None:
            return None
        try:
            async with asyncio.timeout(TYPING_WAIT_SECONDS):
                await self._outbound.typing(place_of(self._activity, reply=False))
        except (ConnectorError, TimeoutError) as exc:
            log.info("teams.typing_failed", error=str(exc)[:200], event_id=event.event_id)
        return None

    async def reply(
        self, event: ChatEvent, reply: Reply, *, placeholder: Posted | None
    ) -> Posted | None:
        """Answer the message as a reply to it (a card)."""
        if self._activity is not None and str(self._activity.get("id")) == event.event_id:
            place: Place | None = place_of(self._activity)
        else:
            place = await self._place(event.channel_id, event.thread_id)
        if place is None:
            return None
        try:
            sent = await self._outbound.post(place, reply)
        except ConnectorError as exc:
            log.warning(
                "teams.reply_failed", event_id=event.event_id, error=str(exc), hint=hint_for(exc)
            )
            return None
        return Posted(channel=event.channel_id, message_id=sent, thread=event.thread_id)

    async def replace(
        self, message: Posted, reply: Reply, *, version: CardVersion | None = None
    ) -> bool:
        """Replace one of Resync's cards for everyone (and what its buttons are checked against).

        With ``version``, a card that already shows an equal or newer version stays as it is
        (the clicker of an invoke then sees that card).
        """
        window = self._window
        record = await self._outbound.records.at(message.channel, message.message_id)
        clicked = window is not None and window.record.activity_id == message.message_id
        record = record or (window.record if clicked and window is not None else None)
        if record is None:
            log.warning(
                "teams.replace_unknown_message",
                message=message.message_id,
                hint="only cards Resync posted in the last week can be replaced",
            )
            return False

        async def put(card: CardRecord) -> bool:
            try:
                await self._outbound.replace(card, reply)
            except ConnectorError as exc:
                log.warning(
                    "teams.replace_failed",
                    message=message.message_id,
                    error=str(exc),
                    hint=hint_for(exc),
                )
                return False
            return True

        shown = reply
        if version is None:
            done: bool | None = await put(record)
        else:
            done = await version.send(lambda: put(record))
            if done is None:  # a newer card is shown: the clicker sees that one
                current = await self._outbound.records.at(message.channel, message.message_id)
                shown, done = (current or record).reply, True
        if clicked and window is not None:
            window.replaced(shown)
        return bool(done)

    async def whisper(
        self, *, actor: Actor, channel: str, thread: str | None, reply: Reply
    ) -> None:
        """The clicker's view during a click invoke; otherwise "Name: note" in the thread."""
        if self._window is not None and self._window.answer(reply):
            return
        addressed = reply.model_copy(update={"headline": f"{actor.display_name}: {reply.headline}"})
        await self.post_in_thread(channel=channel, thread=thread, reply=addressed)

    # --- posting -----------------------------------------------------------------------------

    async def _lookup(self, conversation: str) -> ConversationReference | None:
        try:
            return await self._refs.lookup(conversation)
        except StoreError as exc:
            log.error("store.unavailable", use="teams_references", error=str(exc)[:200])
            return None

    async def _reference(self, conversation: str) -> ConversationReference | None:
        reference = await self._lookup(conversation)
        if reference is None or reference.conversation is None:
            log.warning("teams.no_conversation", hint=_no_reference(conversation))
            return None
        return reference

    async def _place(self, channel: str, thread: str | None) -> Place | None:
        reference = await self._reference(channel)
        return None if reference is None else place_in(reference, thread)

    async def _post(
        self, channel: str, thread: str | None, reply: Reply, *, card: dict[str, Any] | None = None
    ) -> Posted | None:
        reference = await self._reference(channel)
        if reference is None:
            return None
        place = place_in(reference, thread)
        base = split_conversation_id(channel)[0]
        try:
            if card is None:
                sent = await self._outbound.post(place, reply)
            else:
                _, sent = await self._outbound.post_card(place, card, summary=reply.headline)
        except ConnectorError as exc:
            log.warning(
                "teams.post_failed",
                channel=base,
                thread=thread,
                error=str(exc),
                hint=hint_for(exc),
            )
            return None
        if not in_channel(reference):
            return Posted(channel=base, message_id=sent, thread=None)
        return Posted(channel=base, message_id=sent, thread=thread or sent)

    async def post_in_thread(
        self, *, channel: str, thread: str | None, reply: Reply
    ) -> Posted | None:
        """Post in a channel's thread (a new post when ``thread`` is None); in chats, the chat."""
        return await self._post(channel, thread, reply)

    async def post_to_channel(self, *, channel: str, reply: Reply) -> Posted | None:
        """A new post in a channel (``POST /v3/conversations``); in chats, a message."""
        return await self._post(channel, None, reply)

    async def create_channel(
        self, *, name: str, topic: str, members: Sequence[str], parent: str | None
    ) -> Posted:
        """A new post (thread) in ``parent``: Teams bots cannot create channels without Graph.

        Args:
            name: The post's headline (e.g. the incident's name).
            topic: Its first paragraph.
            members: People it is for (listed; a post has no members of its own).
            parent: The channel (conversation id) to post in.

        Returns:
            The post: ``channel`` = parent, ``message_id`` = ``thread`` = the thread root.

        Raises:
            ChatPortError: No parent, no stored reference for it, or the connector refused.
        """
        if not parent:
            raise ChatPortError(
                "Teams bots cannot create channels (that needs Microsoft Graph): pass the "
                "channel to open the incident's thread in (parent)."
            )
        reference = await self._lookup(parent)
        if reference is None or reference.conversation is None:
            raise NoConversationError(_no_reference(parent))
        blocks: list[Paragraph | Context] = [Paragraph(text=topic)] if topic else []
        if members:
            blocks.append(Context(items=(f"For: {', '.join(members)}",)))
        header = Reply(headline=name, blocks=tuple(blocks))
        base = split_conversation_id(parent)[0]
        try:
            root = await self._outbound.post(place_in(reference, None), header)
        except ConnectorError as exc:
            raise ChatPortError(
                f"Teams refused to start a post for {name!r} in {base}: {exc} ({hint_for(exc)})"
            ) from exc
        return Posted(channel=base, message_id=root, thread=root)

    async def upload_image(
        self, *, channel: str, thread: str | None, png: bytes, title: str
    ) -> Posted | None:
        """Show a PNG inline in a card in the thread (refused over `IMAGE_MAX_BYTES`)."""
        if len(png) > IMAGE_MAX_BYTES:
            log.warning(
                "teams.image_too_large",
                bytes=len(png),
                limit=IMAGE_MAX_BYTES,
                hint="Teams refuses messages over about 28 KB: draw the chart smaller "
                "(fewer points, lower DPI)",
            )
            return None
        return await self._post(
            channel, thread, Reply(headline=title), card=image_card(png, title=title)
        )
