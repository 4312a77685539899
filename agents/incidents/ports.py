"""`IncidentRooms`: what the incident service needs from the chat platforms.

The chat layer implements it once over ``ChatPort`` (Slack: a channel per incident;
Teams: a thread in a configured channel). Every call must be safe to repeat, because the
service repeats a step whose outcome it did not get to store (a crash, a timeout):

- `IncidentRooms.open` gets a stable ``key`` (the incident id) and ``name``; called again
  for the same key it must return the places it opened before, never open new ones (the
  Slack implementation looks the channel up by ``name`` when creation says it is taken,
  or before creating).
- `IncidentRooms.post` gets a stable ``key`` per message; an implementation that can find
  an earlier post by key (Slack message metadata, a stored map) returns that one.

A failure is raised (`agents.incidents.errors.RoomsError` or any exception): the step stays
pending and is tried again. Paging does not go through here: see `integrations.pager.Pager`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agents.incidents.model import Location, Person
from agents.messages import Reply

__all__ = ["IncidentRooms", "OpenedPlace"]


@dataclass(frozen=True, slots=True)
class OpenedPlace:
    """A place `IncidentRooms.open` opened (or found) for an incident.

    Attributes:
        room: The incident's channel or thread.
        announce_at: Where to announce the incident on this platform (e.g. the channel it
            was declared in, or a configured incidents channel); None: no announcement.
    """

    room: Location
    announce_at: Location | None = None


class IncidentRooms(Protocol):
    """Opens incident places and posts into them, on every configured platform."""

    async def open(
        self,
        *,
        key: str,
        name: str,
        topic: str,
        origin: Location | None,
        members: Sequence[Person],
    ) -> Sequence[OpenedPlace]:
        """Open the incident's place on each platform (idempotent per ``key``).

        Args:
            key: The incident id: the same key always yields the same places.
            name: The room name (``inc-2026-0042-payroll-extract``), fixed at declaration.
            topic: A one-line topic (id, severity, title).
            origin: Where the incident was declared, if in chat.
            members: People to invite (each platform takes its own).

        Returns:
            One place per platform (at least one).

        Raises:
            Exception: The platform refused or failed (the step is tried again later).
        """
        ...

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        """Post a message for everyone; return its id (None: not posted).

        Args:
            at: Where (a room, or an announcement channel).
            reply: What.
            key: Stable per message (e.g. ``INC-2026-0042:state:slack``): lets an
                implementation find an earlier post of the same message instead of
                posting it twice.
        """
        ...

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        """Replace a posted message in place (the state message, the announcement)."""
        ...

    async def pin(self, *, at: Location, message_id: str) -> bool:
        """Pin a message in its room (already pinned counts as done)."""
        ...
