"""`SlackRooms`: an incident gets its own Slack channel, a pinned state message, an announcement.

Opening (``IncidentRooms.open``), idempotent per incident id:

1. the channel remembered for the id in the `Store` (Redis when scaled out), if it still
   exists;
2. else the wanted name (`bot.incidents.naming`) and its suffixed variants are looked up
   with ``conversations.list`` (every page, archived channels too): a channel whose topic or
   purpose names the incident id is this incident's — or, when it has neither yet, one
   Resync's bot created (the process died right after ``conversations.create``); a channel
   of someone else moves on to the next suffix;
3. else ``conversations.create``; the new channel is remembered at once, then gets its
   topic, its purpose (``Incident INC-… — managed by Resync``: the marker of step 2) and the
   declarer and lead invited. A refused topic or invitation is logged, not fatal: the
   channel is returned, so the service records it and nothing is left half-made without a
   record.

Messages are rendered by the Slack renderer (`bot.slack.blocks.render_reply`, which escapes
every text); the one piece of mrkdwn added here is the channel link ``<#C…>`` built from a
channel id Slack returned and checked to be one. Posts are remembered by their key in the
store (``pins.add`` needs ``pins:write``; ``already_pinned`` counts as done). Every refusal
raises `agents.incidents.RoomsError` with what to do (`bot.incidents.slack_api.rooms_error`);
the service audits what happens and tries a failed step again later.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import structlog

from agents.incidents.errors import RoomsError
from agents.incidents.model import Incident, Location, Person
from agents.incidents.ports import OpenedPlace
from agents.messages import Reply
from bot.incidents.memory import RoomMemory
from bot.incidents.naming import MAX_NAME, candidate, channel_name
from bot.incidents.slack_api import SlackApi, SlackCallError, rooms_error
from integrations.store import Store

if TYPE_CHECKING:
    from bot.slack.blocks import SlackMessage

__all__ = ["SLACK", "IncidentLookup", "SlackRooms", "channel_link"]

log = structlog.get_logger(__name__)


def render_reply(reply: Reply) -> SlackMessage:
    """``bot.slack.blocks.render_reply``, imported on first use.

    Importing ``bot.slack`` starts the Slack surface's imports, which a process without
    Slack rooms (``resync ask``) never needs.
    """
    from bot.slack.blocks import render_reply as render

    return render(reply)


SLACK: Final = "slack"
IncidentLookup = Callable[[str], Awaitable[Incident]]
"""Reads an incident by id (the service's ``get``): names and links come from it."""

_CHANNEL_ID: Final = re.compile(r"[CG][A-Z0-9]{2,}")
_USER_ID: Final = re.compile(r"[UW][A-Z0-9]{2,}")
_TRIES: Final = 20
_MAX_PAGES: Final = 500
_INVITE_OK: Final = frozenset({"already_in_channel", "cant_invite_self"})


def channel_link(channel: str) -> dict[str, Any]:
    """A context block ``Incident channel: <#C…>`` (Slack shows the channel's name, linked).

    Args:
        channel: A channel id Slack returned.

    Raises:
        ValueError: ``channel`` is not a channel id (nothing else may become mrkdwn).
    """
    if not _CHANNEL_ID.fullmatch(channel):
        raise ValueError(f"not a Slack channel id: {channel[:40]!r}")
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Incident channel: <#{channel}>"}],
    }


@dataclass(frozen=True, slots=True)
class _Channel:
    id: str
    name: str
    archived: bool
    creator: str
    topic: str
    purpose: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> _Channel:
        return cls(
            id=str(data.get("id") or ""),
            name=str(data.get("name") or ""),
            archived=bool(data.get("is_archived")),
            creator=str(data.get("creator") or ""),
            topic=str((data.get("topic") or {}).get("value") or ""),
            purpose=str((data.get("purpose") or {}).get("value") or ""),
        )


