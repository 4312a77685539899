"""A process killed (SIGKILL) between approval and execution, or between two steps.

The worker (``runbook_support.py`` run as a script) uses the same SQLite checkpoint file and
the same Redis prefix in every process; the simulator runs in the test process. After the
kill, a new process runs ``recover``: no step runs twice and the runbook finishes (or says
what needs a person). Nothing here sleeps for a fixed time: each wait polls the condition it
waits for (the marker file, the dead worker's drive lease running out) with a deadline.

Why the "killed after the call reached TWS" case used to fail now and then: the graph's
checkpoints were saved in the background (LangGraph's default ``durability="async"``). When
the worker died before the checkpoint after ``recheck`` was saved, the saved checkpoint still
had ``recheck`` pending, with its result already written. LangGraph reports no ``next`` node
for such a checkpoint, and recovery took that for a finished graph: it "drove" the request
without running anything, and the request stayed ``executing``. Recovery now continues while
the checkpoint has tasks, and checkpoints are saved before each node runs
(`test_recovery_continues_from_a_checkpoint_that_trails_the_nodes` pins it down in-process).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from runbook_support import (
    JOB,
    REQUESTER,
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
from agents.runbooks.journal import RequestJournal, RequestStatus
from integrations.tws.client import TWSClient
from integrations.tws.models import JobAction, JobStatus

pytestmark = pytest.mark.redis

WORKER_START_SECONDS = 60.0  # a fresh interpreter imports LangGraph, aiohttp, redis...

SUPPORT = Path(__file__).with_name("runbook_support.py")
ROOT = Path(__file__).resolve().parents[3]


class Worker:
    def __init__(self, *, sim_url: str, tmp_path: Path) -> None:
        self.prefix = f"test-rb-{uuid.uuid4().hex}:"
        self.base = [
            "--sim-url",
            sim_url,
            "--prefix",
            self.prefix,
            "--sqlite",
            str(tmp_path / "checkpoints.sqlite"),
            "--catalog",
            str(tmp_path / "runbooks"),
        ]
        self.marker = tmp_path / "marker"
        self.stderr = tmp_path / "killed-worker.stderr"
        self.env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{SUPPORT.parent}"}

    async def run(self, command: str, *extra: str) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SUPPORT),
            command,
            *self.base,
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=ROOT,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=WORKER_START_SECONDS)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"the {command} worker did not finish within {WORKER_START_SECONDS:g} s")
        assert proc.returncode == 0, err.decode()[-3000:]
        return dict(json.loads(out.decode().strip().splitlines()[-1]))

    async def run_until_killed(self, command: str, *extra: str, die_at: str) -> None:
        """Run a worker that parks at ``die_at`` (and says so in the marker), then SIGKILL it."""
        self.marker.unlink(missing_ok=True)
        with self.stderr.open("wb") as stderr:  # a file: an unread pipe could fill and block it
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SUPPORT),
                command,
                *self.base,
                *extra,
                "--die-at",
                die_at,
                "--marker",
                str(self.marker),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
                env=self.env,
                cwd=ROOT,
            )

        async def parked_or_gone() -> bool:
            return self.marker.exists() or proc.returncode is not None

        try:
            await wait_until(
                parked_or_gone, what=f"the worker to reach {die_at}", timeout=WORKER_START_SECONDS
            )
            assert self.marker.exists(), (
                f"the worker exited ({proc.returncode}) before {die_at}:\n"
                + self.stderr.read_text()[-3000:]
            )
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL

    async def lease_ran_out(self, request_id: str) -> None:
        """Wait until nobody holds the request's drive lease (the dead worker's expires)."""
        store = await redis_store(self.prefix)
        journal = RequestJournal(store=store)

        async def free() -> bool:
            return await journal.drive_holder(request_id) is None

        try:
            await wait_until(free, what=f"the dead worker's drive lease on {request_id} to expire")
        finally:
            await store.close()


async def _setup(tmp_path: Path, client: TWSClient) -> None:
    write_test_catalog(tmp_path / "runbooks")
    store = await redis_store()  # skip (or fail under CI) without Redis
    await store.close()


async def _reruns(client: TWSClient) -> int:
    return (await client.get_job(await job_id(client))).value.rerun_count


async def test_killed_between_approval_and_execution(tmp_path: Path) -> None:
    async with simulator() as (sim, client):
        await _setup(tmp_path, client)
        worker = Worker(sim_url=sim.url, tmp_path=tmp_path)
        rid = (await worker.run("request", "--text", f"/tws run quick-rerun job={JOB}"))[
            "request_id"
        ]
        await worker.run_until_killed("approve", "--request-id", rid, die_at="before_execute")
        assert await _reruns(client) == 0
        await worker.lease_ran_out(rid)
        recovered = await worker.run("recover", "--request-id", rid)
        assert recovered == {"driven": [rid], "record_status": "succeeded"}
        assert await _reruns(client) == 1
        again = await worker.run("recover", "--request-id", rid)
        assert again["driven"] == []
        assert await _reruns(client) == 1


async def test_killed_between_two_steps(tmp_path: Path) -> None:
    async with simulator() as (sim, client):
        await _setup(tmp_path, client)
        worker = Worker(sim_url=sim.url, tmp_path=tmp_path)
        rid = (await worker.run("request", "--text", f"/tws run rerun-then-confirm job={JOB}"))[
            "request_id"
        ]
        await worker.run_until_killed("approve", "--request-id", rid, die_at="step_done:1")
        job = (await client.get_job(await job_id(client))).value
        assert job.rerun_count == 1
        assert job.status == JobStatus.EXEC
        await worker.lease_ran_out(rid)
        recovered = await worker.run("recover", "--request-id", rid)
        assert recovered == {"driven": [rid], "record_status": "succeeded"}
        job = (await client.get_job(await job_id(client))).value
        assert job.rerun_count == 1
        assert job.status == JobStatus.SUCC


async def test_killed_after_the_call_reached_tws_but_before_the_journal(tmp_path: Path) -> None:
    async with simulator() as (sim, client):
        await _setup(tmp_path, client)
        worker = Worker(sim_url=sim.url, tmp_path=tmp_path)
        rid = (await worker.run("request", "--text", f"/tws run quick-rerun job={JOB}"))[
            "request_id"
        ]
        await worker.run_until_killed("approve", "--request-id", rid, die_at="step_started:0")
        await client.job_action(await job_id(client), JobAction.RERUN)  # the call had landed
        await worker.lease_ran_out(rid)
        recovered = await worker.run("recover", "--request-id", rid)
        assert recovered == {"driven": [rid], "record_status": "succeeded"}
        assert await _reruns(client) == 1  # reconciled with the plan, not called again


async def test_killed_before_the_call_reached_tws(tmp_path: Path) -> None:
    async with simulator() as (sim, client):
        await _setup(tmp_path, client)
        worker = Worker(sim_url=sim.url, tmp_path=tmp_path)
        rid = (await worker.run("request", "--text", f"/tws run quick-rerun job={JOB}"))[
            "request_id"
        ]
        await worker.run_until_killed("approve", "--request-id", rid, die_at="step_started:0")
        await worker.lease_ran_out(rid)
        recovered = await worker.run("recover", "--request-id", rid)
        assert recovered == {"driven": [rid], "record_status": "succeeded"}
        assert await _reruns(client) == 1  # the plan showed no rerun: made once, now


async def test_killed_while_a_plan_change_makes_the_outcome_unknowable(tmp_path: Path) -> None:
    async with simulator() as (sim, client):
        await _setup(tmp_path, client)
        worker = Worker(sim_url=sim.url, tmp_path=tmp_path)
        rid = (await worker.run("request", "--text", f"/tws run rerun-then-confirm job={JOB}"))[
            "request_id"
        ]
        await worker.run_until_killed("approve", "--request-id", rid, die_at="step_started:2")
        jid = await job_id(client)
        await client.job_action(jid, JobAction.KILL)  # someone else changed the job meanwhile
        await worker.lease_ran_out(rid)
        recovered = await worker.run("recover", "--request-id", rid)
        assert recovered == {"driven": [rid], "record_status": "needs_person"}
        assert (await client.get_job(jid)).value.rerun_count == 1


class _SaverThatFailsOnce(InMemorySaver):
    """A checkpointer whose next checkpoint save fails once armed (as if the process died).

    Task results are still saved (``aput_writes``); only the checkpoint after them is lost,
    which is exactly what a crash between the two leaves behind.
    """

    armed = False

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if self.armed:
            self.armed = False
            raise ConnectionError("checkpoint store lost (the process died here)")
        return await super().aput(config, checkpoint, metadata, new_versions)


async def test_recovery_continues_from_a_checkpoint_that_trails_the_nodes(tmp_path: Path) -> None:
    prefix = f"test-rb-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix), await redis_store(prefix)]
    catalog = write_test_catalog(tmp_path / "runbooks")
    saver = _SaverThatFailsOnce()

    async def crash_after_recheck(request_id: str, phase: str) -> None:
        if phase == "before_recheck":
            saver.armed = True  # the save after the recheck's result is the one lost

    async with simulator() as (_sim, client):
        dying = make_service(
            catalog=catalog,
            client=client,
            store=stores[0],
            checkpointer=saver,
            lease_seconds=1.0,
            on_phase=crash_after_recheck,
        )
        survivor = make_service(
            catalog=catalog, client=client, store=stores[1], checkpointer=saver, lease_seconds=1.0
        )
        result = await dying.request_text(text=f"/tws run quick-rerun job={JOB}", actor=REQUESTER)
        rid = result.request_id
        assert rid is not None
        with pytest.raises(ConnectionError, match="process died here"):
            await click(dying, result.reply, "Approve", actor("approver1"))
        assert await _reruns(client) == 0
        record = await survivor.journal.load(rid)
        assert record is not None
        assert record.status == RequestStatus.APPROVED

        assert await survivor.recover() == [rid]

        record = await survivor.journal.load(rid)
        assert record is not None
        assert record.status == RequestStatus.SUCCEEDED, record.history
        assert await _reruns(client) == 1
        again = await click(survivor, result.reply, "Approve", actor("approver2"))
        assert again.status == DecisionStatus.ALREADY
        assert await survivor.recover() == []
        assert await _reruns(client) == 1
    for store in stores:
        await store.close()
