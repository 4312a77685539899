"""Incidents in chat, end to end: the assistant with a real IncidentService over SQLite.

`incident_chat` wires `Assistant(incidents=...)` on the simulator's client with an
`IncidentService` on a SQLite database in the test's temp dir, a recording rooms fake (one
Slack channel per incident, opened idempotently by name like the Slack implementation) and
an audit trail that keeps records. `Chat.ask` sends a `ChatEvent` through
`Assistant.ask`, the public path the bot uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agents.answers.common import PersonLookup
from agents.assistant import Assistant
from agents.incidents import (
    Incident,
    IncidentPolicy,
    IncidentService,
    Location,
    OpenedPlace,
    Person,
)
from agents.messages import Actions, Actor, ChatEvent, Platform, Reply, Table
from agents.runbooks.policy import ApprovalGroups
from integrations.db import open_database
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient

ANA = Actor(platform=Platform.SLACK, user_id="U0ANA", display_name="ana", email="ana@example.com")
BOB = Actor(platform=Platform.SLACK, user_id="U0BOB", display_name="bob", email="bob@example.com")
MIA = Actor(
    platform=Platform.SLACK, user_id="U0MIA", display_name="mia", email="manager@example.com"
)


@dataclass
class Rooms:
    """An `IncidentRooms` that opens one Slack channel per incident name and keeps posts."""

    channels: dict[str, str] = field(default_factory=dict)
    posts: list[tuple[str, str, Reply]] = field(default_factory=list)

    async def open(
        self, *, key: str, name: str, topic: str, origin: Location | None, members: Sequence[Person]
    ) -> Sequence[OpenedPlace]:
        channel = self.channels.setdefault(name, f"CINC{len(self.channels) + 1:03d}")
        return [OpenedPlace(room=Location(platform="slack", channel=channel), announce_at=origin)]

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        self.posts.append((at.channel, key, reply))
        return f"m{len(self.posts)}"

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        return True

    async def pin(self, *, at: Location, message_id: str) -> bool:
        return True


@dataclass
class Trail:
    """An audit sink that keeps records."""

    records: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, **fields: Any) -> object:
        self.records.append(fields)
        return None

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["action"] == action]


@dataclass
class Chat:
    """The assistant with incidents, and what it talks to."""

    assistant: Assistant
    service: IncidentService
    rooms: Rooms
    audit: Trail
    sent: int = 0

    async def ask(
        self,
        text: str,
        *,
        actor: Actor = ANA,
        channel: str = "COPS",
        thread: str | None = "1700000000.000100",
        event_id: str | None = None,
    ) -> Reply:
        """Send one message as ``actor`` and return the reply."""
        self.sent += 1
        event = ChatEvent(
            event_id=event_id or f"Ev{self.sent:04d}",
            actor=actor,
            channel_id=channel,
            thread_id=thread,
            text=text,
        )
        return await self.assistant.ask(event)

    async def only_open(self) -> Incident:
        """The one open incident (fails when there are more or none)."""
        (incident,) = await self.service.list_open()
        return await self.service.get(incident.id)

    def room_of(self, incident: Incident) -> str:
        """The incident's Slack channel."""
        (place,) = incident.places
        return place.room.channel


@asynccontextmanager
async def incident_chat(
    client: TWSClient, tmp_path: Path, *, people: PersonLookup | None = None
) -> AsyncIterator[Chat]:
    """The assistant with an incident service on SQLite in ``tmp_path``."""
    db = await open_database(None, data_dir=tmp_path)
    rooms, audit = Rooms(), Trail()
    service = IncidentService(
        db=db,
        rooms=rooms,
        audit=audit,
        store=MemoryStore(),
        policy=IncidentPolicy(retry_seconds=0),
        groups=ApprovalGroups({"incident-managers": ["manager@example.com"]}),
        scheduler=client,
        zone=UTC,
        source=client.source,
    )
    assistant = Assistant(
        scheduler=client, checkpointer=InMemorySaver(), zone=UTC, incidents=service, people=people
    )
    try:
        yield Chat(assistant=assistant, service=service, rooms=rooms, audit=audit)
    finally:
        await db.close()


def buttons(reply: Reply) -> list[tuple[str, str, str]]:
    """``(action_id, label, value)`` of every button in a reply."""
    return [
        (button.action_id, button.label, button.value)
        for block in reply.blocks
        if isinstance(block, Actions)
        for button in block.buttons
    ]


def tables(reply: Reply) -> list[Table]:
    """The tables of a reply."""
    return [block for block in reply.blocks if isinstance(block, Table)]
