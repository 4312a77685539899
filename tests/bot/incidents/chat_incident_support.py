"""Shared pieces of the incident chat tests: a Slack mock that keeps channels, the service
on SQLite in a temp dir, a Slack actor, and a store that "crashes the process".

Imported by name (tests have no packages): ``from chat_incident_support import ...``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient
from slack_support import BOT_USER, MockSlack, RecordingAudit, serve

from agents.incidents import (
    DeclareResult,
    IncidentInputError,
    IncidentPolicy,
    IncidentService,
    Location,
)
from agents.messages import Actor, Click, Platform
from bot.incidents.rooms import RoomsRouter
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.slack_api import SlackApi
from integrations.db import Database, open_database
from integrations.store import MemoryStore
from integrations.tws.scheduler import Scheduler

T0 = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
ANNOUNCE = "CANNOUNCE"
TEMPLATE = "inc-{date}-{number}-{slug}"


def slack_actor(name: str = "ana") -> Actor:
    """A Slack person (user id ``U<NAME>``) with an e-mail identity."""
    return Actor(
        platform=Platform.SLACK,
        user_id=f"U{name.upper()}",
        display_name=name.title(),
        email=f"{name}@example.com",
    )


@dataclass
class ChannelSlack(MockSlack):
    """`MockSlack` that also keeps channels, topics, members and pins like Slack does.

    ``conversations.list`` answers ``page_size`` channels per page (cursor paging).
    """

    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> channel
    pinned: list[tuple[str, str]] = field(default_factory=list)
    page_size: int = 2
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_channel(
        self, name: str, *, creator: str = "UOTHER", topic: str = "", archived: bool = False
    ) -> str:
        channel_id = f"C{next(self._ids):04d}X"
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_archived": archived,
            "creator": creator,
            "topic": {"value": topic},
            "purpose": {"value": ""},
            "members": [creator],
        }
        return channel_id

    def named(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.channels.values() if c["name"] == name), None)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(args.get("channel")))
        if method == "conversations.create":
            if self.named(str(args["name"])) is not None:
                return {"ok": False, "error": "name_taken"}
            created = self.add_channel(str(args["name"]), creator=BOT_USER)
            return {"ok": True, "channel": self.channels[created]}
        if method == "conversations.list":
            start = int(args.get("cursor") or 0)
            items = list(self.channels.values())
            end = start + self.page_size
            more = str(end) if end < len(items) else ""
            return {
                "ok": True,
                "channels": items[start:end],
                "response_metadata": {"next_cursor": more},
            }
        if method.startswith(("conversations.", "pins.")) and channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.info":
            return {"ok": True, "channel": channel}
        if method in ("conversations.setTopic", "conversations.setPurpose"):
            assert channel is not None
            part = "topic" if method.endswith("Topic") else "purpose"
            channel[part] = {"value": args[part]}
            return {"ok": True}
        if method == "conversations.invite":
            assert channel is not None
            if args["users"] in channel["members"]:
                return {"ok": False, "error": "already_in_channel"}
            channel["members"].append(args["users"])
            return {"ok": True}
        if method == "pins.add":
            pin = (str(args["channel"]), str(args["timestamp"]))
            if pin in self.pinned:
                return {"ok": False, "error": "already_pinned"}
            self.pinned.append(pin)
            return {"ok": True}
        return super()._answer(method, args)


async def declare_job(
    service: IncidentService,
    /,
    *,
    click_value: str,
    actor: Actor,
    key: str,
    scheduler: Scheduler | None,
    zone: ZoneInfo,
    origin: Location | None = None,
) -> DeclareResult:
    """Stands in for ``agents.answers.incidents.declare_from_button`` (same signature)."""
    if not click_value.strip():
        raise IncidentInputError("the button names no job")
    return await service.declare(
        key=key, actor=actor, title=f"{click_value} abended", origin=origin
    )


def click(actor: Actor, *, decision: str, message: str = "1700000000.000100") -> Click:
    return Click(
        decision_id=decision,
        action_id="incident.declare",
        value="PAYROLL_EXTRACT",
        label="Declare incident",
        actor=actor,
        channel_id="COPS",
        thread_id=message,
        message_id=message,
    )


class Crash(BaseException):
    """The process dies here (not an `Exception`: nothing in the service catches it)."""


class CrashingStore(MemoryStore):
    """A store whose ``put`` of a key starting with ``crash_on`` kills the "process"."""

    def __init__(self, crash_on: str) -> None:
        super().__init__()
        self.crash_on = crash_on

    async def put(self, key: str, value: str, *, ttl_seconds: float | None = None) -> None:
        if key.startswith(self.crash_on):
            raise Crash(key)
        await super().put(key, value, ttl_seconds=ttl_seconds)


@dataclass
class Stack:
    """A Slack mock on loopback and incident services over one SQLite database."""

    mock: ChannelSlack
    client: AsyncWebClient
    db: Database
    audit: RecordingAudit

    def rooms(self, store: MemoryStore, *, service: IncidentService | None = None) -> SlackRooms:
        return SlackRooms(
            api=SlackApi(self.client),
            store=store,
            announce_channel=ANNOUNCE,
            template=TEMPLATE,
            lookup=service.get if service is not None else None,
        )

    def service(self, store: MemoryStore | None = None) -> tuple[IncidentService, SlackRooms]:
        """A service whose router has Slack rooms (with the service as their lookup)."""
        store = store or MemoryStore()
        router = RoomsRouter()
        svc = IncidentService(
            db=self.db,
            rooms=router,
            audit=self.audit,
            store=store,
            policy=IncidentPolicy(retry_seconds=0),
            clock=lambda: T0,
        )
        rooms = self.rooms(store, service=svc)
        router.register(rooms)
        return svc, rooms


@asynccontextmanager
async def slack_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    mock = ChannelSlack()
    async with serve(mock.app()) as url:
        mock.url = url
        db = await open_database(None, data_dir=tmp_path)
        try:
            client = AsyncWebClient(token="xoxb-test-token", base_url=url + "/api/")
            yield Stack(mock=mock, client=client, db=db, audit=RecordingAudit())
        finally:
            await db.close()
