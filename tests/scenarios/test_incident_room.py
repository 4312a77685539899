"""Working an incident from its room: commands without an id, permissions, roles, and
questions that take the incident's job as their subject.

The room is the Slack channel the recording rooms fake opened; a slash command there has
no thread, a mention there has one (its own ts): both belong to the incident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from incident_chat_support import ANA, BOB, MIA, Chat, incident_chat

from agents.incidents import IncidentStatus
from agents.messages import Actor, Platform, Tone
from integrations.tws.client import TWSClient

EXTRACT = "MASTER#PAYROLL_DAILY.PAYROLL_EXTRACT"
THREAD_IN_ROOM = "1700000100.000100"


@pytest.fixture
async def chat(client: TWSClient, tmp_path: Path) -> AsyncIterator[Chat]:
    async def people(platform: Platform, user_id: str) -> Actor | None:
        known = {"U0ZED": Actor(platform=platform, user_id=user_id, display_name="zed")}
        return known.get(user_id)

    async with incident_chat(client, tmp_path, people=people) as opened:
        yield opened


async def declared(chat: Chat) -> tuple[str, str]:
    """Ana declares about PAYROLL_EXTRACT; the incident id and its room's channel."""
    await chat.ask("incident declare SEV3 PAYROLL_EXTRACT abended")
    incident = await chat.only_open()
    return incident.id, chat.room_of(incident)


async def test_the_lifecycle_from_the_room(chat: Chat) -> None:
    iid, room = await declared(chat)

    reply = await chat.ask("incident note checked the Oracle alert log", channel=room, thread=None)
    assert reply.headline == f"Note added to {iid}'s timeline."
    reply = await chat.ask("incident status active", channel=room, thread=THREAD_IN_ROOM)
    assert reply.headline == f"{iid} is now active."
    assert "Acknowledged" in reply.plain_text()
    assert "UTC" in reply.plain_text()
    reply = await chat.ask("incident update rerun with a bigger undo tablespace", channel=room)
    assert reply.headline == f"Status update posted to {iid}: rerun with a bigger undo tablespace"
    posted = [key for _, key, _ in chat.rooms.posts if ":update-" in key]
    assert len(posted) == 1  # told in the room too
    reply = await chat.ask("incident status monitoring", channel=room)
    assert reply.headline == f"{iid} is now monitoring."
    reply = await chat.ask("incident status monitoring", channel=room)
    assert reply.headline == f"{iid} is already monitoring."
    reply = await chat.ask("incident resolve", channel=room)
    assert reply.headline.startswith("Resolving needs a summary")
    reply = await chat.ask("incident resolve rerun succeeded at 00:10", channel=room)
    assert reply.headline == f"Resolved {iid}: rerun succeeded at 00:10"
    assert reply.tone is Tone.SUCCESS
    reply = await chat.ask("incident close", channel=room)
    assert reply.headline == f"Closed {iid}."
    reply = await chat.ask("incident note one more thing", channel=room)
    assert reply.headline == f"{iid} is closed: cannot add notes."
    incident = await chat.service.get(iid)
    assert incident.status is IncidentStatus.CLOSED
    assert incident.resolution == "rerun succeeded at 00:10"


async def test_changes_need_the_lead_or_a_manager(chat: Chat) -> None:
    iid, room = await declared(chat)
    reply = await chat.ask("incident severity SEV1", actor=BOB, channel=room)
    assert reply.headline == (
        f"Only the lead of {iid} (ana) or a member of incident-managers may change the severity."
    )
    assert reply.tone is Tone.WARNING
    reply = await chat.ask("incident close", actor=BOB, channel=room)
    assert reply.headline.startswith(f"Only the lead of {iid} (ana)")
    # Anyone may write a note; a manager may change what the lead may.
    reply = await chat.ask("incident note bob looking at the DB", actor=BOB, channel=room)
    assert reply.headline == f"Note added to {iid}'s timeline."
    reply = await chat.ask("incident escalate", actor=MIA, channel=room)
    assert reply.headline == f"Escalated {iid} to SEV2; paging on-call."
    reply = await chat.ask("incident severity sev2", channel=room)
    assert reply.headline == f"{iid} is already SEV2."
    # Closing before resolving: the lifecycle says what is allowed.
    reply = await chat.ask("incident close", channel=room)
    assert reply.headline == (
        f"{iid} is triage: cannot become closed (allowed: active, monitoring, resolved)."
    )
    refused = [r for r in chat.audit.records if r["action"] == "incident.permission"]
    assert len(refused) == 2


