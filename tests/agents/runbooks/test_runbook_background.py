"""An approved runbook runs in the background: the click is answered before the run ends.

The service gets a real `agents.tasks.Spawner` (asyncio tasks, tracked and drained); the
runbook reruns a job and then waits until it succeeds, which in the frozen simulator happens
only when the test confirms the job. Two replicas share Redis and the checkpointer.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    REQUESTER,
    AuditTrail,
    Posts,
    Tasks,
    actor,
    click,
    job_id,
    make_service,
    redis_store,
    simulator,
    wait_until,
    write_test_catalog,
)

from agents.runbooks.deciding import STARTED_IN_BACKGROUND
from agents.runbooks.decisions import DecisionStatus
from agents.runbooks.journal import RequestStatus
from integrations.tws.models import JobAction, JobStatus

pytestmark = pytest.mark.redis


async def test_the_approval_answers_at_once_and_the_run_finishes_in_the_background(
    tmp_path: Path,
) -> None:
    prefix = f"test-rb-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix), await redis_store(prefix)]
    catalog, checkpointer = write_test_catalog(tmp_path), InMemorySaver()
    tasks, audit, posts = Tasks(), AuditTrail(), Posts()
    async with simulator() as (_sim, client):
        service = make_service(
            catalog=catalog,
            client=client,
            store=stores[0],
            checkpointer=checkpointer,
            audit=audit,
            progress=posts,
            spawn=tasks,
        )
        other_replica = make_service(
            catalog=catalog, client=client, store=stores[1], checkpointer=checkpointer
        )
        jid = await job_id(client)
        result = await service.request_text(
            text=f"/tws run rerun-and-wait job={JOB}", actor=REQUESTER, channel="C1", thread="T1"
        )
        rid = result.request_id
        assert rid is not None

        answer = await click(service, result.reply, "Approve", actor("approver1"))

        # decide() has returned; the run has not finished (it has not even started yet).
        assert answer.status == DecisionStatus.APPROVED
        assert answer.message == STARTED_IN_BACKGROUND
        assert answer.outcome is None
        assert answer.card is not None
        assert "approved, starting" in answer.card.headline
        assert tasks.names == [f"runbook:{rid}"]

        def thread() -> list[str]:
            return [reply.headline for r, reply in posts.replies if r == rid]

        async def rerun_reported() -> bool:
            return any("step 1/3: rerun" in h for h in thread())

        await wait_until(rerun_reported, what="the rerun step to be reported in the thread")
        # The run now sits in its wait step, in the background, holding the drive lease.
        record = await service.journal.load(rid)
        assert record is not None
        assert record.status == RequestStatus.EXECUTING
        assert tasks.running == 1
        assert not any(h.startswith("Runbook rerun-and-wait") for h in thread())
        assert (await client.get_job(jid)).value.status == JobStatus.EXEC
        # Nobody else runs it meanwhile: not recovery on this replica or another, not a click.
        assert await service.recover() == []
        assert await other_replica.recover() == []
        late = await click(service, result.reply, "Approve", actor("approver2"))
        assert late.status == DecisionStatus.ALREADY

        await client.job_action(jid, JobAction.CONFIRM_SUCC)  # the job finishes
        await tasks.drain()

        assert (await client.get_job(jid)).value.rerun_count == 1  # executed exactly once
        assert [r["outcome"] for r in audit.actions("runbook.tws_call")] == ["intent", "ok"]
        record = await service.journal.load(rid)
        assert record is not None
        assert record.status == RequestStatus.SUCCEEDED
        # The outcome reached the progress sink, addressed to the request's thread.
        assert thread()[-1] == "Runbook rerun-and-wait: done"
        assert "step 2/3: wait until" in thread()[1]
        assert [r["outcome"] for r in audit.actions("runbook.outcome")] == ["succeeded"]
        assert await service.journal.active() == []
    for store in stores:
        await store.close()


async def test_a_rejection_is_still_answered_inline(tmp_path: Path) -> None:
    store = await redis_store()
    tasks, posts = Tasks(), Posts()
    async with simulator() as (_sim, client):
        service = make_service(
            catalog=write_test_catalog(tmp_path),
            client=client,
            store=store,
            checkpointer=InMemorySaver(),
            progress=posts,
            spawn=tasks,
        )
        result = await service.request_text(
            text=f"/tws run rerun-and-wait job={JOB}", actor=REQUESTER
        )
        answer = await click(service, result.reply, "Reject", actor("approver1"))
        assert answer.status == DecisionStatus.REJECTED
        assert tasks.names == []  # nothing long to do: the request ended before the answer
        assert await service.journal.active() == []
        assert (await client.get_job(await job_id(client))).value.rerun_count == 0
    await store.close()
