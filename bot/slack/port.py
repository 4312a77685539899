"""`SlackPort`: the `bot.core.port.ChatPort` of Slack, over the Web API.

One instance serves proactive posts; a slash command gets its own (`for_command`) that
knows the command's ``response_url``, so private notes and answers in channels Resync may
not post in still reach the person. Replies arrive already paged by the core; each is
rendered as one Block Kit message (`bot.slack.blocks.render_reply`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import aiohttp
import structlog
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import Actor, ChatEvent, Platform, Reply, Tone
from bot.core import texts
from bot.core.cards import CardVersion
from bot.core.port import ChatPortError, Posted
from bot.slack.blocks import render_reply
from bot.slack.poster import PostContext, SlackPoster, hint_for

__all__ = ["SlackPort"]

log = structlog.get_logger(__name__)

_NAME_TRIES: Final = 20


class SlackPort:
    """Slack as the chat core sees it."""

    def __init__(
        self,
        *,
        poster: SlackPoster,
        client: AsyncWebClient,
        response_url: str = "",
        delivery_id: str = "",
    ) -> None:
        """Create a port.

        Args:
            poster: Every Web API call, with error hints.
            client: The Web API client (file uploads).
            response_url: A slash command's checked ``response_url`` ("" otherwise).
            delivery_id: The delivery being answered (log correlation).
        """
        self._poster = poster
        self._client = client
        self._response_url = response_url
        self._delivery = delivery_id

    def for_command(self, *, response_url: str, delivery_id: str) -> SlackPort:
        """A port for one slash command.

        Args:
            response_url: The command's ``response_url`` (checked against Slack's hosts).
            delivery_id: The command's trigger id.

        Returns:
            A port that whispers through ``response_url``.
        """
        checked = self._poster.checked_response_url(response_url)
        return SlackPort(
            poster=self._poster, client=self._client, response_url=checked, delivery_id=delivery_id
        )

    @property
    def platform(self) -> Platform:
        """Slack."""
        return Platform.SLACK

    @property
    def verified(self) -> bool:
        """Slack requests are signed: always verified."""
        return True

    def _context(self, channel: str | None, thread: str | None) -> PostContext:
        return PostContext(actor=None, channel=channel, thread=thread, event_id=self._delivery)

    async def acknowledge(self, event: ChatEvent) -> Posted | None:
        """Post "Looking up …" where the answer will go; the answer replaces it."""
        command = bool(self._response_url) or event.thread_id is None
        note = texts.looking_up(event.text, name=event.actor.display_name if command else None)
        ts = await self._poster.post(
            channel=event.channel_id,
            message=render_reply(note),
            thread_ts=event.thread_id,
            context=self._context(event.channel_id, event.thread_id),
        )
        if ts is None:
            return None
        return Posted(channel=event.channel_id, message_id=ts, thread=event.thread_id or ts)

    async def reply(
        self, event: ChatEvent, reply: Reply, *, placeholder: Posted | None
    ) -> Posted | None:
        """Replace the placeholder with the answer; privately when Resync may not post there."""
        if placeholder is not None:
            if await self.replace(placeholder, reply):
                return placeholder
            return await self.post_in_thread(
                channel=event.channel_id, thread=placeholder.thread, reply=reply
            )
        if self._response_url:
            # Not allowed to post here (private channel, someone else's DM, not invited): the
            # person still gets the answer, privately, and learns how to fix it.
            error = self._poster.last_error or "unknown_error"
            warning = Reply(
                headline=f"I cannot post in this channel ({error}): {hint_for(error)} "
                "Here is your answer, visible only to you.",
                tone=Tone.WARNING,
            )
            context = self._context(event.channel_id, None)
            await self._poster.respond(
                response_url=self._response_url, message=render_reply(warning), context=context
            )
            answered = await self._poster.respond(
                response_url=self._response_url, message=render_reply(reply), context=context
            )
            return Posted(channel=event.channel_id, message_id="") if answered else None
        return await self.post_in_thread(
            channel=event.channel_id, thread=event.thread_id, reply=reply
        )

    async def replace(
        self, message: Posted, reply: Reply, *, version: CardVersion | None = None
    ) -> bool:
        """``chat.update`` of one of Resync's messages (never an older ``version``)."""
        return await self._poster.update(
            channel=message.channel,
            ts=message.message_id,
            message=render_reply(reply),
            context=self._context(message.channel, message.thread),
            version=version,
        )

    async def whisper(
        self, *, actor: Actor, channel: str, thread: str | None, reply: Reply
    ) -> None:
        """An ephemeral note (through the command's ``response_url`` when there is one)."""
        message = render_reply(reply)
        context = self._context(channel, thread)
        if self._response_url:
            await self._poster.respond(
                response_url=self._response_url, message=message, context=context
            )
            return
        await self._poster.ephemeral(
            channel=channel,
            user=actor.user_id,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread,
            context=context,
        )

    async def post_in_thread(
        self, *, channel: str, thread: str | None, reply: Reply
    ) -> Posted | None:
        """``chat.postMessage`` in a thread (top level when ``thread`` is None)."""
        ts = await self._poster.post(
            channel=channel,
            message=render_reply(reply),
            thread_ts=thread,
            context=self._context(channel, thread),
        )
        return None if ts is None else Posted(channel=channel, message_id=ts, thread=thread or ts)

    async def post_to_channel(self, *, channel: str, reply: Reply) -> Posted | None:
        """A new top-level message."""
        return await self.post_in_thread(channel=channel, thread=None, reply=reply)

    async def create_channel(
        self, *, name: str, topic: str, members: Sequence[str], parent: str | None
    ) -> Posted:
        """``conversations.create`` (a suffix when the name is taken), topic, invitations.

        Args:
            name: Wanted channel name (lower case, digits, ``-``; at most 80 characters).
            topic: The channel's topic.
            members: Slack user ids to invite.
            parent: Unused on Slack (channels are first-class).

        Returns:
            The new channel (``message_id`` is empty: nothing was posted yet).

        Raises:
            ChatPortError: Slack refused, with what to do.
        """
        context = self._context(None, None)
        created: dict[str, Any] | None = None
        for attempt in range(1, _NAME_TRIES + 1):
            wanted = (
                name[:80] if attempt == 1 else f"{name[: 80 - len(str(attempt)) - 1]}-{attempt}"
            )
            created = await self._poster.call("conversations.create", {"name": wanted}, context)
            if created is not None or self._poster.last_error != "name_taken":
                break
        if created is None:
            error = self._poster.last_error or "unknown_error"
            raise ChatPortError(f"Slack refused to create #{name} ({error}): {hint_for(error)}")
        channel = str((created.get("channel") or {}).get("id") or "")
        await self._poster.call(
            "conversations.setTopic", {"channel": channel, "topic": topic[:250]}, context
        )
        if members:
            users = ",".join(dict.fromkeys(members))
            await self._poster.call(
                "conversations.invite", {"channel": channel, "users": users}, context
            )
        return Posted(channel=channel, message_id="", thread=None)

    async def upload_image(
        self, *, channel: str, thread: str | None, png: bytes, title: str
    ) -> Posted | None:
        """``files.getUploadURLExternal``, a POST of the bytes, ``files.completeUploadExternal``."""
        context = self._context(channel, thread)
        slot = await self._poster.call(
            "files.getUploadURLExternal", {"filename": "chart.png", "length": len(png)}, context
        )
        if slot is None or not slot.get("upload_url") or not slot.get("file_id"):
            return None
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(str(slot["upload_url"]), data=png) as response,
            ):
                if response.status != 200:
                    log.warning("slack.upload_failed", status=response.status, hint="retry later")
                    return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack.upload_failed", error=type(exc).__name__)
            return None
        complete: dict[str, Any] = {
            "files": [{"id": str(slot["file_id"]), "title": title[:200]}],
            "channel_id": channel,
        }
        if thread:
            complete["thread_ts"] = thread
        done = await self._poster.call("files.completeUploadExternal", complete, context)
        if done is None:
            return None
        return Posted(channel=channel, message_id=str(slot["file_id"]), thread=thread)
