"""'give me a handover' in Slack (mock Web API) and Teams (fake Bot Connector), end to end.

The night of `handover_support.handover_night`: a workstation down, failures, one rerun
approved and run, one waiting for approval, an incident open. Every fact the answer shows
is checked against the simulator's HTTP API, not against Resync's code.
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
from handover_support import NOW, Night, api_items, check_facts, flat, handover_night
from slack_support import assert_valid_blocks, slack_harness
from teams_support import assert_valid_card, card_of, message, running_bot

from agents.answers.watch_desk import ScannerDesk
from agents.handover import SECTION_ROWS, HandoverDesk, handover_reply
from agents.understand_handover import understand_handover
from agents.watch.model import FindingKind
from agents.watch.scan import Scanner
from bot.core.dispatcher import Dispatcher


@pytest.fixture
async def night(tmp_path: Path) -> Night:  # type: ignore[misc]
    async with handover_night(tmp_path) as value:
        yield value


async def test_handover_in_slack(night: Night) -> None:
    assert night.client.source
    async with slack_harness(dispatcher=Dispatcher(assistant=night.assistant, audit=None)) as h:
        await h.command("give me a handover")
        await h.settle()
        (answer,) = h.mock.of("chat.update")
    assert_valid_blocks(answer["blocks"])
    raw = json.dumps(answer["blocks"])
    assert "<!channel>" not in raw  # the incident title is escaped, never a mention
    assert "&lt;!channel&gt;" in raw
    check_facts(flat(answer["blocks"]), night.truth)


async def test_handover_in_teams(night: Night) -> None:
    async with running_bot(asker=night.assistant) as teams:
        await teams.post(message("shift summary please", service_url=teams.connector.url))
        card = card_of((await teams.connector.wait_for(1, timeout=15))[-1].body)
    assert_valid_card(card)
    check_facts(flat(card), night.truth)


async def test_missed_deadlines_match_the_simulator(night: Night) -> None:
    handover = await night.desk.collect()
    jobs = await api_items(night.sim, "plan/job")
    late = {
        f"{j['jobStreamInPlan']['name']}.{j['name']}"
        for j in jobs
        if j["status"]["internalStatus"] not in ("SUCC", "SUCCP", "CANCL", "DONE", "SUPPR")
        and (
            j["late"] or (j["deadline"] and j["deadline"] < NOW.isoformat().replace("+00:00", "Z"))
        )
    }
    assert late
    assert {d.name for d in handover.missed} >= late
    assert handover.as_of == NOW


async def test_deadlines_at_risk_come_from_the_watcher_when_there_is_one(night: Night) -> None:
    scanner = ScannerDesk(
        Scanner(night.client, samples=300, seed=7), source=night.client.source, max_age_seconds=600
    )
    desk = HandoverDesk(scheduler=night.client, zone=UTC, watch=scanner)
    handover = await desk.collect()
    risks = [f for f in (await scanner.report()).findings if f.kind is FindingKind.DEADLINE_RISK]
    assert risks  # agent-down at 23:30: deadlines behind the down workstation
    missed = {d.name for d in handover.missed}
    assert [d.name for d in handover.at_risk] == [
        f.object_name
        for f in sorted(risks, key=lambda f: -(f.probability or 0))
        if f.object_name not in missed  # already missed: listed once, under missed
    ]
    assert handover.at_risk
    assert handover.risk_basis.startswith("Deadlines at risk: the watcher")
    reply = handover_reply(handover, zone=UTC, watched=True)
    shown = len(handover.at_risk)
    assert f"Deadlines at risk ({shown})" in reply.plain_text()
    assert ("which deadlines are at risk?" in reply.plain_text()) == (shown > SECTION_ROWS)


@pytest.mark.parametrize(
    "text",
    [
        "give me a handover",
        "handover",
        "Shift summary",
        "can I get the hand-off?",
        "end of shift report",
        "what happened this shift?",
    ],
)
def test_handover_phrases(text: str) -> None:
    assert understand_handover(text)


@pytest.mark.parametrize(
    "text",
    [
        "what failed tonight?",
        "status of HANDOVER_JOB",
        "incident update INC-2026-0001 handover to the day team",
        "rerun PAYROLL_EXTRACT",
    ],
)
def test_not_handover(text: str) -> None:
    assert not understand_handover(text)
