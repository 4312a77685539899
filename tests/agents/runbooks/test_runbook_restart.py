"""A process killed (SIGKILL) between approval and execution, or between two steps.

The worker (``runbook_support.py`` run as a script) uses the same SQLite checkpoint file and
the same Redis prefix in every process; the simulator runs in the test process. After the
kill, a new process runs ``recover``: no step runs twice and the runbook finishes (or says
what needs a person).
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
from runbook_support import JOB, job_id, redis_store, simulator, write_test_catalog

from integrations.tws.client import TWSClient
from integrations.tws.models import JobAction, JobStatus

pytestmark = pytest.mark.redis

SUPPORT = Path(__file__).with_name("runbook_support.py")
ROOT = Path(__file__).resolve().parents[3]


class Worker:
    def __init__(self, *, sim_url: str, tmp_path: Path) -> None:
        self.base = [
            "--sim-url",
            sim_url,
            "--prefix",
            f"test-rb-{uuid.uuid4().hex}:",
            "--sqlite",
            str(tmp_path / "checkpoints.sqlite"),
            "--catalog",
            str(tmp_path / "runbooks"),
        ]
        self.marker = tmp_path / "marker"
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
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, err.decode()[-3000:]
        return dict(json.loads(out.decode().strip().splitlines()[-1]))

    async def run_until_killed(self, command: str, *extra: str, die_at: str) -> None:
        self.marker.unlink(missing_ok=True)
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
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=ROOT,
        )
        for _ in range(600):
            if self.marker.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert self.marker.exists(), f"the worker never reached {die_at}"
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL


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
        await asyncio.sleep(1.2)  # the dead process's drive lease (1 s) runs out
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
        await asyncio.sleep(1.2)
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
        await asyncio.sleep(1.2)
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
        await asyncio.sleep(1.2)
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
        await asyncio.sleep(1.2)
        recovered = await worker.run("recover", "--request-id", rid)
        assert recovered == {"driven": [rid], "record_status": "needs_person"}
        assert (await client.get_job(jid)).value.rerun_count == 1
