"""Two replicas on the real Redis store: a run taken over, and two requests for one job.

- A replica whose run another replica took over (its drive lease ran out while it was
  paused) stops at its next step and tells its clicker, in words for people, that another
  server continues; nothing of the machinery (fencing tokens, leases, nonces, the step
  journal) reaches the chat.
- Two requests for the same job, approved at the same moment on two replicas: one runs, the
  other is refused before it sends anything, naming the request that holds the job.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    REQUESTER,
    AuditTrail,
    Posts,
    actor,
    click,
    job_id,
    make_service,
    redis_store,
    simulator,
    wait_until,
    write_test_catalog,
)

from agents.runbooks.decisions import DecisionStatus
from agents.runbooks.journal import RequestStatus
from agents.runbooks.service import RunbookService
from integrations.tws.models import JobStatus

pytestmark = pytest.mark.redis

INTERNAL = re.compile(r"fenc|token|lease|nonce|journal", re.IGNORECASE)


def _events(count: int) -> list[asyncio.Event]:
    return [asyncio.Event() for _ in range(count)]


async def test_a_clicker_whose_run_was_taken_over_reads_words_for_people(tmp_path: Path) -> None:
    prefix = f"test-rb-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix), await redis_store(prefix)]
    catalog, checkpointer = write_test_catalog(tmp_path), InMemorySaver()
    a_parked, a_go, b_parked, b_go = _events(4)

    async def a_hook(request_id: str, phase: str) -> None:
        if phase == "step_done:1":  # the rerun is done; A stalls (a long GC pause, say)
            a_parked.set()
            await a_go.wait()

    async def b_hook(request_id: str, phase: str) -> None:
        if phase == "step_done:2":  # B runs the rest; it holds the run while A wakes up
            b_parked.set()
            await b_go.wait()

    posts_a, posts_b = Posts(), Posts()
    async with simulator() as (_sim, client):
        a, b = (
            make_service(
                catalog=catalog,
                client=client,
                store=store,
                checkpointer=checkpointer,
                progress=posts,
                lease_seconds=1.0,
                on_phase=hook,
            )
            for store, posts, hook in ((stores[0], posts_a, a_hook), (stores[1], posts_b, b_hook))
        )
        result = await a.request_text(
            text=f"/tws run rerun-then-confirm job={JOB}", actor=REQUESTER, channel="C", thread="T"
        )
        rid = result.request_id
        assert rid is not None
        clicking = asyncio.create_task(click(a, result.reply, "Approve", actor("approver1")))
        await wait_until(_is_set(a_parked), what="A to finish the rerun step")

        async def lease_free() -> bool:
            return await a.journal.drive_holder(rid) is None

        await wait_until(lease_free, what="A's drive lease to run out")
        recovering = asyncio.create_task(b.recover())
        await wait_until(_is_set(b_parked), what="B to take the run over")
        a_go.set()
        answer = await clicking
        b_go.set()
        assert await recovering == [rid]

        record = await a.journal.load(rid)
        assert record is not None
        assert record.status == RequestStatus.SUCCEEDED
        job = (await client.get_job(await job_id(client))).value
        assert (job.rerun_count, job.status) == (1, JobStatus.SUCC)
        assert answer.status == DecisionStatus.APPROVED
        assert "Another Resync server has taken over the run" in answer.message
        assert answer.card is not None
        said = [answer.message, answer.card.plain_text()]
        said += [reply.plain_text() for _, reply in posts_a.replies + posts_b.replies]
        assert any("rerun and confirmed" in text for text in said)  # B finished the run
        assert not [text for text in said if INTERNAL.search(text)], said
        # A stopped at the step B was running: it did not post B's steps a second time.
        assert not any("step 3/4" in reply.headline for _, reply in posts_a.replies)
    for store in stores:
        await store.close()


def _is_set(event: asyncio.Event) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return event.is_set()

    return check


async def test_two_requests_for_one_job_approved_at_once_on_two_replicas_rerun_it_once(
    tmp_path: Path,
) -> None:
    prefix = f"test-rb-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix), await redis_store(prefix)]
    catalog, checkpointer = write_test_catalog(tmp_path), InMemorySaver()
    requests: list[str] = []
    services: list[RunbookService] = []

    async def hold_until_the_other_ended(request_id: str, phase: str) -> None:
        # Keeps a run that reached its TWS call open until the other request has ended, so
        # both are open at once; without a hold per job both would send their rerun.
        if phase != "before_execute":
            return
        other = next(r for r in requests if r != request_id)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            record = await services[0].journal.load(other)
            if record is not None and record.status.final:
                return
            await asyncio.sleep(0.02)

    audits, posts = [AuditTrail(), AuditTrail()], [Posts(), Posts()]
    async with simulator() as (_sim, client):
        services += [
            make_service(
                catalog=catalog,
                client=client,
                store=stores[i],
                checkpointer=checkpointer,
                audit=audits[i],
                progress=posts[i],
                on_phase=hold_until_the_other_ended,
            )
            for i in range(2)
        ]
        cards = []
        for i, who in enumerate(("requester", "requester2")):
            result = await services[i].request_text(
                text=f"/tws run quick-rerun job={JOB}", actor=actor(who), channel="C", thread=who
            )
            assert result.accepted, result.reply.plain_text()
            assert result.request_id is not None
            requests.append(result.request_id)
            cards.append(result.reply)

        answers = await asyncio.gather(
            click(services[0], cards[0], "Approve", actor("approver1")),
            click(services[1], cards[1], "Approve", actor("approver2")),
        )

        job = (await client.get_job(await job_id(client))).value
        assert job.rerun_count == 1  # the simulator saw one rerun
        calls = [r for a in audits for r in a.actions("runbook.tws_call")]
        assert [r["outcome"] for r in calls] == ["intent", "ok"]  # one call was ever made
        records = [await services[0].journal.load(r) for r in requests]
        statuses = [r.status if r else None for r in records]
        assert sorted(statuses) == [RequestStatus.FAILED, RequestStatus.SUCCEEDED], statuses
        winner = statuses.index(RequestStatus.SUCCEEDED)
        loser = 1 - winner
        held = f"is being changed by request {requests[winner]} (quick-rerun, asked by "
        # The second approver is told which request holds the job, and so is its requester
        # (the outcome in the request's thread).
        assert held in answers[loser].message
        assert answers[loser].status == DecisionStatus.EXECUTED
        assert "nothing was run" in answers[loser].message
        thread = [reply.plain_text() for rid, reply in posts[loser].replies]
        assert any(held in text for text in thread), thread
        assert answers[winner].message == "Run finished: succeeded."
        # Both are closed, and the job is free again for the next request.
        assert await services[0].journal.active() == []
        assert await services[0].journal.target_holder(await job_id(client)) is None
    for store in stores:
        await store.close()