class SlackRooms:
    """One Slack channel per incident (an `agents.incidents.IncidentRooms` for Slack)."""

    platform: Final = SLACK

    def __init__(
        self,
        *,
        api: SlackApi,
        store: Store,
        announce_channel: str | None = None,
        template: str | None = None,
        zone: ZoneInfo | None = None,
        lookup: IncidentLookup | None = None,
        namespace: str = "inc:rooms:slack:",
    ) -> None:
        """Configure the rooms.

        Args:
            api: The Web API.
            store: Remembers channels and posts by key (shared by the replicas).
            announce_channel: Where incidents are announced (``RESYNC_INCIDENTS_SLACK_CHANNEL``);
                None: where they were declared, when that was in Slack.
            template: The channel name template; None (or no ``lookup``): the name the
                service gives.
            zone: The zone of the ``{date}`` placeholder.
            lookup: Reads an incident by id (names, and the link of the announcement).
            namespace: Prefix of the store keys.
        """
        self._api = api
        self._memory = RoomMemory(store, namespace)
        self._announce = announce_channel
        self._template = template
        self._zone = zone or ZoneInfo("UTC")
        self._lookup = lookup
        self._bot_user: str | None = None

    # --- opening -----------------------------------------------------------------------------

    async def open(
        self,
        *,
        key: str,
        name: str,
        topic: str,
        origin: Location | None,
        members: Sequence[Person],
    ) -> Sequence[OpenedPlace]:
        """Find or create the incident's channel; see the module docstring."""
        channel = await self._remembered(key)
        created = False
        if channel is None:
            channel, created = await self._find_or_create(key, await self._wanted(key, name))
        if channel.archived:
            raise RoomsError(
                f"Slack: the channel #{channel.name} ({channel.id}) of {key} is archived: "
                "unarchive it in Slack and Resync will carry on there"
            )
        await self._prepare(channel, key=key, topic=topic, members=members, fresh=created)
        announce = Location(platform=SLACK, channel=self._announce) if self._announce else None
        if announce is None and origin is not None and origin.platform == SLACK:
            announce = origin
        return [
            OpenedPlace(room=Location(platform=SLACK, channel=channel.id), announce_at=announce)
        ]

    async def _wanted(self, key: str, name: str) -> str:
        if not self._template or self._lookup is None:
            return name[:MAX_NAME]
        return channel_name(self._template, await self._lookup(key), zone=self._zone)

    async def _remembered(self, key: str) -> _Channel | None:
        channel_id = await self._memory.get(f"channel:{key}")
        if not channel_id:
            return None
        try:
            info = await self._api.call("conversations.info", channel=channel_id)
        except SlackCallError as exc:
            if exc.error == "channel_not_found":
                return None  # deleted since: look it up by name again
            raise rooms_error(exc, doing=f"reading channel {channel_id} of {key}") from None
        return _Channel.of(info.get("channel") or {})

    async def _find_or_create(self, key: str, wanted: str) -> tuple[_Channel, bool]:
        prefix = wanted[: MAX_NAME - len(str(_TRIES)) - 1]
        existing = await self._channels(prefix, key)
        for attempt in range(1, _TRIES + 1):
            name = candidate(wanted, attempt)
            known = existing.get(name)
            if known is not None:
                if await self._ours(known, key):
                    return known, False
                continue  # someone else's channel: the next suffix
            try:
                answer = await self._api.call("conversations.create", name=name, is_private=False)
            except SlackCallError as exc:
                if exc.error != "name_taken":
                    raise rooms_error(exc, doing=f"creating #{name} for {key}") from None
                # Taken by a channel the list did not show (private, or just created).
                existing = await self._channels(prefix, key)
                known = existing.get(name)
                if known is not None and await self._ours(known, key):
                    return known, False
                continue
            channel = _Channel.of(answer.get("channel") or {})
            if not _CHANNEL_ID.fullmatch(channel.id):
                raise RoomsError(f"Slack: conversations.create for {key} returned no channel id")
            await self._memory.put(f"channel:{key}", channel.id)
            log.info("incident.slack_channel_created", incident=key, channel=channel.id, name=name)
            return channel, True
        raise RoomsError(
            f"Slack: no free channel name for {key}: #{wanted} and {_TRIES - 1} numbered "
            "variants belong to other channels; archive old channels or change "
            "RESYNC_INCIDENT_CHANNEL_TEMPLATE"
        )

    async def _channels(self, prefix: str, key: str) -> dict[str, _Channel]:
        """Every public channel (archived too) whose name starts with ``prefix``."""
        found: dict[str, _Channel] = {}
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            try:
                page = await self._api.call(
                    "conversations.list",
                    types="public_channel",
                    exclude_archived=False,
                    limit=1000,
                    cursor=cursor,
                )
            except SlackCallError as exc:
                raise rooms_error(exc, doing=f"looking up the channel of {key}") from None
            for data in page.get("channels") or ():
                channel = _Channel.of(data)
                if channel.name.startswith(prefix):
                    found[channel.name] = channel
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                break
        return found

    async def _ours(self, channel: _Channel, key: str) -> bool:
        marks = f"{channel.topic} {channel.purpose}".lower()
        if key.lower() in marks:
            return True
        # Created, then the process died before the topic was set: Resync's own, unmarked.
        return not channel.topic and not channel.purpose and channel.creator == await self._bot()

    async def _bot(self) -> str | None:
        if self._bot_user is None:
            try:
                self._bot_user = str((await self._api.call("auth.test")).get("user_id") or "")
            except SlackCallError as exc:
                log.warning("incident.slack_auth_test_failed", error=exc.error)
                return None
        return self._bot_user or None

    async def _prepare(
        self, channel: _Channel, *, key: str, topic: str, members: Sequence[Person], fresh: bool
    ) -> None:
        steps: list[tuple[str, dict[str, Any]]] = []
        if fresh or not channel.topic:
            steps.append(("conversations.setTopic", {"topic": topic[:250]}))
        if fresh or key.lower() not in channel.purpose.lower():
            purpose = f"Incident {key} — managed by Resync"
            steps.append(("conversations.setPurpose", {"purpose": purpose}))
        bot = await self._bot()
        users = dict.fromkeys(
            p.user_id
            for p in members
            if p.platform == SLACK and _USER_ID.fullmatch(p.user_id) and p.user_id != bot
        )
        steps.extend(("conversations.invite", {"users": user}) for user in users)
        for method, arguments in steps:
            try:
                await self._api.call(method, channel=channel.id, **arguments)
            except SlackCallError as exc:
                if exc.error in _INVITE_OK:
                    continue
                log.warning(
                    "incident.slack_setup_incomplete",
                    incident=key,
                    channel=channel.id,
                    method=method,
                    hint=str(rooms_error(exc, doing=method, channel=channel.id)),
                )

    # --- messages ------------------------------------------------------------------------------

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        """``chat.postMessage`` (once per key); an announcement links the incident's channel."""
        remembered = await self._memory.get(f"post:{key}")
        if remembered:
            return remembered
        room = await self._room_of(key.split(":", 1)[0]) if ":announce:" in key else None
        message = render_reply(reply)
        blocks = [*message.blocks, channel_link(room)] if room else message.blocks
        try:
            answer = await self._api.call(
                "chat.postMessage",
                channel=at.channel,
                thread_ts=at.thread,
                text=message.text,
                blocks=blocks,
                unfurl_links=False,
            )
        except SlackCallError as exc:
            raise rooms_error(exc, doing=f"posting in {at.channel}", channel=at.channel) from None
        ts = str(answer.get("ts") or "") or None
        if ts is not None:
            await self._memory.put(f"post:{key}", ts)
            if room:
                await self._memory.put(f"link:{at.channel}:{ts}", room)
        return ts

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        """``chat.update`` (an announcement keeps its channel link)."""
        room = await self._memory.get(f"link:{at.channel}:{message_id}")
        message = render_reply(reply)
        blocks = [*message.blocks, channel_link(room)] if room else message.blocks
        try:
            await self._api.call(
                "chat.update", channel=at.channel, ts=message_id, text=message.text, blocks=blocks
            )
        except SlackCallError as exc:
            raise rooms_error(
                exc, doing=f"updating a message in {at.channel}", channel=at.channel
            ) from None
        return True

    async def pin(self, *, at: Location, message_id: str) -> bool:
        """``pins.add``; already pinned counts as done."""
        try:
            await self._api.call("pins.add", channel=at.channel, timestamp=message_id)
        except SlackCallError as exc:
            if exc.error == "already_pinned":
                return True
            raise rooms_error(
                exc, doing=f"pinning the state message in {at.channel}", channel=at.channel
            ) from None
        return True

    async def whisper_link(
        self, *, at: Location, user: str, reply: Reply, incident: Incident
    ) -> bool:
        """Tell one person ``reply`` with a link to the incident's channel (ephemeral).

        Returns:
            False when there is no channel yet or Slack refused (the caller says it plainly).
        """
        room = next((p.room.channel for p in incident.places if p.platform == SLACK), None)
        if room is None or not _CHANNEL_ID.fullmatch(room):
            return False
        message = render_reply(reply)
        try:
            await self._api.call(
                "chat.postEphemeral",
                channel=at.channel,
                user=user,
                thread_ts=at.thread,
                text=message.text,
                blocks=[*message.blocks, channel_link(room)],
            )
        except SlackCallError as exc:
            log.warning("incident.slack_whisper_failed", incident=incident.id, error=exc.error)
            return False
        return True

    async def _room_of(self, incident_id: str) -> str | None:
        room = await self._memory.get(f"channel:{incident_id}")
        if room is None and self._lookup is not None:
            incident = await self._lookup(incident_id)
            room = next((p.room.channel for p in incident.places if p.platform == SLACK), None)
        return room if room and _CHANNEL_ID.fullmatch(room) else None
