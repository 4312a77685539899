"""``incident.declare`` buttons: one incident per button, however often and by whom it is
clicked; the clicker hears the id (and in Slack gets the channel's link)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import slack_support
from chat_incident_support import ChannelSlack, click, declare_job, slack_actor, slack_stack
from slack_support import EchoAsker, slack_harness

from agents.messages import Platform
from bot.core.dispatcher import Dispatcher
from bot.incidents.clicks import IncidentClicks, button_key
from bot.incidents.rooms import RoomsRouter

ANA, BOB = slack_actor("ana"), slack_actor("bob")


async def test_double_clicks_and_two_people_make_one_incident(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        service, rooms = stack.service()
        router = RoomsRouter()
        router.register(rooms)
        handler = IncidentClicks(service, rooms=router, declare=declare_job)
        outcomes = await asyncio.gather(
            handler(click(ANA, decision="t1")),
            handler(click(ANA, decision="t2")),
            handler(click(BOB, decision="t3")),
        )
        assert len(await service.list_open()) == 1
        assert len(stack.mock.of("conversations.create")) == 1
        [incident] = await service.list_open()
        room = (await service.get(incident.id)).places[0].room.channel
        # Whoever drove the opening links the channel; a click that lost the race while the
        # channel was still opening is told so in a plain note.
        notes = [o.reply_for_clicker.headline for o in outcomes if o and o.reply_for_clicker]
        whispers = stack.mock.of("chat.postEphemeral")
        assert len(notes) + len(whispers) == 3
        heads = notes + [w["blocks"][0]["text"]["text"].removeprefix("✅ ") for w in whispers]
        assert sum(h.startswith("Declared INC-2026-0001") for h in heads) == 1
        assert sum(h.startswith("Already declared as INC-2026-0001") for h in heads) == 2
        link = f"Incident channel: <#{room}>"
        assert all(w["blocks"][-1]["elements"][0]["text"] == link for w in whispers)

        late = await handler(click(BOB, decision="t9"))
        assert late is not None
        assert late.reply_for_clicker is None
        [*_, whisper] = stack.mock.of("chat.postEphemeral")
        assert (whisper["user"], whisper["channel"]) == ("UBOB", "COPS")
        assert whisper["blocks"][0]["text"]["text"].startswith("Already declared as INC-2026-0001")
        assert whisper["blocks"][-1]["elements"][0]["text"] == link

        # Another button (another message) is another incident.
        await handler(click(ANA, decision="t4", message="1700000000.000200"))
        assert len(await service.list_open()) == 2


async def test_without_a_link_the_note_names_the_incident(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        service, _ = stack.service()
        handler = IncidentClicks(service, declare=declare_job)  # no router: no whisper
        outcome = await handler(click(ANA, decision="t1"))
        assert outcome is not None
        note = outcome.reply_for_clicker
        assert note is not None
        assert note.headline == "Declared INC-2026-0001 (SEV3): PAYROLL_EXTRACT abended"
        assert "slack channel C" in note.plain_text()


async def test_other_buttons_and_refusals(tmp_path: Path) -> None:
    async with slack_stack(tmp_path) as stack:
        service, _ = stack.service()
        handler = IncidentClicks(service, declare=declare_job)
        assert (
            await handler(
                click(ANA, decision="t").model_copy(update={"action_id": "runbook.approve"})
            )
            is None
        )
        odd = await handler(
            click(ANA, decision="t").model_copy(update={"action_id": "incident.frobnicate"})
        )
        assert odd is not None
        assert odd.reply_for_clicker is not None
        assert "not known" in odd.reply_for_clicker.headline
        empty = await handler(click(ANA, decision="t").model_copy(update={"value": " "}))
        assert empty is not None
        assert empty.reply_for_clicker is not None
        assert (
            empty.reply_for_clicker.headline == "No incident was declared: the button names no job"
        )
        assert await service.list_open() == []


def test_button_key_is_per_button_and_bounded() -> None:
    one = click(ANA, decision="a")
    assert button_key(one) == "button:1700000000.000100:PAYROLL_EXTRACT"
    assert button_key(one) == button_key(click(BOB, decision="b"))
    long = one.model_copy(update={"value": "J" * 400})
    assert len(button_key(long)) <= 255
    assert button_key(long) != button_key(long.model_copy(update={"value": "K" * 400}))


async def test_slack_click_end_to_end_through_the_dispatcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_support, "MockSlack", ChannelSlack)
    dispatcher = Dispatcher(assistant=EchoAsker(), audit=None)
    async with slack_harness(dispatcher=dispatcher) as harness, slack_stack(tmp_path) as stack:
        stack.client.base_url = harness.mock.url + "/api/"  # the harness's Slack
        service, rooms = stack.service()
        router = RoomsRouter()
        router.register(rooms)
        dispatcher.route_clicks(
            "incident.", IncidentClicks(service, rooms=router, declare=declare_job)
        )
        message = {"ts": "1700000000.000300", "blocks": []}
        for n, user in enumerate(("UANA", "UANA", "UBOB")):
            status, _ = await harness.click(
                action_id="incident.declare",
                value="PAYROLL_EXTRACT",
                message=message,
                user=user,
                trigger=f"trig-{n}",
                action_ts=f"1700000001.{n}",
            )
            assert status == 200
        await harness.settle()
        assert len(await service.list_open()) == 1
        mock = harness.mock
        assert len(mock.of("conversations.create")) == 1
        assert len(mock.of("chat.postEphemeral")) == 3  # every clicker heard back
        [incident] = await service.list_open()
        assert incident.declared_by.platform == Platform.SLACK.value

        await harness.click(
            action_id="incident.declare",
            value="PAYROLL_EXTRACT",
            message=message,
            user="UBOB",
            trigger="trig-late",
            action_ts="1700000002.0",
        )
        await harness.settle()
        [*_, late] = mock.of("chat.postEphemeral")
        assert "<#C0001X>" in json.dumps(late["blocks"][-1])
