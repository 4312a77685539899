"""The real runbook stack for the surface tests: simulator over HTTP, TWSClient, RunbookService.

Imported by name (``from runbook_stack import ...``) from any test under tests/bot (pytest
puts tests/bot on sys.path for its conftest). The shipped catalog is used, so the approval
card is the one people see (``rerun-abended-job``: group tws-operators, one approver).

`Stack.replica` builds another `RunbookService` on the same simulator, store and
checkpointer (another replica, or the same one after a restart); `redis_store` gives a
shared Redis store for tests where replicas matter (skips without Redis, fails under CI).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.messages import Actions, Button, Reply
from agents.runbooks.catalog import load_catalog
from agents.runbooks.policy import ApprovalGroups, GroupDirectory
from agents.runbooks.ports import PhaseHook
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from agents.tasks import Spawner
from bot.progress import ProgressRouter
from integrations.store import MemoryStore, RedisStore, Store, StoreError
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

SIM_NOW = datetime(2026, 11, 23, 23, 0, 0, tzinfo=UTC)
KEY = b"surface-test-signing-key-0123456789"
STREAM, JOB_NAME = "PAYROLL_DAILY", "PAYROLL_EXTRACT"
JOB = f"{STREAM}.{JOB_NAME}"
RUNBOOK = "rerun-abended-job"
APPROVERS = ("approver1@example.com", "approver2@example.com", "ops.lead@example.com")
REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def redis_store(prefix: str | None = None) -> RedisStore:
    """A RedisStore with a unique prefix; skip (or fail under CI) when Redis is absent."""
    store = RedisStore(url=REDIS_URL, prefix=prefix or f"test-bot-rb-{uuid.uuid4().hex}:")
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return store


@dataclass
class Tasks:
    """A real `agents.tasks.Spawner`: asyncio tasks it keeps, drained by the test."""

    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __call__(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        self.tasks.add(asyncio.get_running_loop().create_task(work, name=name))

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for every task; re-raise what one raised."""
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=timeout)
            assert not pending, f"{len(pending)} run(s) still going after {timeout} s"
            for task in done:
                task.result()


@dataclass
class AuditTrail:
    """An audit recorder keeping records in a list."""

    records: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, **fields: Any) -> object:
        self.records.append(fields)
        return None

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


@dataclass
class Stack:
    """The running parts."""

    sim: SimulatorServer
    client: TWSClient
    service: RunbookService
    progress: ProgressRouter
    audit: AuditTrail
    store: Store
    checkpointer: InMemorySaver
    groups: ApprovalGroups

    def replica(
        self,
        *,
        progress: ProgressRouter | None = None,
        store: Store | None = None,
        spawn: Spawner | None = None,
        lease_seconds: float = 30.0,
        on_phase: PhaseHook | None = None,
    ) -> RunbookService:
        """Another replica (or this one restarted): same engine, store and checkpointer."""
        return RunbookService(
            catalog=load_catalog([]),
            groups=self.groups,
            scheduler=self.client,
            store=store or self.store,
            checkpointer=self.checkpointer,
            signer=ButtonSigner(KEY),
            audit=self.audit,
            progress=progress,
            poll_seconds=0.01,
            lease_seconds=lease_seconds,
            on_phase=on_phase,
            spawn=spawn,
        )

    async def rerun_count(self) -> int:
        """How often the job was rerun in the plan, read from the simulator."""
        found = (await self.client.query_jobs(name=JOB_NAME, job_stream=STREAM)).value
        return next(j.rerun_count for j in found if j.job_stream_name == STREAM)

    async def status(self, request_id: str) -> str:
        record = await self.service.journal.load(request_id)
        assert record is not None
        return record.status.value


@asynccontextmanager
async def runbook_stack(
    *,
    groups: ApprovalGroups | None = None,
    directory: GroupDirectory | None = None,
    store: Store | None = None,
    spawn: Spawner | None = None,
    lease_seconds: float = 30.0,
    on_phase: PhaseHook | None = None,
) -> AsyncIterator[Stack]:
    """Simulator (frozen clock, API key ``k``) + TWSClient + RunbookService over MemoryStore.

    ``groups`` replaces the default approval groups; ``directory`` resolves group references;
    ``store`` replaces the MemoryStore (e.g. `redis_store`); ``spawn`` runs approved runs in
    the background; ``lease_seconds`` and ``on_phase`` as in `RunbookService`.
    """
    async with SimulatorServer(scenario="normal", speed=0, api_keys=["k"], now=SIM_NOW) as sim:
        client = TWSClient(base_url=sim.url, api_key="k", retries=0)
        audit = AuditTrail()
        progress = ProgressRouter()
        policy = groups or ApprovalGroups(
            {"tws-operators": list(APPROVERS), "tws-admins": ["x@y.z"]}
        )
        shared = store or MemoryStore()
        checkpointer = InMemorySaver()
        service = RunbookService(
            catalog=load_catalog([]),
            groups=policy,
            scheduler=client,
            store=shared,
            checkpointer=checkpointer,
            signer=ButtonSigner(KEY),
            audit=audit,
            progress=progress,
            poll_seconds=0.01,
            lease_seconds=lease_seconds,
            on_phase=on_phase,
            directory=directory,
            spawn=spawn,
        )
        try:
            yield Stack(sim, client, service, progress, audit, shared, checkpointer, policy)
        finally:
            await client.close()


def card_buttons(card: Reply) -> dict[str, Button]:
    """Label -> button of a card."""
    row = next(b for b in card.blocks if isinstance(b, Actions))
    return {b.label: b for b in row.buttons}


def forge(value: str) -> str:
    """The same value with its signature's last digit changed."""
    return value[:-1] + ("0" if value[-1] != "0" else "1")
