"""`RoomsRouter`: the service's one `agents.incidents.IncidentRooms`, over every platform.

An incident opens on the declarer's platform: the platform of ``origin`` when it was
declared in a chat, else that of the declarer (the first of ``members``), else the first
platform registered (e.g. a declaration from the terminal with only Slack configured).
Posts, updates and pins go to the platform of the place they name. Platforms register when
they are ready (`RoomsRouter.register`): Slack at start-up, Teams when its surface starts;
a step for a platform that is not registered (yet) fails with a `RoomsError` and the
service tries it again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agents.incidents.errors import RoomsError
from agents.incidents.model import Incident, Location, Person
from agents.incidents.ports import IncidentRooms, OpenedPlace
from agents.messages import Reply

__all__ = ["PlatformRooms", "RoomsRouter"]


class PlatformRooms(IncidentRooms, Protocol):
    """The incident rooms of one platform."""

    @property
    def platform(self) -> str:
        """``slack`` or ``teams``."""
        ...

    async def whisper_link(
        self, *, at: Location, user: str, reply: Reply, incident: Incident
    ) -> bool:
        """Tell one person ``reply`` with a link to the incident's room; False: could not."""
        ...


class RoomsRouter:
    """Routes each rooms call to the platform it concerns."""

    def __init__(self) -> None:
        """Create a router with no platforms yet."""
        self._rooms: dict[str, PlatformRooms] = {}

    def register(self, rooms: PlatformRooms) -> None:
        """Open and post on ``rooms.platform`` through ``rooms`` (replaces an earlier one).

        Args:
            rooms: The platform's rooms.
        """
        self._rooms[rooms.platform] = rooms

    @property
    def platforms(self) -> tuple[str, ...]:
        """The registered platforms, in registration order."""
        return tuple(self._rooms)

    def _for(self, platform: str) -> PlatformRooms:
        rooms = self._rooms.get(platform)
        if rooms is None:
            known = ", ".join(self._rooms) or "none"
            raise RoomsError(
                f"no incident rooms on {platform} (configured: {known}); it is tried again later"
            )
        return rooms

    def platform_for(self, origin: Location | None, members: Sequence[Person]) -> str:
        """Where an incident opens: the origin's platform, the declarer's, or the first one.

        Raises:
            RoomsError: No platform is registered.
        """
        wanted = [origin.platform] if origin is not None else []
        wanted.extend(person.platform for person in members[:1])
        for platform in wanted:
            if platform in self._rooms:
                return platform
        if not self._rooms:
            raise RoomsError(
                "no chat platform is configured for incident rooms: set the Slack bot token, "
                "or RESYNC_INCIDENTS_TEAMS_CHANNEL with Teams"
            )
        return next(iter(self._rooms))

    async def open(
        self,
        *,
        key: str,
        name: str,
        topic: str,
        origin: Location | None,
        members: Sequence[Person],
    ) -> Sequence[OpenedPlace]:
        """Open the incident's place on the declarer's platform (idempotent per key)."""
        rooms = self._for(self.platform_for(origin, members))
        return await rooms.open(key=key, name=name, topic=topic, origin=origin, members=members)

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        """Post on the place's platform."""
        return await self._for(at.platform).post(at=at, reply=reply, key=key)

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        """Update on the place's platform."""
        return await self._for(at.platform).update(at=at, message_id=message_id, reply=reply)

    async def pin(self, *, at: Location, message_id: str) -> bool:
        """Pin on the place's platform."""
        return await self._for(at.platform).pin(at=at, message_id=message_id)

    async def whisper_link(
        self, *, at: Location, user: str, reply: Reply, incident: Incident
    ) -> bool:
        """Tell one person ``reply`` with a link to the room, where the platform can."""
        rooms = self._rooms.get(at.platform)
        if rooms is None:
            return False
        return await rooms.whisper_link(at=at, user=user, reply=reply, incident=incident)
