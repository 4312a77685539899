"""Fakes and wiring for the incident service tests.

- `RecordingRooms`: an in-memory `IncidentRooms` that behaves as the contract asks (opening
  is idempotent per key: a second `open` finds the channel by name, like the Slack
  implementation) and records everything; hooks make it fail or hang at a chosen point.
- `MockPager`: a `Pager` that records pages and fails the first N of them.
- `AuditTrail`: an `AuditSink` that keeps records, and can be made to fail.
- `database(kind, tmp_path)`: SQLite in a temp dir, or a fresh schema on the real
  PostgreSQL server (PostgreSQL tests skip locally without it and fail under CI=true).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agents.incidents import IncidentService, Location, OpenedPlace, Person, RoomsError
from agents.incidents.policy import IncidentPolicy
from agents.messages import Actor, Platform, Reply
from agents.runbooks.policy import ApprovalGroups
from integrations.db import Database, open_database
from integrations.pager import PageEvent, PageResult, PagerUnavailableError
from integrations.pager.base import PageAction, PagerError, PagerRejectedError
from integrations.store import MemoryStore, RedisStore, Store, StoreError

REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URLS = (
    os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "postgresql://root@127.0.0.1:5432/test",
)
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
ORIGIN = Location(platform="slack", channel="C-OPS")


def actor(name: str) -> Actor:
    """A Slack person with an e-mail identity."""
    return Actor(
        platform=Platform.SLACK, user_id=f"U-{name}", display_name=name, email=f"{name}@example.com"
    )


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingRooms:
    """An `IncidentRooms` that keeps channels and messages in memory.

    ``hang_after_create``: `open` creates the channel, then waits forever (a process that
    dies there). ``fail_pins``: the first N pins raise. ``fail_opens``: the first N opens raise
    before creating anything.
    """

    channels: dict[str, str] = field(default_factory=dict)  # name -> channel id
    created: int = 0
    open_calls: int = 0
    posts: list[tuple[str, str, Reply]] = field(default_factory=list)  # (channel, key, reply)
    post_keys: Counter[str] = field(default_factory=Counter)
    updates: list[tuple[str, str, Reply]] = field(default_factory=list)
    pins: list[tuple[str, str]] = field(default_factory=list)
    hang_after_create: bool = False
    created_event: asyncio.Event = field(default_factory=asyncio.Event)
    fail_pins: int = 0
    fail_opens: int = 0

    async def open(
        self, *, key: str, name: str, topic: str, origin: Location | None, members: Sequence[Person]
    ) -> Sequence[OpenedPlace]:
        self.open_calls += 1
        if self.fail_opens:
            self.fail_opens -= 1
            raise RoomsError("slack: ratelimited")
        channel = self.channels.get(name)
        if channel is None:
            channel = f"C-{len(self.channels) + 1:03d}"
            self.channels[name] = channel
            self.created += 1
            self.created_event.set()
            if self.hang_after_create:
                await asyncio.Event().wait()
        return [OpenedPlace(room=Location(platform="slack", channel=channel), announce_at=origin)]

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        self.post_keys[key] += 1
        self.posts.append((at.channel, key, reply))
        return f"m-{len(self.posts)}"

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        self.updates.append((at.channel, message_id, reply))
        return True

    async def pin(self, *, at: Location, message_id: str) -> bool:
        if self.fail_pins:
            self.fail_pins -= 1
            raise RoomsError("pins.add: not_in_channel")
        self.pins.append((at.channel, message_id))
        return True

    def posted(self, prefix: str) -> list[str]:
        """Keys of posts whose key contains ``prefix``."""
        return [key for _, key, _ in self.posts if prefix in key]


@dataclass
class MockPager:
    """A `Pager` that records events; ``fail`` errors are raised first, one per call."""

    calls: list[tuple[PageAction, PageEvent]] = field(default_factory=list)
    fail: list[PagerError] = field(default_factory=list)
    name: str = "PagerDuty mock"

    async def _page(self, action: PageAction, event: PageEvent) -> PageResult:
        self.calls.append((action, event))
        if self.fail:
            raise self.fail.pop(0)
        return PageResult(
            action=action,
            dedup_key=event.dedup_key,
            status=202,
            message="Event processed",
            attempts=1,
            target=self.name,
        )

    async def trigger(self, event: PageEvent) -> PageResult:
        return await self._page(PageAction.TRIGGER, event)

    async def acknowledge(self, event: PageEvent) -> PageResult:
        return await self._page(PageAction.ACKNOWLEDGE, event)

    async def resolve(self, event: PageEvent) -> PageResult:
        return await self._page(PageAction.RESOLVE, event)

    async def close(self) -> None:
        return None

    def actions(self) -> list[str]:
        return [action.value for action, _ in self.calls]


def unavailable(times: int) -> list[PagerError]:
    return [
        PagerUnavailableError(
            call="POST /v2/enqueue trigger", status=503, answer="maintenance", attempts=4
        )
    ] * times


def rejected() -> list[PagerError]:
    return [
        PagerRejectedError(
            call="POST /v2/enqueue trigger",
            status=400,
            answer="Event object is invalid",
            attempts=1,
        )
    ]


@dataclass
class AuditTrail:
    """An `AuditSink` that keeps records in a list; ``broken`` makes it raise."""

    records: list[dict[str, Any]] = field(default_factory=list)
    broken: bool = False

    async def record(self, **fields: Any) -> object:
        if self.broken:
            raise OSError("audit.db: disk full")
        self.records.append(fields)
        return None

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


def groups() -> ApprovalGroups:
    return ApprovalGroups({"incident-managers": ["manager@example.com"]})


def service(
    db: Database,
    *,
    rooms: RecordingRooms,
    audit: AuditTrail | None = None,
    store: Store | None = None,
    pager: MockPager | None = None,
    clock: Clock | None = None,
    policy: IncidentPolicy | None = None,
) -> IncidentService:
    return IncidentService(
        db=db,
        rooms=rooms,
        audit=audit if audit is not None else AuditTrail(),
        store=store or MemoryStore(),
        pager=pager,
        policy=policy or IncidentPolicy(retry_seconds=0),
        groups=groups(),
        clock=clock or Clock(),
        source="TWS test",
    )


async def postgres_url() -> str:
    for url in PG_URLS:
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=3)
        except psycopg.Error:
            continue
        await conn.close()
        return url
    message = f"PostgreSQL not reachable at {PG_URLS[0]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An incident database: ``sqlite`` (temp dir) or ``postgres`` (a schema of its own)."""
    if kind == "sqlite":
        db = await open_database(None, data_dir=tmp_path)
        try:
            yield db
        finally:
            await db.close()
        return
    url = await postgres_url()
    schema = f"inc_test_{uuid.uuid4().hex[:12]}"
    db = await open_database(url, data_dir=tmp_path, schema=schema)
    try:
        yield db
    finally:
        await db.close()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def redis_store(prefix: str | None = None) -> RedisStore:
    """A RedisStore with a unique prefix; skip (or fail under CI) when Redis is absent."""
    store = RedisStore(url=REDIS_URL, prefix=prefix or f"test-inc-{uuid.uuid4().hex}:")
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return store
