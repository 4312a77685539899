"""Where a message was written, and the incident whose room that is.

An incident's place is a channel (Slack: the incident's own channel) or a thread (Teams: a
thread of a configured channel). A message belongs to an incident when it was written in
that thread, or anywhere in that channel when the place is the whole channel (a Slack
message in a thread of the incident channel still belongs to it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.incidents.model import Incident, Location

if TYPE_CHECKING:
    from agents.incidents.service import IncidentService

__all__ = ["Where", "incident_here"]

_MAX_KEY = 255  # the longest declare key the service takes


@dataclass(frozen=True, slots=True)
class Where:
    """The conversation a request came from.

    Attributes:
        platform: ``slack``, ``teams`` or ``console``.
        channel: The channel (or chat) id.
        thread: The thread, None at top level.
        event_id: The platform's id of the message (a retried delivery carries the same).
    """

    platform: str
    channel: str
    thread: str | None
    event_id: str

    @property
    def location(self) -> Location:
        """The conversation as the incident model names places."""
        return Location(platform=self.platform, channel=self.channel, thread=self.thread)

    @property
    def declare_key(self) -> str:
        """What makes a declaration from this message unique: ``chat:{platform}:{event_id}``.

        A retried delivery of the same message declares nothing new: the service returns
        the incident the first delivery declared. A key longer than the service takes is
        hashed (still stable).
        """
        key = f"chat:{self.platform}:{self.event_id}"
        if len(key) <= _MAX_KEY:
            return key
        return f"chat:{self.platform}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


async def incident_here(service: IncidentService, where: Where) -> Incident | None:
    """The incident whose place this conversation is, or None.

    At most two indexed reads: the thread's place, then the channel's (which counts only
    when the incident's place on this platform is the whole channel, never one thread of a
    shared channel).

    Args:
        service: The incident service.
        where: The conversation.

    Returns:
        The incident (with its places), or None.

    Raises:
        agents.incidents.IncidentStorageError: The incident database failed.
    """
    if where.thread is not None:
        found = await service.find_by_place(
            platform=where.platform, channel=where.channel, thread=where.thread
        )
        if found is not None:
            return found
    found = await service.find_by_place(platform=where.platform, channel=where.channel)
    if found is None:
        return None
    whole_channel = any(
        place.platform == where.platform
        and place.room.channel == where.channel
        and place.room.thread is None
        for place in found.places
    )
    return found if whole_channel else None
