"""Exactly one execution when 50 approvals hit one request on three replicas at once.

Three `RunbookService` objects (three replicas) with their own Redis connections share one
Redis and one checkpointer. Each round: one request, 50 concurrent Approve clicks spread over
the replicas; the job's ``rerunCount`` at the simulator must go up by exactly one, and every
other click is told the run is already in progress or done. Then the job is killed (EXEC ->
ABEND) so the next round can rerun it again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    REQUESTER,
    actor,
    job_id,
    make_service,
    redis_store,
    simulator,
    write_test_catalog,
)

from agents.messages import Actions
from agents.runbooks.decisions import DecisionKind, DecisionStatus
from agents.runbooks.signing import ACTION_IDS
from integrations.tws.models import JobAction, JobStatus

pytestmark = pytest.mark.redis

ROUNDS = 100
CLICKS = 50


async def test_fifty_concurrent_approvals_execute_once_every_time(tmp_path: Path) -> None:
    prefix = f"test-rb-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix) for _ in range(3)]
    catalog = write_test_catalog(tmp_path)
    checkpointer = InMemorySaver()
    started = time.monotonic()
    async with simulator() as (_sim, client):
        services = [
            make_service(catalog=catalog, client=client, store=store, checkpointer=checkpointer)
            for store in stores
        ]
        jid = await job_id(client)
        for round_no in range(ROUNDS):
            requester = services[round_no % 3]
            result = await requester.request_text(
                text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER
            )
            assert result.accepted, result.reply.plain_text()
            row = next(b for b in result.reply.blocks if isinstance(b, Actions))
            value = next(
                b.value for b in row.buttons if b.action_id == ACTION_IDS[DecisionKind.APPROVE]
            )

            async def one(i: int, value: str = value) -> DecisionStatus:
                service = services[i % 3]
                decision = service.decision_from_click(
                    action_id="runbook.approve", value=value, actor=actor(f"approver{i + 1}")
                )
                return (await service.decide(decision)).status

            statuses = await asyncio.gather(*(one(i) for i in range(CLICKS)))
            assert statuses.count(DecisionStatus.EXECUTED) == 1, statuses
            assert statuses.count(DecisionStatus.ALREADY) == CLICKS - 1, statuses
            job = (await client.get_job(jid)).value
            assert job.rerun_count == round_no + 1, f"round {round_no}: {job.rerun_count} reruns"
            assert job.status == JobStatus.EXEC
            await client.job_action(jid, JobAction.KILL)  # ABEND again for the next round
    for store in stores:
        await store.close()
    assert time.monotonic() - started < 60
