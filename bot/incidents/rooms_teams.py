"""`TeamsRooms`: an incident gets a thread in the configured Teams channel.

A Teams bot cannot create channels without Microsoft Graph, so an incident's room is a new
post in ``RESYNC_INCIDENTS_TEAMS_CHANNEL`` (`bot.core.port.ChatPort.create_channel` on the
`bot.teams.port.TeamsPort`); the state card is the first reply in that thread and is
updated in place; Teams has no pinning for bots, so `TeamsRooms.pin` is a no-op that reports
done. Replies are cards rendered by the Teams renderer, which escapes every text.

Idempotency per key: the thread opened for an incident id, and every post by its key, are
remembered in the `Store` right after the connector answers. With Redis (``RESYNC_REDIS_URL``)
that survives a restart; with the in-memory store a process that dies between starting the
thread and the service recording it leaves one extra, empty thread behind (logged).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import structlog

from agents.incidents.errors import RoomsError
from agents.incidents.model import Incident, Location, Person
from agents.incidents.ports import OpenedPlace
from agents.messages import Reply
from bot.core.port import ChatPort, ChatPortError, Posted
from bot.incidents.memory import RoomMemory
from integrations.store import Store

__all__ = ["TEAMS", "TeamsRooms"]

log = structlog.get_logger(__name__)

TEAMS: Final = "teams"
_SEPARATOR: Final = "\n"


class TeamsRooms:
    """One thread per incident in a Teams channel (an `agents.incidents.IncidentRooms`)."""

    platform: Final = TEAMS

    def __init__(
        self,
        *,
        port: ChatPort,
        store: Store,
        channel: str | None,
        namespace: str = "inc:rooms:teams:",
    ) -> None:
        """Configure the rooms.

        Args:
            port: The Teams port (its stored conversation references reach the channel).
            store: Remembers threads and posts by key (shared by the replicas).
            channel: The channel's conversation id (``RESYNC_INCIDENTS_TEAMS_CHANNEL``).
            namespace: Prefix of the store keys.
        """
        self._port = port
        self._memory = RoomMemory(store, namespace)
        self._channel = channel

    async def open(
        self,
        *,
        key: str,
        name: str,
        topic: str,
        origin: Location | None,
        members: Sequence[Person],
    ) -> Sequence[OpenedPlace]:
        """Start (or find again) the incident's thread in the incidents channel."""
        announce = origin if origin is not None and origin.platform == TEAMS else None
        remembered = await self._memory.get(f"thread:{key}")
        if remembered and _SEPARATOR in remembered:
            channel, thread = remembered.split(_SEPARATOR, 1)
            room = Location(platform=TEAMS, channel=channel, thread=thread)
            return [OpenedPlace(room=room, announce_at=announce)]
        if not self._channel:
            raise RoomsError(
                f"Teams: no channel for the thread of {key}: set RESYNC_INCIDENTS_TEAMS_CHANNEL "
                "to the conversation id of a channel where the Resync app is installed"
            )
        try:
            posted = await self._port.create_channel(
                name=topic,
                topic=f"Incident room {name}: the state card follows; updates and commands go "
                "in this thread.",
                # The declarer usually leads too: each person once.
                members=list({p.identity.lower(): p.name for p in members}.values()),
                parent=self._channel,
            )
        except ChatPortError as exc:
            raise RoomsError(f"Teams: starting the thread of {key} failed: {exc}") from None
        thread = posted.thread or posted.message_id
        if not thread:
            raise RoomsError(f"Teams: the connector returned no thread id for {key}")
        await self._memory.put(f"thread:{key}", f"{posted.channel}{_SEPARATOR}{thread}")
        log.info("incident.teams_thread_started", incident=key, channel=posted.channel)
        room = Location(platform=TEAMS, channel=posted.channel, thread=thread)
        return [OpenedPlace(room=room, announce_at=announce)]

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        """A card in the thread (once per key).

        Raises:
            RoomsError: Teams did not take it (the port's log line says why).
        """
        remembered = await self._memory.get(f"post:{key}")
        if remembered:
            return remembered
        posted = await self._port.post_in_thread(channel=at.channel, thread=at.thread, reply=reply)
        if posted is None:
            raise RoomsError(
                f"Teams: the message {key} was not posted in {at.channel} (the log line "
                "teams.post_failed or teams.no_conversation says why)"
            )
        await self._memory.put(f"post:{key}", posted.message_id)
        return posted.message_id

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        """Replace the card in place (Teams keeps cards replaceable for a week)."""
        message = Posted(channel=at.channel, message_id=message_id, thread=at.thread)
        return await self._port.replace(message, reply)

    async def pin(self, *, at: Location, message_id: str) -> bool:
        """Teams bots cannot pin: the state card stays the thread's first reply. Always True."""
        return True

    async def whisper_link(
        self, *, at: Location, user: str, reply: Reply, incident: Incident
    ) -> bool:
        """Teams has no private messages outside a click's answer: False (the caller answers)."""
        return False
