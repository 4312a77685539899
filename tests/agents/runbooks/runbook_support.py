"""Helpers for the runbook tests: the simulator over HTTP, Redis, recorders, a small catalog.

Redis tests need the server at RESYNC_TEST_REDIS_URL (default redis://127.0.0.1:6379/15):
with CI=true a missing server fails the run; elsewhere those tests skip and say why.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agents.messages import Actions, Actor, Platform, Reply
from agents.runbooks.catalog import Catalog, load_catalog
from agents.runbooks.decisions import DecisionResult
from agents.runbooks.journal import CardPlace
from agents.runbooks.policy import ApprovalGroups
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from integrations.audit.sink import AuditSink
from integrations.store import RedisStore, StoreError
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SIM_NOW = datetime(2026, 11, 23, 23, 0, 0, tzinfo=UTC)
KEY = b"test-signing-key-0123456789abcdef"
JOB = "PAYROLL_DAILY.PAYROLL_EXTRACT"

TEST_RUNBOOKS = """
runbooks:
  - id: quick-rerun
    title: Rerun a job (test)
    description: One rerun.
    version: 1
    risk: medium
    parameters: [{name: job, type: job}]
    approval: {groups: [ops], min_approvers: 1, expires_minutes: 30}
    steps:
      - {kind: action, action: rerun, target: job}
  - id: two-approvers
    title: Rerun with two approvers (test)
    description: One rerun, two approvers.
    version: 1
    risk: high
    parameters: [{name: job, type: job}]
    approval: {groups: [ops], min_approvers: 2, expires_minutes: 30}
    steps:
      - {kind: action, action: rerun, target: job}
  - id: rerun-then-confirm
    title: Rerun then confirm SUCC (test)
    description: Two actions, so a restart can fall between them.
    version: 1
    risk: high
    parameters: [{name: job, type: job}]
    approval: {groups: [ops], min_approvers: 1, expires_minutes: 30}
    steps:
      - {kind: check, target: job, status: [ABEND, FAIL]}
      - {kind: action, action: rerun, target: job}
      - {kind: action, action: confirm-succ, target: job}
      - {kind: message, text: "{job} rerun and confirmed"}
  - id: rerun-and-wait
    title: Rerun, then wait until it succeeds (test)
    description: A run that outlives any click handler.
    version: 1
    risk: medium
    parameters: [{name: job, type: job}]
    approval: {groups: [ops], min_approvers: 1, expires_minutes: 30}
    steps:
      - {kind: action, action: rerun, target: job}
      - {kind: wait, target: job, status: [SUCC], timeout_seconds: 60}
      - {kind: message, text: "{job} succeeded"}
"""


def write_test_catalog(directory: Path) -> Catalog:
    """Write the test runbooks next to the shipped ones and load both."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "test_runbooks.yaml").write_text(TEST_RUNBOOKS)
    return load_catalog([directory])


def groups() -> ApprovalGroups:
    """``ops``: approver1..approver60@example.com; ``tws-operators`` for the shipped runbooks."""
    members = [f"approver{i}@example.com" for i in range(1, 61)]
    return ApprovalGroups({"ops": members, "tws-operators": members, "tws-admins": members})


def actor(name: str) -> Actor:
    """A Slack person with an e-mail identity."""
    return Actor(
        platform=Platform.SLACK,
        user_id=f"U{abs(hash(name)) % 10**8}",
        display_name=name,
        email=f"{name}@example.com",
    )


REQUESTER = actor("requester")


@dataclass
class AuditTrail:
    """An `AuditSink` that keeps the records in a list."""

    records: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, **fields: Any) -> object:
        self.records.append(fields)
        return None

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


@dataclass
class BrokenAudit:
    """An `AuditSink` whose store fails: ``record`` raises for the records ``fails`` picks.

    Every attempt is kept in ``attempts``; the ones that did not raise also in ``written``.
    """

    fails: Callable[[dict[str, Any]], bool] = lambda _fields: True
    attempts: list[dict[str, Any]] = field(default_factory=list)
    written: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, **fields: Any) -> object:
        self.attempts.append(fields)
        if self.fails(fields):
            raise ConnectionError("audit store unreachable")
        self.written.append(fields)
        return None


