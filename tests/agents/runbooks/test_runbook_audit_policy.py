"""A change to the plan never runs unless its audit record was written.

The audit fake's ``record`` raises (the audit store is down). The executor writes a plan
change's audit record before it calls TWS, so the call is not made: the simulator, asked over
HTTP, shows the job untouched, and the person is told why, in words, through the decision's
answer (inline) or the progress sink in the request's thread (background). Records that
describe what already happened stay best effort: the request itself is still accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    REQUESTER,
    BrokenAudit,
    Posts,
    Tasks,
    actor,
    click,
    job_id,
    make_service,
    redis_store,
    simulator,
    write_test_catalog,
)

from agents.runbooks.decisions import DecisionStatus
from agents.runbooks.journal import RequestStatus
from integrations.tws.models import JobStatus

pytestmark = pytest.mark.redis

NOT_RUN = (
    "Nothing was run: the audit log could not record it. Ask an administrator to check the "
    "audit store (Resync's log has the error)."
)


def _intents(audit: BrokenAudit) -> list[dict[str, Any]]:
    return [
        a for a in audit.attempts if a["action"] == "runbook.tws_call" and a["outcome"] == "intent"
    ]


@pytest.mark.parametrize("background", [False, True], ids=["inline", "background"])
async def test_no_tws_call_when_the_audit_log_cannot_record_it(
    tmp_path: Path, background: bool
) -> None:
    store = await redis_store()
    audit, posts, tasks = BrokenAudit(), Posts(), Tasks()
    async with simulator() as (_sim, client):
        service = make_service(
            catalog=write_test_catalog(tmp_path),
            client=client,
            store=store,
            checkpointer=InMemorySaver(),
            audit=audit,
            progress=posts,
            spawn=tasks if background else None,
        )
        jid = await job_id(client)
        result = await service.request_text(
            text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER, channel="C1", thread="T1"
        )
        assert result.accepted  # nothing changes the plan yet: its audit record is best effort
        rid = result.request_id
        assert rid is not None

        answer = await click(service, result.reply, "Approve", actor("approver1"))
        await tasks.drain()

        job = (await client.get_job(jid)).value  # the simulator, over HTTP
        assert job.rerun_count == 0
        assert job.status == JobStatus.ABEND
        assert len(_intents(audit)) == 1  # it was asked, refused, and nothing else was tried
        record = await service.journal.load(rid)
        assert record is not None
        assert record.status == RequestStatus.FAILED
        assert record.outcome == NOT_RUN
        thread = [reply.headline for r, reply in posts.replies if r == rid]
        assert thread[-1] == f"Runbook quick-rerun: failed: {NOT_RUN}"
        if background:
            assert answer.status == DecisionStatus.APPROVED
        else:
            assert answer.status == DecisionStatus.EXECUTED
            assert answer.message == f"Run finished: failed. {NOT_RUN}"
            assert answer.outcome is not None
            assert answer.outcome.headline == thread[-1]
        # A restart must not make the call the audit log refused either.
        assert await service.recover() == []
        assert (await client.get_job(jid)).value.rerun_count == 0
    await store.close()


async def test_a_later_step_that_cannot_be_audited_is_not_made(tmp_path: Path) -> None:
    store = await redis_store()
    # Only the confirm-succ (step 3) intent fails: the rerun (step 2) is recorded and made.
    audit, posts = BrokenAudit(fails=lambda r: r["parameters"].get("step") == 3), Posts()
    async with simulator() as (_sim, client):
        service = make_service(
            catalog=write_test_catalog(tmp_path),
            client=client,
            store=store,
            checkpointer=InMemorySaver(),
            audit=audit,
            progress=posts,
        )
        jid = await job_id(client)
        result = await service.request_text(
            text=f"/tws run rerun-then-confirm job={JOB}", actor=REQUESTER
        )
        answer = await click(service, result.reply, "Approve", actor("approver1"))
        job = (await client.get_job(jid)).value
        assert job.rerun_count == 1  # step 2 ran
        assert job.status == JobStatus.EXEC  # step 3 (confirm SUCC) did not
        assert answer.status == DecisionStatus.EXECUTED
        assert answer.message == (
            f"Run finished: failed. PUT /twsd/api/v2/plan/job/{jid}/action/confirm-succ was not "
            "made: the audit log could not record it; the steps before it were done. Ask an "
            "administrator to check the audit store (Resync's log has the error)."
        )
        assert [(i["parameters"]["step"], i in audit.written) for i in _intents(audit)] == [
            (2, True),
            (3, False),
        ]
    await store.close()
