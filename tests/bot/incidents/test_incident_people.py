"""Slack mentions name people for incident roles: `SlackPeople` over ``users.info``, as
`open_incidents` wires it, given to the assistant (``incident scribe <@U…>``)."""

from __future__ import annotations

from pathlib import Path

from chat_incident_support import ChannelSlack
from langgraph.checkpoint.memory import InMemorySaver
from slack_support import RecordingAudit, serve

from agents.assistant import Assistant
from agents.messages import Actor, ChatEvent, Platform
from bot.incidents.wiring import open_incidents
from config.settings import load_settings
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

ANA = Actor(platform=Platform.SLACK, user_id="UANA", display_name="ana", email="ana@example.com")


async def test_a_mention_becomes_the_person_slack_knows(tmp_path: Path) -> None:
    mock = ChannelSlack()
    async with (
        serve(mock.app()) as url,
        SimulatorServer(scenario="normal", speed=0, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as tws,
    ):
        mock.url = url
        settings = load_settings(
            data_dir=tmp_path, slack_bot_token="xoxb-test", slack_api_url=url + "/api"
        )
        async with open_incidents(
            settings=settings,
            store=MemoryStore(),
            audit=RecordingAudit(),
            scheduler=None,
            groups=None,
            directory=None,
        ) as incidents:
            people = incidents.people
            assert people is not None
            zed = await people(Platform.SLACK, "U0ZED")
            assert zed is not None
            assert (zed.display_name, zed.email) == ("Person U0ZED", "u0zed@example.com")
            # Not a Slack user id, another platform, or a user Slack does not know: nobody.
            assert await people(Platform.SLACK, "<script>") is None
            assert await people(Platform.TEAMS, "U0ZED") is None
            mock.fail("users.info", body={"ok": False, "error": "user_not_found"})
            assert await people(Platform.SLACK, "U0NOBODY") is None
            lookups = [c["user"] for c in mock.of("users.info")]
            assert lookups == ["U0ZED", "U0NOBODY"]

            # What `bot.app` is to pass to the assistant: roles by mention.
            assistant = Assistant(
                scheduler=tws,
                checkpointer=InMemorySaver(),
                zone=settings.zone,
                incidents=incidents.service,
                people=people,
            )

            async def say(text: str, n: int) -> str:
                event = ChatEvent(
                    event_id=f"E{n}", actor=ANA, channel_id="COPS", thread_id=None, text=text
                )
                return (await assistant.ask(event)).headline

            assert (await say("incident declare SEV3 ledger lock", 1)).startswith("Declared ")
            [incident] = await incidents.service.list_open()
            headline = await say(f"incident {incident.id} scribe <@U0ZED>", 2)
            assert headline == f"Person U0ZED is now the scribe of {incident.id}."
            scribe = (await incidents.service.get(incident.id)).roles
            assert [p.identity for r, p in scribe.items() if r.value == "scribe"] == [
                "u0zed@example.com"
            ]