@dataclass
class Tasks:
    """A real `agents.tasks.Spawner`: runs work in asyncio tasks it tracks, can be drained."""

    names: list[str] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __call__(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        self.names.append(name)
        self.tasks.add(asyncio.get_running_loop().create_task(work, name=name))

    @property
    def running(self) -> int:
        return sum(1 for task in self.tasks if not task.done())

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for every task; re-raise what one raised (a test must see it)."""
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=timeout)
            assert not pending, f"{len(pending)} background task(s) still running after {timeout} s"
            for task in done:
                task.result()


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, what: str, timeout: float = 15.0
) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Posts:
    """A progress sink that keeps what was posted (and the cards it was asked to replace)."""

    replies: list[tuple[str, Reply]] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    cards: list[tuple[str, int, Reply]] = field(default_factory=list)

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        self.replies.append((request_id, reply))
        self.platforms.append(platform)

    async def replace_card(
        self, reply: Reply, *, request_id: str, card: CardPlace, version: int
    ) -> bool:
        self.cards.append((request_id, version, reply))
        return True


async def redis_store(prefix: str | None = None) -> RedisStore:
    """A RedisStore with a unique prefix; skip (or fail under CI) when Redis is absent."""
    store = RedisStore(url=REDIS_URL, prefix=prefix or f"test-rb-{uuid.uuid4().hex}:")
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return store


@asynccontextmanager
async def simulator() -> AsyncIterator[tuple[SimulatorServer, TWSClient]]:
    """The simulator (frozen clock, control endpoints) and a client to it over HTTP."""
    async with SimulatorServer(scenario="normal", speed=0, now=SIM_NOW, control=True) as sim:
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        try:
            yield sim, client
        finally:
            await client.close()


async def sim_post(sim: SimulatorServer, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a ``/_sim`` control endpoint."""
    auth = aiohttp.BasicAuth("twsuser", "twspass")
    async with (
        aiohttp.ClientSession(auth=auth) as session,
        session.post(f"{sim.url}{path}", json=body or {}) as response,
    ):
        return await response.json()


def make_service(
    *,
    catalog: Catalog,
    client: TWSClient,
    store: Any,
    checkpointer: Any,
    audit: AuditSink | None = None,
    progress: Posts | None = None,
    **extra: Any,
) -> RunbookService:
    """A service wired like production, over the given parts."""
    return RunbookService(
        catalog=catalog,
        groups=groups(),
        scheduler=client,
        store=store,
        checkpointer=checkpointer,
        signer=ButtonSigner(KEY),
        audit=audit,
        progress=progress,
        poll_seconds=0.01,
        **extra,
    )


def buttons(card: Reply) -> dict[str, tuple[str, str]]:
    """Label → (action_id, value) of the card's buttons."""
    row = next(b for b in card.blocks if isinstance(b, Actions))
    return {b.label: (b.action_id, b.value) for b in row.buttons}


async def click(service: RunbookService, card: Reply, label: str, who: Actor) -> DecisionResult:
    """Click the button ``label`` of ``card`` as ``who``, the way an adapter does."""
    action_id, value = buttons(card)[label]
    return await service.decide(
        service.decision_from_click(action_id=action_id, value=value, actor=who)
    )


async def job_id(client: TWSClient, qualified: str = JOB) -> str:
    """The plan id of ``STREAM.JOB``."""
    stream, job = qualified.split(".")
    found = (await client.query_jobs(name=job, job_stream=stream)).value
    return next(j.id for j in found if j.job_stream_name == stream)


# --- a worker process for the restart tests ----------------------------------------------


async def _worker(args: Any) -> None:
    import json
    import sys

    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def hook(request_id: str, phase: str) -> None:
        if phase == args.die_at:
            Path(args.marker).write_text(phase)
            await asyncio.sleep(3600)  # the test kills us here (SIGKILL)

    store = RedisStore(url=REDIS_URL, prefix=args.prefix)
    client = TWSClient(base_url=args.sim_url, user="twsuser", password="twspass", retries=0)
    async with AsyncSqliteSaver.from_conn_string(args.sqlite) as checkpointer:
        service = make_service(
            catalog=load_catalog([Path(args.catalog)]),
            client=client,
            store=store,
            checkpointer=checkpointer,
            lease_seconds=1.0,
            on_phase=hook,
        )
        answer: dict[str, Any] = {}
        if args.command == "request":
            result = await service.request_text(text=args.text, actor=REQUESTER)
            answer = {"request_id": result.request_id, "headline": result.reply.headline}
        elif args.command == "approve":
            card = await service.card(args.request_id)
            assert card is not None
            decided = await click(service, card, "Approve", actor("approver1"))
            answer = {"status": decided.status.value, "message": decided.message}
        elif args.command == "recover":
            answer = {"driven": await service.recover()}
        if args.request_id:
            record = await service.journal.load(args.request_id)
            answer["record_status"] = record.status.value if record else None
        sys.stdout.write(json.dumps(answer) + "\n")
    await client.close()
    await store.close()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["request", "approve", "recover"])
    parser.add_argument("--sim-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--sqlite", required=True)
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--text", default="")
    parser.add_argument("--request-id", default="")
    parser.add_argument("--die-at", default="")
    parser.add_argument("--marker", default="")
    asyncio.run(_worker(parser.parse_args()))
