"""Incidents from chat: declaring (by command, by words, by button), listing, showing, refusals.

Everything goes through `Assistant.ask` (the bot's path) to the simulator over HTTP and a
real `IncidentService` on SQLite. Expected severities are computed from the plan with the
forecast and `suggest_severity`, independently of the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
from incident_chat_support import ANA, BOB, Chat, buttons, incident_chat, tables
from langgraph.checkpoint.memory import InMemorySaver

from agents.answers.dependencies import further_successors
from agents.answers.incidents import declare_from_button
from agents.assistant import Assistant
from agents.forecast import Forecaster
from agents.incidents import IncidentInputError, IncidentPolicy, suggest_severity
from agents.messages import Platform, Tone
from bot.slack.commands import command_question
from integrations.tws.client import TWSClient

EXTRACT = "MASTER#PAYROLL_DAILY.PAYROLL_EXTRACT"


@pytest.fixture
async def chat(client: TWSClient, tmp_path: Path) -> AsyncIterator[Chat]:
    async with incident_chat(client, tmp_path) as opened:
        yield opened


async def expected_at_risk(client: TWSClient, name: str) -> tuple[str, list[str]]:
    """The suggested severity and the deadlines at risk from a job, read from the plan."""
    job = (await client.query_jobs(name=name)).value[0]
    direct = (await client.job_successors(job.id)).value
    further, _ = await further_successors(client, job, direct)
    plan = await client.query_jobs()
    forecaster = Forecaster(scheduler=client, jobs=plan.value, now=plan.as_of)
    ids = [job.id] + [d.id for d in (*direct, *further) if d.kind == "job" and d.deadline]
    forecast = await forecaster.forecast(forecaster.watched(ids))
    suggestion = suggest_severity(forecast.jobs, now=plan.as_of, policy=IncidentPolicy())
    names = [f"{i.job.job_stream_name}.{i.job.name}" for i in forecast.jobs if i.at_risk]
    return suggestion.severity, names


async def test_declare_by_command_links_the_job_named_in_the_title(
    chat: Chat, client: TWSClient
) -> None:
    severity, at_risk = await expected_at_risk(client, "PAYROLL_EXTRACT")
    assert severity == "SEV1"
    assert at_risk
    reply = await chat.ask("incident declare PAYROLL_EXTRACT abended, bank file late")
    incident = await chat.only_open()
    assert reply.headline.startswith(f"Declared {incident.id} · SEV1 (critical) · triage")
    assert incident.title == "PAYROLL_EXTRACT abended, bank file late"
    assert incident.severity == severity
    (link,) = incident.links
    assert (link.kind, link.name, link.state) == ("job", EXTRACT, "ABEND")
    assert [d.name for d in incident.impact.deadlines] == at_risk
    text = reply.plain_text()
    assert "Severity SEV1 suggested from" in text
    assert "deadline(s) at risk" in text
    assert "As of" in text
    assert "UTC" in text
    assert client.source in text
    assert incident.origin is not None
    assert incident.origin.channel == "COPS"
    assert len(chat.rooms.channels) == 1  # its room was opened


async def test_declare_by_words_for_a_job_takes_its_defaults(chat: Chat, client: TWSClient) -> None:
    severity, _ = await expected_at_risk(client, "TRE_BANK_PARSE")
    assert severity == "SEV4"  # nothing downstream has a deadline: not the default SEV3
    reply = await chat.ask("raise an incident for TRE_BANK_PARSE")
    incident = await chat.only_open()
    assert incident.title == "TRE_BANK_PARSE FAIL"
    assert incident.severity == "SEV4"
    assert [link.name for link in incident.links] == ["MASTER#TRE_BANK_STMT.TRE_BANK_PARSE"]
    assert "no deadline is at risk" in reply.plain_text()


async def test_declare_in_words_links_the_job_in_focus(chat: Chat) -> None:
    await chat.ask("why did PAYROLL_EXTRACT abend?")
    reply = await chat.ask("declare an incident: payroll extract failing")
    incident = await chat.only_open()
    assert incident.title == "payroll extract failing"
    assert [link.name for link in incident.links] == [EXTRACT]
    assert incident.id in reply.headline
    # The focus stays on the job: a follow-up is about it.
    follow_up = await chat.ask("and its predecessors?")
    assert "PAYROLL_EXTRACT" in follow_up.headline


async def test_a_given_severity_wins_and_no_job_means_the_default(chat: Chat) -> None:
    await chat.ask("/tws incident declare SEV2 bank file late", thread=None)
    await chat.ask("declare an incident: mainframe slow", channel="COTHER", thread=None)
    first, second = await chat.service.list_open()
    assert (first.title, first.severity, first.links) == ("bank file late", "SEV2", ())
    assert (second.title, second.severity) == ("mainframe slow", "SEV3")


async def test_a_retried_delivery_declares_once(chat: Chat) -> None:
    first = await chat.ask("incident declare SEV3 bank file late", event_id="Ev-retried")
    again = await chat.ask("incident declare SEV3 bank file late", event_id="Ev-retried")
    incident = await chat.only_open()
    assert first.headline.startswith(f"Declared {incident.id}")
    assert again.headline == f"Already declared as {incident.id}: bank file late"
    (declared,) = chat.audit.actions("incident.declare")
    assert declared["parameters"]["after"]["declare_key"] == "chat:slack:Ev-retried"


@pytest.mark.parametrize(
    ("text", "headline"),
    [
        (
            "incident declare SEV9 bank file late",
            "Unknown severity SEV9: use one of SEV1 (critical), SEV2 (major), SEV3 (moderate), "
            "SEV4 (minor).",
        ),
        ("incident declare", "An incident needs a title: incident declare [SEV1..SEV4] <title>."),
        (
            "incident declare SEV2",
            "An incident needs a title: incident declare [SEV1..SEV4] <title>.",
        ),
        (
            "incident severity SEV7",
            "Unknown severity SEV7: use one of SEV1 (critical), "
            "SEV2 (major), SEV3 (moderate), SEV4 (minor).",
        ),
        ("incident INC-2026-9999", "There is no incident INC-2026-9999."),
        ("incident note INC-2026-9999 checking", "There is no incident INC-2026-9999."),
        ("incident INC-42", "INC-42 is not an incident id: ids look like INC-2026-0042."),
        ("incident note", "What should the note say? Write: incident note <text>."),
        (
            "incident note checking the logs",
            "Which incident? This conversation is not an incident's room.",
        ),
        (
            "raise an incident for ZZQX_NOTHING",
            "No job or job stream named ZZQX_NOTHING in the current plan.",
        ),
    ],
)
async def test_bad_input_is_answered_and_declares_nothing(
    chat: Chat, text: str, headline: str
) -> None:
    reply = await chat.ask(text)
    assert reply.headline.startswith(headline), reply.headline
    assert reply.tone is Tone.WARNING
    assert await chat.service.list_open() == []


async def test_list_and_show(chat: Chat) -> None:
    await chat.ask("incident declare SEV3 bank file late")
    await chat.ask("raise an incident for PAYROLL_EXTRACT", actor=BOB)
    first, second = await chat.service.list_open()
    reply = await chat.ask("what incidents are open?")
    assert reply.headline == "2 open incidents: 1 SEV1, 1 SEV3."
    (table,) = tables(reply)
    assert [row[:3] for row in table.rows] == [
        (second.id, "SEV1", "triage"),
        (first.id, "SEV3", "triage"),
    ]
    assert table.rows[0][4] == "bob"
    assert "UTC" in table.rows[0][5]
    assert "Source: Resync incident records" in reply.plain_text()
    assert (await chat.ask("/tws incidents", thread=None)).headline == reply.headline

    shown = await chat.ask(f"incident {second.id}")
    assert shown.headline.startswith(f"{second.id} · SEV1 (critical) · triage")
    timeline = [t for t in tables(shown) if t.columns[-1] == "Timeline"]
    assert timeline
    assert "Declared SEV1" in timeline[0].rows[0][2]
    assert EXTRACT in shown.plain_text()


async def test_stats(chat: Chat) -> None:
    await chat.ask("incident declare SEV2 bank file late")
    reply = await chat.ask("incident stats")
    assert reply.headline == "1 incident declared in all, 1 still open."
    (table,) = tables(reply)
    assert table.rows == (("SEV2", "1", "1", "0", "-", "-", "-", "-"),)


async def test_incidents_off_are_said_so_and_offer_no_button(client: TWSClient) -> None:
    assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
    chat = Chat(assistant=assistant, service=None, rooms=None, audit=None)  # type: ignore[arg-type]
    for text in ("incidents", "incident declare SEV2 bank file late", "raise an incident"):
        reply = await chat.ask(text)
        assert reply.headline == "Incidents are not enabled here.", text
    assert buttons(await chat.ask("why did PAYROLL_EXTRACT abend?")) == []


async def test_failure_answers_offer_the_declare_button(chat: Chat) -> None:
    button = ("incident.declare", "Declare incident", EXTRACT)
    assert buttons(await chat.ask("why did PAYROLL_EXTRACT abend?")) == [button]
    assert buttons(await chat.ask("status of PAYROLL_EXTRACT")) == [button]
    assert buttons(await chat.ask("status of PAYROLL_INIT")) == []  # it succeeded
    assert await chat.service.list_open() == []  # a button declares nothing by itself


async def test_declare_from_button_once_per_key(chat: Chat, client: TWSClient) -> None:
    severity, _ = await expected_at_risk(client, "PAYROLL_EXTRACT")
    first = await declare_from_button(
        chat.service,
        click_value=EXTRACT,
        actor=ANA,
        key=f"button:1700000000.000200:{EXTRACT}",
        scheduler=client,
        zone=UTC,
    )
    again = await declare_from_button(
        chat.service,
        click_value=EXTRACT,
        actor=BOB,
        key=f"button:1700000000.000200:{EXTRACT}",
        scheduler=client,
        zone=UTC,
    )
    assert first.created
    assert not again.created
    assert again.incident.id == first.incident.id
    incident = first.incident
    assert incident.title == "PAYROLL_EXTRACT ABEND (rc 12)"
    assert incident.severity == severity
    assert [link.name for link in incident.links] == [EXTRACT]
    assert incident.impact.deadlines
    assert incident.lead is not None
    assert incident.lead.identity == "ana@example.com"
    assert "suggested from" in first.reply.plain_text()
    with pytest.raises(
        IncidentInputError, match=r"no job or job stream named MASTER#ZZQX\.ZZQX_NOTHING"
    ):
        await declare_from_button(
            chat.service,
            click_value="MASTER#ZZQX.ZZQX_NOTHING",
            actor=ANA,
            key="button:m2:x",
            scheduler=client,
            zone=UTC,
        )


def test_the_slash_command_reaches_the_agent_as_text() -> None:
    assert command_question("incident declare SEV2 bank late") == "incident declare SEV2 bank late"
    assert command_question("incidents") == "incidents"
    assert command_question("incident") == "incident"
    assert command_question("incident lead <@U0BOB>") == "incident lead <@U0BOB>"


async def test_teams_declares_with_its_own_key(chat: Chat) -> None:
    teams_ana = ANA.model_copy(update={"platform": Platform.TEAMS})
    await chat.ask("incident declare SEV3 bank file late", actor=teams_ana, event_id="1:abc")
    (declared,) = chat.audit.actions("incident.declare")
    assert declared["parameters"]["after"]["declare_key"] == "chat:teams:1:abc"


async def test_a_severity_said_in_words(chat: Chat) -> None:
    await chat.ask("declare a major incident for TRE_BANK_PARSE")
    incident = await chat.only_open()
    assert incident.severity == "SEV2"  # the label of SEV2, not the suggested SEV4


async def test_help_lists_incident_commands_when_enabled(chat: Chat, client: TWSClient) -> None:
    assert "incident declare SEV2" in (await chat.ask("help")).plain_text()
    assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)
    off = Chat(assistant=assistant, service=None, rooms=None, audit=None)  # type: ignore[arg-type]
    assert "incident" not in (await off.ask("help")).plain_text().lower()