async def test_roles_by_mention_name_or_me(chat: Chat) -> None:
    iid, room = await declared(chat)
    reply = await chat.ask("incident lead <@U0BOB>", channel=room)
    assert reply.headline.startswith("I cannot tell who that person is.")
    await chat.ask("incident note bob here", actor=BOB, channel=room)
    reply = await chat.ask("incident comms <@U0BOB|bob>", channel=room)
    assert reply.headline == f"bob is now the comms of {iid}."
    reply = await chat.ask("incident scribe <@U0ZED>", channel=room)  # the directory knows zed
    assert reply.headline == f"zed is now the scribe of {iid}."
    teams_ana = ANA.model_copy(update={"platform": Platform.TEAMS, "user_id": "29:ana"})
    reply = await chat.ask(f"incident {iid} lead Carol", actor=teams_ana, channel="19:ops")
    assert reply.headline == "I do not know who 'Carol' is."
    assert "bob" in reply.plain_text()
    reply = await chat.ask(f"incident {iid} lead bob", actor=teams_ana, channel="19:ops")
    assert reply.headline == f"bob is now the lead of {iid}."
    incident = await chat.service.get(iid)
    assert incident.lead is not None
    assert incident.lead.identity == "bob@example.com"
    # Ana no longer leads: she may not take it back, bob may give it back.
    reply = await chat.ask("incident lead me", channel=room)
    assert reply.headline.startswith(f"Only the lead of {iid} (bob)")
    reply = await chat.ask("incident lead ana", actor=BOB, channel=room)
    assert reply.headline == f"ana is now the lead of {iid}."


async def test_questions_in_the_room_are_about_its_job(chat: Chat) -> None:
    iid, room = await declared(chat)
    reply = await chat.ask("why did it fail?", channel=room, thread=THREAD_IN_ROOM)
    assert reply.headline.startswith("PAYROLL_EXTRACT ABEND with return code 12"), reply.headline
    reply = await chat.ask("what does it wait for?", channel=room, thread="1700000200.000100")
    assert "PAYROLL_EXTRACT" in reply.headline
    # Elsewhere the same question asks which job.
    reply = await chat.ask("why did it fail?", channel="CELSEWHERE")
    assert reply.headline == "Which job? Name it, e.g. 'why did PAYROLL_EXTRACT fail?'."
    # Linking a second job makes the room ask which one.
    reply = await chat.ask("incident link PAYROLL_DAILY", channel=room, thread=None)
    assert reply.headline == f"Linked job stream MASTER#PAYROLL_DAILY ({_status(reply)}) to {iid}."
    reply = await chat.ask("incident link TRE_BANK_PARSE", channel=room, thread=None)
    assert reply.headline.startswith("Linked job MASTER#TRE_BANK_STMT.TRE_BANK_PARSE (FAIL)")
    reply = await chat.ask("why did it fail?", channel=room, thread="1700000300.000100")
    assert reply.headline == (
        f"Which one? This incident links 2: {EXTRACT}, MASTER#TRE_BANK_STMT.TRE_BANK_PARSE."
    )
    reply = await chat.ask("incident link PAYROLL_EXTRACT", channel=room, thread=None)
    assert reply.headline == f"{EXTRACT} is already linked to {iid}."


def _status(reply: object) -> str:
    headline = str(getattr(reply, "headline", ""))
    return headline.split("(", 1)[1].split(")", 1)[0] if "(" in headline else ""


async def test_show_and_close_in_words(chat: Chat) -> None:
    iid, room = await declared(chat)
    reply = await chat.ask("incident", channel=room, thread=None)
    assert reply.headline.startswith(f"{iid} · SEV3 (moderate) · triage")
    reply = await chat.ask("resolve this incident: rerun fixed it", channel=room)
    assert reply.headline == f"Resolved {iid}: rerun fixed it"
    reply = await chat.ask("close the incident", channel=room)
    assert reply.headline == f"Closed {iid}."
    assert (await chat.ask("what incidents are open?")).headline == "No incident is open."
