"""Every question kind, end to end: Dispatcher -> graph -> TWSClient -> HTTP -> simulator.

Expected values are read from the simulator over HTTP with the client itself, so the
tests check that answers are exact, not that they match a frozen text.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from pathlib import Path

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from qa_support import Ask, RecordingAudit, make_asker

from agents.assistant import Assistant
from agents.messages import Context, Paragraph, Reply, Table, Tone
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.models import FAILED_STATUSES, FINISHED_STATUSES, JobStatus


def context_text(reply: Reply) -> str:
    return " ".join(
        item for block in reply.blocks if isinstance(block, Context) for item in block.items
    )


def table_names(reply: Reply) -> list[str]:
    names: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Table):
            names.extend(row[0] for row in block.rows)
    return names


def assert_as_of_and_source(reply: Reply, client: TWSClient) -> None:
    small_print = context_text(reply)
    for expected in ("As of", "23:30", "UTC"):
        assert expected in small_print, small_print
    assert client.source in small_print


async def test_what_failed_tonight_counts_exactly(ask: Ask, client: TWSClient) -> None:
    failed = (await client.query_jobs(statuses=sorted(FAILED_STATUSES))).value
    assert failed, "the normal scenario has failures"
    reply = await ask("what failed tonight?")
    assert reply.headline.startswith(f"{len(failed)} job"), reply.headline
    listed = " ".join(table_names(reply))
    for job in failed:
        assert job.name in listed
    assert_as_of_and_source(reply, client)


async def test_status_of_a_job_takes_one_call(ask: Ask, client: TWSClient) -> None:
    await ask("status of PAYROLL_EXTRACT")  # warm: nothing is cached per question, but be fair
    before = client.calls_made
    reply = await ask("status of PAYROLL_EXTRACT", channel="C-status")
    assert client.calls_made - before == 1
    assert "PAYROLL_EXTRACT" in reply.headline, reply.headline
    job = (await client.query_jobs(name="PAYROLL_EXTRACT")).value[0]
    assert job.return_code == 12
    assert "ABEND (rc 12)" in reply.headline, reply.headline
    assert "Return code: 12" in reply.plain_text()
    assert reply.tone is Tone.ERROR
    assert_as_of_and_source(reply, client)


async def test_status_of_a_job_stream(ask: Ask, client: TWSClient) -> None:
    jobs = (await client.query_jobs(job_stream="PAYROLL_DAILY")).value
    stream = (await client.query_job_streams(name="PAYROLL_DAILY")).value[0]
    done = sum(1 for job in jobs if job.finished and not job.failed)
    failed = sum(1 for job in jobs if job.failed)
    assert (done, failed) == (1, 1)  # PAYROLL_INIT done, PAYROLL_EXTRACT abended
    reply = await ask("status of PAYROLL_DAILY")
    assert reply.headline == (
        f"Job stream PAYROLL_DAILY is {stream.status.value}: "
        f"{done} of {len(jobs)} jobs done, {failed} failed."
    ), reply.headline
    assert set(table_names(reply)) >= {job.name for job in jobs}


async def test_wildcard_status(ask: Ask, client: TWSClient) -> None:
    jobs = (await client.query_jobs(name="PAY*")).value
    assert len(jobs) > 1
    reply = await ask("status of PAY*")
    assert reply.headline.startswith(f"{len(jobs)} jobs match PAY*"), reply.headline


async def test_fuzzy_name_is_corrected_or_suggested(ask: Ask) -> None:
    reply = await ask("status of PAYROLL_EXTRCT")
    assert "PAYROLL_EXTRACT" in reply.plain_text()
    assert "PAYROLL_EXTRCT" in reply.plain_text()  # says what it corrected


async def test_unknown_job_says_so(ask: Ask) -> None:
    reply = await ask("status of ZZQX_NOTHING_LIKE_IT")
    assert reply.headline == "No job or job stream named ZZQX_NOTHING_LIKE_IT in the current plan."


async def test_why_did_it_abend(ask: Ask, client: TWSClient) -> None:
    job = (await client.query_jobs(name="PAYROLL_EXTRACT")).value[0]
    reply = await ask("why did PAYROLL_EXTRACT abend?")
    text = reply.plain_text()
    assert reply.headline.startswith("PAYROLL_EXTRACT ABEND"), reply.headline
    assert f"{job.return_code}" in reply.headline
    assert job.run_id is not None
    log = (await client.job_log(job.run_id)).value
    error_lines = [line for line in log.splitlines() if "ORA-01555" in line]
    assert error_lines
    assert error_lines[0].strip() in text  # the relevant lines ...
    assert "= JCLFILE" in log
    assert "JCLFILE" not in text  # ... not the whole stdlist
    assert "snapshot too old" in text.lower()  # explained from the knowledge corpus
    assert "What to do:" in text
    assert "knowledge:" in context_text(reply)
    assert "predecessor" in text.lower()


async def test_follow_ups_keep_the_subject(ask: Ask) -> None:
    await ask("status of PAYROLL_EXTRACT", channel="C-follow")
    preds = await ask("and its predecessors?", channel="C-follow")
    assert "PAYROLL_EXTRACT" in preds.headline, preds.headline
    assert "predecessor" in preds.headline, preds.headline
    why = await ask("why?", channel="C-follow")
    assert why.headline.startswith("PAYROLL_EXTRACT ABEND"), why.headline


async def test_threads_are_separate_conversations(ask: Ask) -> None:
    await ask("status of PAYROLL_EXTRACT", channel="C-a")
    other = await ask("and its predecessors?", channel="C-b")
    assert other.headline.startswith("Which job"), other.headline


async def test_follow_up_survives_a_restart(client: TWSClient, tmp_path: Path) -> None:
    path = str(tmp_path / "cp.db")
    async with AsyncSqliteSaver.from_conn_string(path) as saver:
        ask = make_asker(
            Dispatcher(
                assistant=Assistant(scheduler=client, checkpointer=saver, zone=UTC), audit=None
            )
        )
        await ask("status of PAYROLL_EXTRACT")
    async with AsyncSqliteSaver.from_conn_string(path) as saver:
        ask = make_asker(
            Dispatcher(
                assistant=Assistant(scheduler=client, checkpointer=saver, zone=UTC), audit=None
            )
        )
        reply = await ask("and its successors?")
    assert "PAYROLL_EXTRACT" in reply.headline, reply.headline


async def test_what_depends_on_a_job(ask: Ask, client: TWSClient) -> None:
    job = (await client.query_jobs(name="PAYROLL_EXTRACT")).value[0]
    successors = (await client.job_successors(job.id)).value
    assert successors
    # The whole downstream, walked here independently until nothing new turns up.
    seen = {job.id} | {dep.id for dep in successors}
    further: list[str] = []
    frontier = [dep.id for dep in successors]
    while frontier:
        next_frontier = []
        for dep_id in frontier:
            for dep in (await client.job_successors(dep_id)).value:
                if dep.id not in seen:
                    seen.add(dep.id)
                    further.append(dep.name)
                    next_frontier.append(dep.id)
        frontier = next_frontier
    assert len(further) > 4  # deeper than the old four-level walk
    reply = await ask("what depends on PAYROLL_EXTRACT?")
    assert reply.headline.startswith(
        f"1 job depends directly on PAYROLL_EXTRACT, {len(further)} more further down;"
    ), reply.headline
    text = reply.plain_text()
    for dep in successors:
        assert dep.name in text
    for name in further[:10]:
        assert name in text


def table_rows(reply: Reply, after: str) -> list[tuple[str, ...]]:
    """The rows of the table that follows the paragraph ``after``."""
    blocks = list(reply.blocks)
    for index, block in enumerate(blocks):
        if isinstance(block, Paragraph) and block.text == after:
            table = blocks[index + 1]
            assert isinstance(table, Table)
            return list(table.rows)
    return []


async def test_what_is_late_or_at_risk(ask: Ask, client: TWSClient) -> None:
    plan = await client.query_jobs()
    now = plan.as_of
    # Late, computed here from the plan: flagged by the engine, or the deadline passed
    # while the job has not done its work (unfinished, or failed).
    late = {
        job.name
        for job in plan.value
        if job.late
        or (
            job.deadline is not None
            and job.deadline < now
            and (job.failed or job.status not in FINISHED_STATUSES)
        )
    }
    assert late
    reply = await ask("what will be late?")
    assert reply.headline.startswith(f"{len(late)} jobs late, "), reply.headline
    assert reply.tone is Tone.ERROR
    assert {row[0] for row in table_rows(reply, "Late now:")} == late
    assert_as_of_and_source(reply, client)


async def test_workstation_status(ask: Ask, client: TWSClient) -> None:
    stations = (await client.workstations()).value
    down = [ws.name for ws in stations if not ws.available]
    assert stations
    reply = await ask("workstation status")
    if down:
        assert reply.headline.startswith(f"{len(down)} workstation"), reply.headline
        for name in down:
            assert name in reply.headline
    else:
        assert reply.headline == f"All {len(stations)} workstations are linked and running."
        assert reply.tone is Tone.SUCCESS
    assert set(table_names(reply)) == {ws.name for ws in stations}


async def test_help_lists_examples(ask: Ask) -> None:
    reply = await ask("help")
    assert "what failed tonight" in reply.plain_text().lower()


async def test_lists_by_status(ask: Ask, client: TWSClient) -> None:
    for question, statuses in (
        ("what is running?", [JobStatus.EXEC, JobStatus.INTRO, JobStatus.WAIT]),
        ("show abended jobs", [JobStatus.ABEND, JobStatus.ABENP]),
    ):
        expected = (await client.query_jobs(statuses=statuses)).value
        assert expected, question  # the normal scenario has both
        reply = await ask(question, channel=question)
        count = len(expected)
        noun = "job" if count == 1 else "jobs"
        verb = {
            "what is running?": "is running" if count == 1 else "are running",
            "show abended jobs": "abended",
        }[question]
        counts = Counter(job.status.value for job in expected)
        suffix = (
            " ("
            + ", ".join(
                f"{n} {status}"
                for status, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            )
            + ")."
            if len(counts) > 1
            else "."
        )
        assert reply.headline == f"{count} {noun} {verb} in the current plan{suffix}", (
            question,
            reply.headline,
        )
        assert sorted(table_names(reply)) == sorted(job.name for job in expected)


async def test_every_question_is_audited(ask: Ask, audit: RecordingAudit) -> None:
    await ask("what failed tonight?")
    assert audit.records[-1]["action"] == "question"
    assert audit.records[-1]["actor_identity"] == "slack:U123"
    assert audit.records[-1]["parameters"]["text"] == "what failed tonight?"


async def test_late_reuses_dependency_edges_but_reads_statuses_fresh(
    ask: Ask, client: TWSClient
) -> None:
    before = client.calls_made
    first = await ask("what will be late?", channel="C-late-1")
    cold_calls = client.calls_made - before
    before = client.calls_made
    second = await ask("what will be late?", channel="C-late-2")
    warm_calls = client.calls_made - before
    # The plan's job rows carry their predecessors (`dependencies`, as HWA v2 plan objects
    # do), so no per-job predecessor reads; the plan (statuses) is read again every time.
    assert 1 <= cold_calls <= 2
    assert 1 <= warm_calls <= 2
    assert second.headline == first.headline
