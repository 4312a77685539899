"""Slack incident rooms against the mock Web API: one channel per incident, pinned state,
an announcement with a link, exactly once across a crash, and refusals in words."""

from __future__ import annotations

from pathlib import Path

import pytest
from chat_incident_support import (
    ANNOUNCE,
    Crash,
    CrashingStore,
    slack_actor,
    slack_stack,
)
from slack_support import BOT_USER, assert_valid_blocks

from agents.incidents import Location, Person, RoomsError
from agents.messages import Reply
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.slack_api import SlackApi
from integrations.store import MemoryStore

ANA = slack_actor("ana")
BOB = slack_actor("bob")
NAME = "inc-20261130-1-payroll-extract-abended"


async def test_declaring_opens_a_channel_pins_the_state_and_announces_with_a_link(
    tmp_path: Path,
) -> None:
    async with slack_stack(tmp_path) as stack:
        service, _ = stack.service()
        made = await service.declare(
            key="k1", actor=ANA, title="PAYROLL_EXTRACT abended", lead=Person.from_actor(BOB)
        )
        mock = stack.mock
        [created] = mock.of("conversations.create")
        assert created["name"] == NAME
        channel = mock.named(NAME)
        assert channel is not None
        room = channel["id"]
        assert channel["topic"]["value"].startswith("INC-2026-0001 SEV3")
        assert "INC-2026-0001" in channel["purpose"]["value"]
        assert sorted(channel["members"]) == sorted([BOT_USER, "UANA", "UBOB"])

        posts = mock.of("chat.postMessage")
        assert [p["channel"] for p in posts] == [room, ANNOUNCE]
        for post in posts:
            assert_valid_blocks(post["blocks"])
        [place] = made.incident.places
        assert place.room == Location(platform="slack", channel=room)
        assert place.pinned
        assert mock.pinned == [(room, place.state_message_id)]
        assert place.announce_at == Location(platform="slack", channel=ANNOUNCE)
        assert place.announcement_message_id is not None
        link = posts[1]["blocks"][-1]
        assert link == {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Incident channel: <#{room}>"}],
        }
        assert [r["outcome"] for r in stack.audit.actions("incident.rooms")] == ["opened"]

        # A change re-renders the announcement in place, link kept.
        await service.set_severity(made.incident.id, actor=BOB, severity="SEV2")
        updates = mock.of("chat.update")
        assert {u["channel"] for u in updates} == {room, ANNOUNCE}
        announced = next(u for u in updates if u["channel"] == ANNOUNCE)
        assert announced["blocks"][-1] == link


