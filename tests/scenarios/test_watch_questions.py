"""Questions for the watcher, end to end: Dispatcher -> Assistant -> ScannerDesk -> Scanner
-> TWSClient -> HTTP -> simulator.

Expected values come from the same scanner (fixed seed) over HTTP, so the tests check that
answers carry the watcher's findings exactly, not that they match a frozen text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import aiohttp
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, Ask, RecordingAudit, make_asker

from agents.answers.common import MAX_ROWS
from agents.answers.watch_desk import ScannerDesk
from agents.assistant import Assistant
from agents.messages import Context, Reply, Table, Tone
from agents.understand_watch import WatchAsk, WatchQuestion, understand_watch
from agents.watch.model import FindingKind, Severity
from agents.watch.scan import Scanner
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer


def small_print(reply: Reply) -> str:
    return " ".join(i for b in reply.blocks if isinstance(b, Context) for i in b.items)


def tables(reply: Reply) -> list[Table]:
    return [b for b in reply.blocks if isinstance(b, Table)]


def first_column(reply: Reply) -> list[str]:
    return [row[0] for table in tables(reply) for row in table.rows]


@pytest.fixture
def desk(client: TWSClient) -> ScannerDesk:
    return ScannerDesk(
        Scanner(client, samples=300, seed=7), source=client.source, max_age_seconds=600
    )


@pytest.fixture
async def watch_ask(client: TWSClient, desk: ScannerDesk, tmp_path: Path) -> AsyncIterator[Ask]:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "watch.db")) as saver:
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC, watch=desk)
        yield make_asker(Dispatcher(assistant=assistant, audit=RecordingAudit()))


async def test_whats_unusual_lists_the_watchers_findings(
    watch_ask: Ask, desk: ScannerDesk, client: TWSClient
) -> None:
    reply = await watch_ask("what's unusual tonight?")
    report = await desk.report()  # the cycle the answer ran, kept by the desk
    assert report.findings
    assert reply.headline.startswith(f"{len(report.findings)} things unusual tonight")
    assert reply.tone in (Tone.ERROR, Tone.WARNING)
    shown = first_column(reply)
    assert len(shown) == min(len(report.findings), MAX_ROWS)
    assert set(shown) <= {f.headline for f in report.findings}
    assert tables(reply)[0].total == len(report.findings)  # "and N more" beyond the page
    critical = [f.headline for f in report.findings if f.severity is Severity.CRITICAL]
    assert shown[: len(critical)] == critical[: len(shown)]  # most severe first
    failures = [f for f in report.findings if f.kind is FindingKind.FAILURE]
    assert any("PAYROLL_EXTRACT" in f.headline for f in failures)
    assert f"Source: {client.source}" in small_print(reply)
    assert "As of Mon 23 Nov 23:30 UTC" in small_print(reply)  # the engine's clock


async def test_which_deadlines_are_at_risk_worst_first(watch_ask: Ask, desk: ScannerDesk) -> None:
    reply = await watch_ask("which deadlines are at risk?")
    risks = [f for f in (await desk.report()).findings if f.kind is FindingKind.DEADLINE_RISK]
    assert risks
    assert reply.headline == f"{len(risks)} deadlines at risk tonight."
    names = first_column(reply)
    assert len(names) == min(len(risks), MAX_ROWS)
    assert tables(reply)[0].total == len(risks)
    by_name = {f.object_name: f.probability or 0 for f in risks}
    chances = [by_name[name] for name in names]
    assert chances == sorted(chances, reverse=True)
    assert chances[0] == max(by_name.values())


async def test_why_is_a_job_at_risk_and_the_follow_up_keeps_it(
    watch_ask: Ask, desk: ScannerDesk, client: TWSClient
) -> None:
    risks = [f for f in (await desk.report()).findings if f.kind is FindingKind.DEADLINE_RISK]
    job = risks[0].object_name.split(".")[-1]
    expected = (await Scanner(client, samples=300, seed=7).explain_risk(job)).finding
    assert expected is not None

    reply = await watch_ask(f"why is {job} at risk?")
    assert reply.headline == expected.headline
    paragraphs = [b.text for b in reply.blocks if hasattr(b, "text")]
    assert expected.explanation in paragraphs
    assert all(line in paragraphs for line in expected.evidence)  # the critical chain, ...
    assert any(" → ".join(expected.chain) in line for line in paragraphs)
    assert "As of Mon 23 Nov 23:30 UTC" in small_print(reply)  # the engine's clock

    follow = await watch_ask("what does it wait for?")  # the focus is the job asked about
    assert job in follow.headline


async def test_why_is_it_at_risk_takes_the_conversations_job(watch_ask: Ask) -> None:
    await watch_ask("status of PAYROLL_CALC")
    reply = await watch_ask("why is it at risk?")
    assert "PAYROLL_CALC" in reply.headline


@pytest.mark.parametrize(
    "question", ["what will be late?", "will we be late?", "will jobs be late tonight?"]
)
async def test_what_will_be_late_after_a_job_question_is_not_about_that_job(
    watch_ask: Ask, ask: Ask, question: str
) -> None:
    await watch_ask("why did PAYROLL_EXTRACT abend?")  # PAYROLL_EXTRACT is now the focus
    reply = await watch_ask(question)
    expected = await ask(question)  # the same question in a fresh conversation
    assert "PAYROLL_EXTRACT has no deadline" not in reply.headline
    assert reply.headline == expected.headline


async def test_baseline_of_a_job_says_how_it_was_built(watch_ask: Ask) -> None:
    reply = await watch_ask("baseline of PAYROLL_EXTRACT")
    assert reply.headline.startswith("Baseline of PAYROLL_DAILY.PAYROLL_EXTRACT for ")
    text = " ".join(b.text for b in reply.blocks if hasattr(b, "text"))
    assert "usually" in text
    assert "runs)" in text
    assert "median and spread" in small_print(reply)


async def test_an_unknown_job_is_said_plainly(watch_ask: Ask) -> None:
    reply = await watch_ask("why is NO_SUCH_JOB_X at risk?")
    assert reply.headline == "I found no job NO_SUCH_JOB_X in the current plan."


async def test_a_paused_watcher_never_says_nothing_is_unusual(
    client: TWSClient, sim: SimulatorServer, tmp_path: Path
) -> None:
    blind = ScannerDesk(Scanner(client, samples=100), source=client.source, max_age_seconds=0)
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "blind.db")) as saver:
        assistant = Assistant(scheduler=client, checkpointer=saver, zone=UTC, watch=blind)
        ask = make_asker(Dispatcher(assistant=assistant, audit=RecordingAudit()))
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
            session.put(f"{sim.url}/_sim/faults", json={"burst5xx": 1000}) as response,
        ):
            assert response.status == 200, await response.text()
        reply = await ask("what's unusual tonight?")
    assert reply.headline.startswith("Watching is paused: engine unreachable.")
    assert reply.tone is Tone.WARNING


async def test_without_a_watcher_deadline_questions_get_the_forecast(ask: Ask) -> None:
    reply = await ask("which deadlines are at risk?")
    assert "at risk of missing the deadline" in reply.headline or "late" in reply.headline


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's unusual tonight?", WatchQuestion(WatchAsk.UNUSUAL)),
        ("/tws anything abnormal?", WatchQuestion(WatchAsk.UNUSUAL)),
        ("which deadlines are at risk?", WatchQuestion(WatchAsk.RISKS)),
        ("what are the chances we miss the deadlines", WatchQuestion(WatchAsk.RISKS)),
        ("why is GL_CLOSE at risk?", WatchQuestion(WatchAsk.WHY_RISK, "GL_CLOSE")),
        ("will GL_CLOSE miss its deadline?", WatchQuestion(WatchAsk.WHY_RISK, "GL_CLOSE")),
        ("why is it at risk?", WatchQuestion(WatchAsk.WHY_RISK)),  # the focus fills it
        ("baseline of PAYROLL_EXTRACT", WatchQuestion(WatchAsk.BASELINE, "PAYROLL_EXTRACT")),
        (
            "how long does PAYROLL_EXTRACT usually take?",
            WatchQuestion(WatchAsk.BASELINE, "PAYROLL_EXTRACT"),
        ),
        ("will it be late?", WatchQuestion(WatchAsk.WHY_RISK)),  # the focus fills it
        ("will we be late?", None),  # no job, no "it": not about the conversation's job
        ("will payroll be late?", None),
        # The usual questions stay with the parser.
        ("what will be late?", None),
        ("why is GL_DAILY_POST late?", None),  # already late: the root cause, not a forecast
        ("which jobs will be late tonight?", None),
        ("what is going to be late?", None),
        ("what is at risk?", None),
        ("is anything at risk?", None),
        ("what failed tonight?", None),
        ("why did PAYROLL_EXTRACT abend?", None),
        # Requests come first, whatever words they hold.
        ("incident declare SEV2 unusual payroll load", None),
        ("raise an incident for the unusual GL_CLOSE", None),
    ],
)
def test_watch_questions_are_read_by_rules(text: str, expected: WatchQuestion | None) -> None:
    assert understand_watch(text) == expected
