"""Answers a review found wrong, end to end against the simulator over HTTP.

Each test reads what it expects from the simulator with the client itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import API_KEY, NOW, Ask, make_asker, no_sleep

from agents.assistant import Assistant
from agents.messages import Paragraph, Reply, Table, Tone
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.models import (
    FINISHED_STATUSES,
    CommonStatus,
    Dependency,
    JobAction,
    JobStatus,
)
from integrations.tws.scheduler import Snapshot
from integrations.tws.simulator import SimulatorServer


def rows_after(reply: Reply, heading: str) -> list[tuple[str, ...]]:
    blocks = list(reply.blocks)
    for index, block in enumerate(blocks):
        if isinstance(block, Paragraph) and block.text == heading:
            table = blocks[index + 1]
            assert isinstance(table, Table)
            return list(table.rows)
    return []


def paragraph_starting(reply: Reply, prefix: str) -> str:
    for block in reply.blocks:
        if isinstance(block, Paragraph) and block.text.startswith(prefix):
            return block.text
    return ""


# -- 1. what depends on a job: the whole downstream, late separate from at risk


async def test_successors_walk_the_whole_downstream_and_split_late_from_at_risk(
    ask: Ask, client: TWSClient
) -> None:
    plan = await client.query_jobs()
    by_id = {job.id: job for job in plan.value}
    root = next(job for job in plan.value if job.name == "PAYROLL_EXTRACT")
    direct = (await client.job_successors(root.id)).value
    seen = {root.id} | {dep.id for dep in direct}
    frontier = [dep.id for dep in direct]
    downstream = list(frontier)
    while frontier:
        found = []
        for dep_id in frontier:
            for dep in (await client.job_successors(dep_id)).value:
                if dep.id not in seen:
                    seen.add(dep.id)
                    found.append(dep.id)
        downstream += found
        frontier = found
    watched = [
        by_id[dep_id]
        for dep_id in downstream
        if by_id[dep_id].deadline is not None and by_id[dep_id].status not in FINISHED_STATUSES
    ]
    late = {
        job.name
        for job in watched
        if job.late or (job.deadline is not None and job.deadline < plan.as_of)
    }
    # Everything downstream of a failed job waits on it: every other deadline is at risk.
    at_risk = {job.name for job in watched} - late
    assert late == {"PAYROLL_VALIDATE", "PAYROLL_REPORT"}
    assert len(at_risk) >= 1
    further = len(downstream) - len(direct)

    reply = await ask("what depends on PAYROLL_EXTRACT?")

    head = f"1 job depends directly on PAYROLL_EXTRACT, {further} more further down; "
    assert reply.headline.startswith(head), reply.headline
    tail = reply.headline.removeprefix(head)
    assert tail.startswith(f"{len(late)} deadlines already missed ("), tail
    assert tail.endswith(f", {len(at_risk)} at risk."), tail
    for name in late:
        assert name in tail
    missed = paragraph_starting(reply, "Deadlines already missed:")
    risky = paragraph_starting(reply, "Deadlines at risk:")
    assert {line.split(" ")[0] for line in missed.splitlines()[1:]} == late
    assert {line.split(" ")[0] for line in risky.splitlines()[1:]} == at_risk
    assert reply.tone is Tone.ERROR


class DeepDownstream:
    """The simulator's plan through the client, with a chain of `length` more jobs hanging
    below one real job: a plan far larger than any night the simulator generates.

    Every read goes to the simulator except the successors of the graft point and of the
    grafted jobs. The chain's jobs have no deadline, so they put nothing at risk.
    """

    def __init__(self, client: TWSClient, *, below: str, length: int) -> None:
        self.client = client
        self.below = below
        self.length = length
        self.chain_reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    @staticmethod
    def link(index: int) -> Dependency:
        return Dependency(kind="job", id=f"chain-{index}", name=f"CHAIN_{index:05d}", status="HOLD")

    async def job_successors(self, job_id: str) -> Snapshot[list[Dependency]]:
        if job_id.startswith("chain-"):
            self.chain_reads += 1
            index = int(job_id.removeprefix("chain-")) + 1
            successors = [self.link(index)] if index < self.length else []
            return Snapshot(value=successors, as_of=NOW, source=self.client.source)
        real = await self.client.job_successors(job_id)
        if job_id != self.below or self.length == 0:
            return real
        return Snapshot(value=[*real.value, self.link(0)], as_of=real.as_of, source=real.source)


async def ask_downstream(client: TWSClient, tmp_path: Path, *, length: int) -> tuple[Reply, int]:
    """Ask what depends on PAYROLL_EXTRACT with `length` jobs grafted below its successor.

    Returns the reply and how many of the grafted jobs' successor lists were read.
    """
    root = (await client.query_jobs(name="PAYROLL_EXTRACT")).value[0]
    direct = (await client.job_successors(root.id)).value
    assert len(direct) == 1
    scheduler = DeepDownstream(client, below=direct[0].id, length=length)
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / f"deep-{length}.db")) as saver:
        assistant = Assistant(scheduler=scheduler, checkpointer=saver, zone=UTC)
        ask = make_asker(Dispatcher(assistant=assistant, audit=None))
        reply = await ask("what depends on PAYROLL_EXTRACT?", channel=f"C-deep-{length}")
    return reply, scheduler.chain_reads


def further_down(headline: str) -> str:
    """``at least 999`` or ``12`` from "..., N more further down; ..."."""
    found = re.search(r"PAYROLL_EXTRACT, (.*?) more further down;", headline)
    assert found, headline
    return found.group(1)


async def test_successor_walk_reads_a_long_downstream_to_its_end(
    client: TWSClient, tmp_path: Path
) -> None:
    reply, _ = await ask_downstream(client, tmp_path, length=0)
    real_further = int(further_down(reply.headline))

    reply, chain_reads = await ask_downstream(client, tmp_path, length=50)

    # Every grafted job counted, and no "at least": the walk reached the end.
    assert further_down(reply.headline) == str(real_further + 50), reply.headline
    assert chain_reads == 50


async def test_successor_walk_stopped_by_its_cap_says_at_least(
    client: TWSClient, tmp_path: Path
) -> None:
    length = 20_000  # far more jobs downstream than a question may read

    reply, chain_reads = await ask_downstream(client, tmp_path, length=length)

    assert reply.headline.startswith("1 job depends directly on PAYROLL_EXTRACT, at least "), (
        reply.headline
    )
    counted = int(further_down(reply.headline).removeprefix("at least "))
    # The walk stopped well before the end of the chain, and says how far it got.
    assert chain_reads < length
    assert 0 < counted < length


# -- 2. held means held by an operator (common status HELD), not waiting for dependencies


async def test_held_lists_only_the_job_an_operator_held(ask: Ask, client: TWSClient) -> None:
    waiting = (await client.query_jobs(name="PAYROLL_CALC")).value[0]
    assert waiting.status is JobStatus.HOLD
    assert waiting.common_status is CommonStatus.WAITING
    before = await ask("what is held?", channel="C-held-0")
    assert before.headline == "No job is held in the current plan.", before.headline

    held = (await client.job_action(waiting.id, JobAction.HOLD)).value
    assert held.common_status is CommonStatus.HELD

    reply = await ask("what is held?", channel="C-held-1")
    assert reply.headline == "1 job is held in the current plan.", reply.headline
    rows = [row for block in reply.blocks if isinstance(block, Table) for row in block.rows]
    assert [(row[0], row[1]) for row in rows] == [("PAYROLL_CALC", "PAYROLL_DAILY")]


# -- 3. a workstation and a job stream in one list question


async def test_list_keeps_workstation_and_job_stream_in_either_order(
    ask: Ask, client: TWSClient
) -> None:
    expected = [
        job
        for job in (
            await client.query_jobs(job_stream="PAYROLL_DAILY", workstation="AGT_LNX01")
        ).value
        if job.failed
    ]
    assert [job.name for job in expected] == ["PAYROLL_EXTRACT"]
    for question in (
        "what failed on AGT_LNX01 in PAYROLL_DAILY",
        "what failed in PAYROLL_DAILY on AGT_LNX01",
    ):
        reply = await ask(question, channel=question)
        assert reply.headline == (
            "1 job failed in PAYROLL_DAILY on AGT_LNX01 in the current plan."
        ), (question, reply.headline)


# -- 4. count and verb agree


async def test_one_running_job_is_running(ask: Ask, client: TWSClient) -> None:
    running = (
        await client.query_jobs(statuses=[JobStatus.EXEC, JobStatus.INTRO, JobStatus.WAIT])
    ).value
    per_station: dict[str, int] = {}
    for job in running:
        per_station[job.workstation] = per_station.get(job.workstation, 0) + 1
    station = next(name for name, count in sorted(per_station.items()) if count == 1)
    reply = await ask(f"what is running on {station}?")
    assert reply.headline == f"1 job is running on {station} in the current plan.", reply.headline


# -- 5. the focus follows the last subject asked about, or is cleared


@pytest.mark.parametrize(
    "middle",
    ["status of NOSUCHJOB_X", "is AGT_LNX01 up?", "status of PAY*"],
)
async def test_follow_up_after_an_answer_about_no_single_job_asks_which(
    ask: Ask, middle: str
) -> None:
    channel = f"C-focus-{middle}"
    await ask("why did PAYROLL_EXTRACT fail?", channel=channel)
    await ask(middle, channel=channel)
    preds = await ask("and its predecessors?", channel=channel)
    assert preds.headline.startswith("Which job"), preds.headline
    why = await ask("why?", channel=channel)
    assert why.headline.startswith("Which job"), why.headline


async def test_a_general_question_keeps_the_focus(ask: Ask) -> None:
    await ask("status of PAYROLL_EXTRACT", channel="C-keep")
    await ask("what is running?", channel="C-keep")
    preds = await ask("and its predecessors?", channel="C-keep")
    assert preds.headline.startswith("PAYROLL_EXTRACT has"), preds.headline


# -- 7. a failed job past its deadline is late


async def test_failed_job_flagged_late_is_listed_late_with_its_status(
    ask: Ask, client: TWSClient
) -> None:
    failed_late = [
        job
        for job in (await client.query_jobs()).value
        if job.failed and (job.late or (job.deadline is not None and job.deadline < NOW))
    ]
    assert "BILLING_CDR_DEDUP" in {job.name for job in failed_late}
    reply = await ask("what is late?")
    late_rows = {row[0]: row for row in rows_after(reply, "Late now:")}
    for job in failed_late:
        assert job.name in late_rows, job.name
        assert late_rows[job.name][2] == f"{job.status.value} (rc {job.return_code}), late"


# -- 9. a workstation-qualified name that is not on that workstation


async def test_qualified_name_on_the_wrong_workstation_says_so(ask: Ask) -> None:
    reply = await ask("status of AGT_LNX01#PAYROLL_DAILY")
    assert reply.headline == (
        "No job or job stream named PAYROLL_DAILY on workstation AGT_LNX01 in the current plan."
    ), reply.headline
    assert "MASTER#PAYROLL_DAILY" in reply.plain_text()
    assert reply.tone is Tone.WARNING
    right = await ask("status of MASTER#PAYROLL_DAILY", channel="C-right")
    assert right.headline.startswith("Job stream PAYROLL_DAILY is"), right.headline


# -- 10. the Start column never shows a planned time as if it were an actual start


async def test_start_column_marks_earliest_start_of_jobs_not_started(
    ask: Ask, client: TWSClient
) -> None:
    jobs = {
        (job.name, job.job_stream_name): job
        for job in (await client.query_jobs(statuses=[JobStatus.HOLD, JobStatus.SCHED])).value
    }
    reply = await ask("what is waiting?")
    table = next(block for block in reply.blocks if isinstance(block, Table))
    start = table.columns.index("Start")
    checked = 0
    for row in table.rows:
        job = jobs.get((row[0], row[1]))
        if job is None or job.started_at is not None:
            continue
        if job.at_time is None:
            assert row[start] == "-"
        else:
            # "not before 21:00 UTC", with the date when it is not today.
            assert row[start].startswith("not before "), row
            assert row[start].endswith(f"{job.at_time.astimezone(UTC):%H:%M} UTC"), row
            checked += 1
    assert checked


# -- 8. nothing there: say so plainly


@pytest.fixture
async def quiet_sim() -> AsyncIterator[SimulatorServer]:
    """The bundled `quiet` scenario: workstations up, no job streams in the plan."""
    async with SimulatorServer(scenario="quiet", speed=0, now=NOW, api_keys=[API_KEY]) as server:
        yield server


async def _ask_sim(sim: SimulatorServer, tmp_path: Path, question: str) -> Reply:
    async with (
        TWSClient(base_url=sim.url, api_key=API_KEY, sleep=no_sleep) as client,
        AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as saver,
    ):
        ask = make_asker(
            Dispatcher(
                assistant=Assistant(scheduler=client, checkpointer=saver, zone=UTC), audit=None
            )
        )
        return await ask(question, channel=question)


async def test_empty_plan_says_there_is_nothing(quiet_sim: SimulatorServer, tmp_path: Path) -> None:
    late = await _ask_sim(quiet_sim, tmp_path, "what is late?")
    assert late.headline == "The current plan has no jobs: there is nothing to be late."
    assert late.tone is Tone.WARNING
    failed = await _ask_sim(quiet_sim, tmp_path, "what failed tonight?")
    assert failed.headline.startswith("No job"), failed.headline
    stations = await _ask_sim(quiet_sim, tmp_path, "workstation status")
    assert stations.headline == "All 6 workstations are linked and running."


EDGE_SCENARIO = """\
# Four job streams, no deadlines anywhere, and ETL_SALES in the plan without jobs.
streams: 4
deadlines: false
empty_streams: [ETL_SALES]
"""


@pytest.fixture
async def edge_sim(tmp_path: Path) -> AsyncIterator[SimulatorServer]:
    scenario = tmp_path / "edge.yaml"
    scenario.write_text(EDGE_SCENARIO, encoding="utf-8")
    async with SimulatorServer(
        scenario=str(scenario), speed=0, now=NOW, api_keys=[API_KEY]
    ) as server:
        yield server


async def test_job_stream_without_jobs_says_so(edge_sim: SimulatorServer, tmp_path: Path) -> None:
    reply = await _ask_sim(edge_sim, tmp_path, "status of ETL_SALES")
    assert reply.headline.startswith("Job stream ETL_SALES is "), reply.headline
    assert reply.headline.endswith(": it has no jobs in the current plan."), reply.headline
    assert reply.tone is Tone.WARNING


async def test_nothing_to_watch_is_not_reported_as_all_in_time(
    edge_sim: SimulatorServer, tmp_path: Path
) -> None:
    reply = await _ask_sim(edge_sim, tmp_path, "what is late?")
    assert reply.headline == (
        "Nothing is late: no unfinished job in the current plan has a deadline to watch."
    ), reply.headline