async def test_untrusted_title_never_becomes_mrkdwn(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        service, _ = stack.service()
        await service.declare(key="k1", actor=ANA, title="<!channel> <#C999|x> *boom*")
        [created] = stack.mock.of("conversations.create")
        assert created["name"] == "inc-20261130-1-channel-c999-x-boom"
        for post in stack.mock.of("chat.postMessage"):
            text = str(post["blocks"])
            assert "<!channel>" not in text
            assert "<#C999" not in text


async def test_open_is_idempotent_per_key(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        rooms = stack.rooms(MemoryStore())
        args = {
            "key": "INC-2026-0007",
            "name": "inc-2026-0007-late",
            "topic": "INC-2026-0007 SEV2: late",
            "origin": None,
            "members": [Person.from_actor(ANA)],
        }
        first = await rooms.open(**args)  # type: ignore[arg-type]
        again = await rooms.open(**args)  # type: ignore[arg-type]
        fresh = await stack.rooms(MemoryStore()).open(**args)  # type: ignore[arg-type]
        assert first == again == fresh
        assert len(stack.mock.of("conversations.create")) == 1
        assert len(stack.mock.of("conversations.info")) == 1  # the remembered channel, checked


async def test_a_crash_right_after_create_converges_on_one_channel(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        # The process dies the moment conversations.create answered: nothing was stored.
        dying, _ = stack.service(CrashingStore(crash_on="inc:rooms:slack:channel:"))
        with pytest.raises(Crash):
            await dying.declare(key="k1", actor=ANA, title="PAYROLL_EXTRACT abended")
        [incident] = await dying.list_open()
        assert len(stack.mock.of("conversations.create")) == 1
        assert stack.mock.of("chat.postMessage") == []

        restarted, _ = stack.service(MemoryStore())  # a new process: its memory is gone
        report = await restarted.recover()
        assert report.driven == (incident.id,)
        await restarted.recover()
        done = await restarted.get(incident.id)

        assert len(stack.mock.of("conversations.create")) == 1  # found by name, not made again
        assert len(stack.mock.of("conversations.list")) >= 1
        channel = stack.mock.named(NAME)
        assert channel is not None
        [place] = done.places
        assert place.room.channel == channel["id"]
        assert "INC-2026-0001" in channel["purpose"]["value"]
        assert [p["channel"] for p in stack.mock.of("chat.postMessage")] == [
            channel["id"],
            ANNOUNCE,
        ]
        assert stack.mock.pinned == [(channel["id"], place.state_message_id)]


async def test_a_refused_pin_names_the_scope_and_resumes_at_the_pin(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        stack.mock.fail(
            "pins.add",
            body={"ok": False, "error": "missing_scope", "needed": "pins:write", "provided": "x"},
        )
        service, rooms = stack.service()
        made = await service.declare(key="k1", actor=ANA, title="t")
        [place] = made.incident.places
        assert not place.pinned
        step = await stack.db.steps.get(incident_id=made.incident.id, name="rooms")
        assert step is not None
        assert "pins:write" in str(step.detail)
        assert "reinstall the app" in str(step.detail)

        await service.recover()
        [place] = (await service.get(made.incident.id)).places
        assert place.pinned
        assert len(stack.mock.of("chat.postMessage")) == 2  # state and announcement, once each
        assert await rooms.pin(at=place.room, message_id=str(place.state_message_id))  # again: ok


@pytest.mark.parametrize(
    ("method", "error", "words"),
    [
        ("conversations.create", "missing_scope", "channels:manage"),
        ("conversations.create", "restricted_action", "ask a Slack admin"),
        ("conversations.list", "missing_scope", "channels:read"),
        ("conversations.list", "invalid_auth", "RESYNC_SLACK_BOT_TOKEN"),
    ],
)
async def test_opening_refusals_are_words(
    tmp_path: Path, method: str, error: str, words: str
) -> None:
    async with slack_stack(tmp_path) as stack:
        stack.mock.fail(method, body={"ok": False, "error": error})
        rooms = stack.rooms(MemoryStore())
        with pytest.raises(RoomsError, match=words):
            await rooms.open(key="INC-1", name="inc-1-x", topic="INC-1", origin=None, members=[])
        assert stack.mock.channels == {}


async def test_announcement_refusals_say_what_to_do(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        rooms = stack.rooms(MemoryStore())
        at = Location(platform="slack", channel=ANNOUNCE)
        stack.mock.fail("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
        with pytest.raises(RoomsError, match=f"not a member of channel {ANNOUNCE}.*/invite"):
            await rooms.post(at=at, reply=Reply(headline="x"), key="INC-1:announce:slack")
        stack.mock.fail("chat.postMessage", body={"ok": False, "error": "is_archived"})
        with pytest.raises(RoomsError, match="archived: unarchive it"):
            await rooms.post(at=at, reply=Reply(headline="x"), key="INC-1:announce:slack")


async def test_names_of_other_channels_get_a_suffix_and_our_archived_one_is_an_error(
    tmp_path: Path,
) -> None:
    async with slack_stack(tmp_path) as stack:
        mock = stack.mock
        for n in range(5):  # list pages of 2: the taken name sits on a later page
            mock.add_channel(f"general-{n}")
        mock.add_channel("inc-1-x", topic="someone else's")
        rooms = stack.rooms(MemoryStore())
        [opened] = await rooms.open(
            key="INC-1", name="inc-1-x", topic="INC-1", origin=None, members=[]
        )
        own = mock.named("inc-1-x-2")
        assert own is not None
        assert opened.room.channel == own["id"]
        assert len(mock.of("conversations.list")) == 3  # 6 channels, 2 a page

        mock.add_channel("inc-2-y", topic="INC-2 SEV1: y", archived=True, creator=BOT_USER)
        with pytest.raises(RoomsError, match="archived: unarchive it in Slack"):
            await rooms.open(key="INC-2", name="inc-2-y", topic="INC-2", origin=None, members=[])
        assert mock.named("inc-2-y-2") is None


async def test_posts_are_found_again_by_key(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        rooms = stack.rooms(MemoryStore())
        at = Location(platform="slack", channel="C0001X")
        first = await rooms.post(at=at, reply=Reply(headline="state"), key="INC-1:state:slack")
        again = await rooms.post(at=at, reply=Reply(headline="state"), key="INC-1:state:slack")
        assert first == again
        assert len(stack.mock.of("chat.postMessage")) == 1


async def test_without_an_incidents_channel_the_announcement_goes_where_declared(
    tmp_path: Path,
) -> None:
    async with slack_stack(tmp_path) as stack:
        rooms = SlackRooms(api=SlackApi(stack.client), store=MemoryStore())
        origin = Location(platform="slack", channel="COPS", thread="1700000000.000100")
        [opened] = await rooms.open(
            key="INC-1", name="inc-1-x", topic="INC-1", origin=origin, members=[]
        )
        assert opened.announce_at == origin
        [teams] = await rooms.open(
            key="INC-1",
            name="inc-1-x",
            topic="INC-1",
            origin=Location(platform="teams", channel="19:x"),
            members=[],
        )
        assert teams.announce_at is None
        assert teams.room == opened.room
