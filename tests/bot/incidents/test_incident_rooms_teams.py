"""Teams incident rooms against the fake Bot Connector: a thread per incident in the
configured channel, the state card in it and updated in place; and the platform router."""

from __future__ import annotations

from pathlib import Path

import pytest
from chat_incident_support import T0, slack_actor
from slack_support import RecordingAudit
from teams_support import CHANNEL, card_of, installed, running_bot, texts

from agents.incidents import IncidentPolicy, IncidentService, Location, Person, RoomsError
from agents.messages import Actor, Platform, Reply
from bot.incidents.rooms import RoomsRouter
from bot.incidents.rooms_teams import TeamsRooms
from integrations.db import open_database

ALICE = Actor(
    platform=Platform.TEAMS, user_id="aad-alice", display_name="Alice", email="alice@contoso.com"
)


async def test_declaring_from_teams_starts_a_thread_with_the_state_card(tmp_path: Path) -> None:
    async with running_bot() as bot:
        await bot.post(installed(bot.connector.url))
        router = RoomsRouter()
        router.register(TeamsRooms(port=bot.surface.port, store=bot.store, channel=CHANNEL))
        db = await open_database(None, data_dir=tmp_path)
        try:
            service = IncidentService(
                db=db,
                rooms=router,
                audit=RecordingAudit(),
                store=bot.store,
                policy=IncidentPolicy(retry_seconds=0),
                clock=lambda: T0,
            )
            made = await service.declare(key="k1", actor=ALICE, title="GL_CLOSE late")
            [create] = [c for c in bot.connector.calls if c.path == "/v3/conversations"]
            assert create.body["channelData"]["channel"]["id"] == CHANNEL
            header = texts(card_of(create.body["activity"]))
            assert any("INC-2026-0001 SEV3" in t and "GL" in t for t in header)
            assert any("Alice" in t for t in header)

            [place] = made.incident.places
            assert place.platform == "teams"
            assert place.room.channel == CHANNEL
            assert place.room.thread
            assert place.pinned  # Teams cannot pin: reported done
            assert place.announce_at is None
            [state] = bot.connector.activities()
            assert state.conversation_id == f"{CHANNEL};messageid={place.room.thread}"
            assert card_of(state.body)["body"][0]["text"].startswith("INC-2026-0001 · SEV3")
            assert await service.find_by_place(
                platform="teams", channel=CHANNEL, thread=place.room.thread
            )

            await service.assign_role(made.incident.id, actor=ALICE, role="comms", person=ALICE)
            [update] = await bot.connector.wait_for(1, method="PUT")
            assert update.activity_id == place.state_message_id
        finally:
            await db.close()


async def test_open_finds_its_thread_again_and_posts_once_per_key() -> None:
    async with running_bot() as bot:
        await bot.post(installed(bot.connector.url))
        rooms = TeamsRooms(port=bot.surface.port, store=bot.store, channel=CHANNEL)
        args = {"key": "INC-1", "name": "inc-1-x", "topic": "INC-1 SEV2: x", "members": []}
        origin = Location(platform="teams", channel="a:chat", thread=None)
        [first] = await rooms.open(origin=origin, **args)  # type: ignore[arg-type]
        [again] = await rooms.open(origin=None, **args)  # type: ignore[arg-type]
        assert first.room == again.room
        assert first.announce_at == origin
        assert len([c for c in bot.connector.calls if c.path == "/v3/conversations"]) == 1

        posted = await rooms.post(at=first.room, reply=Reply(headline="s"), key="INC-1:state:teams")
        same = await rooms.post(at=first.room, reply=Reply(headline="s"), key="INC-1:state:teams")
        assert posted == same
        assert len(bot.connector.activities()) == 1
        assert await rooms.pin(at=first.room, message_id=str(posted))


async def test_teams_refusals_are_words() -> None:
    async with running_bot() as bot:
        args = {"key": "INC-1", "name": "n", "topic": "t", "origin": None, "members": []}
        unset = TeamsRooms(port=bot.surface.port, store=bot.store, channel=None)
        with pytest.raises(RoomsError, match="RESYNC_INCIDENTS_TEAMS_CHANNEL"):
            await unset.open(**args)  # type: ignore[arg-type]
        rooms = TeamsRooms(port=bot.surface.port, store=bot.store, channel=CHANNEL)
        with pytest.raises(RoomsError, match="install the Resync app"):
            await rooms.open(**args)  # type: ignore[arg-type]
        await bot.post(installed(bot.connector.url))
        bot.connector.fail_status = 403
        with pytest.raises(RoomsError, match="RESYNC_TEAMS_APP_ID"):
            await rooms.open(**args)  # type: ignore[arg-type]
        at = Location(platform="teams", channel=CHANNEL, thread="root1")
        with pytest.raises(RoomsError, match="was not posted"):
            await rooms.post(at=at, reply=Reply(headline="x"), key="INC-1:state:teams")


class _Rooms:
    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.calls: list[str] = []

    async def open(self, **_: object) -> list[object]:
        self.calls.append("open")
        return []

    async def post(self, **_: object) -> str:
        self.calls.append("post")
        return "m1"

    async def update(self, **_: object) -> bool:
        self.calls.append("update")
        return True

    async def pin(self, **_: object) -> bool:
        self.calls.append("pin")
        return True

    async def whisper_link(self, **_: object) -> bool:
        return False


async def test_router_opens_on_the_declarers_platform_and_posts_on_the_places() -> None:
    router = RoomsRouter()
    with pytest.raises(RoomsError, match="no chat platform is configured"):
        router.platform_for(None, [])
    slack, teams = _Rooms("slack"), _Rooms("teams")
    router.register(slack)  # type: ignore[arg-type]
    router.register(teams)  # type: ignore[arg-type]
    ana, alice = Person.from_actor(slack_actor("ana")), Person.from_actor(ALICE)
    console = Location(platform="console", channel="tty")
    assert router.platform_for(Location(platform="teams", channel="c"), [ana]) == "teams"
    assert router.platform_for(console, [alice]) == "teams"  # the declarer's platform
    assert router.platform_for(None, [ana]) == "slack"
    assert router.platform_for(console, []) == "slack"  # the first registered
    await router.open(key="k", name="n", topic="t", origin=None, members=[alice])
    at = Location(platform="slack", channel="C1")
    await router.post(at=at, reply=Reply(headline="x"), key="k:state:slack")
    await router.update(at=at, message_id="m1", reply=Reply(headline="x"))
    await router.pin(at=at, message_id="m1")
    assert teams.calls == ["open"]
    assert slack.calls == ["post", "update", "pin"]
    with pytest.raises(RoomsError, match="no incident rooms on console"):
        await router.pin(at=console, message_id="m1")
