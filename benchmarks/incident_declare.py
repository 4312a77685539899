"""Incident declarations: exactly once under races, latency to an opened room, timeline cost.

1. Exactly once at full size: three `IncidentService` replicas on the real Redis and the
   real PostgreSQL (each with its own pool and connection), R rounds of 20 concurrent
   declarations with one key plus 5 retries; every round must make one incident, open one
   room, pin one state message and send one page.
2. Declare -> rooms opened (and pinned), p50/p95, with zero-latency fake rooms: one
   declaration at a time on SQLite (embedded default) and on PostgreSQL + Redis.
3. The cost of a timeline event (`IncidentService.record_event`: audit guard + append in
   one transaction), on both.

Run: .venv/bin/python benchmarks/incident_declare.py [--rounds 100] [--events 500]
Parts needing a server say so and are skipped when it is not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from agents.incidents import IncidentPolicy, IncidentService, Location, OpenedPlace, Person
from agents.messages import Actor, Platform, Reply
from integrations.db import Database, open_database
from integrations.pager import PageEvent, PageResult
from integrations.pager.base import PageAction
from integrations.store import MemoryStore, RedisStore, Store, StoreError

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/15"
ORIGIN = Location(platform="slack", channel="C-OPS")


class FakeRooms:
    """Zero-latency `IncidentRooms`: idempotent by name; notes when each room was pinned."""

    def __init__(self) -> None:
        self.channels: dict[str, str] = {}
        self.open_calls = 0
        self.pinned_at: dict[str, float] = {}
        self.opened_at: dict[str, float] = {}
        self.posts = 0

    async def open(
        self, *, key: str, name: str, topic: str, origin: Location | None, members: Sequence[Person]
    ) -> Sequence[OpenedPlace]:
        self.open_calls += 1
        channel = self.channels.setdefault(name, f"C{len(self.channels) + 1}")
        self.opened_at.setdefault(channel, time.perf_counter())
        return [OpenedPlace(room=Location(platform="slack", channel=channel), announce_at=origin)]

    async def post(self, *, at: Location, reply: Reply, key: str) -> str | None:
        self.posts += 1
        return f"m{self.posts}"

    async def update(self, *, at: Location, message_id: str, reply: Reply) -> bool:
        return True

    async def pin(self, *, at: Location, message_id: str) -> bool:
        self.pinned_at.setdefault(at.channel, time.perf_counter())
        return True


class CountingPager:
    name = "bench pager"

    def __init__(self) -> None:
        self.triggers = 0

    async def _ok(self, action: PageAction, event: PageEvent) -> PageResult:
        return PageResult(
            action=action,
            dedup_key=event.dedup_key,
            status=202,
            message="ok",
            attempts=1,
            target=self.name,
        )

    async def trigger(self, event: PageEvent) -> PageResult:
        self.triggers += 1
        return await self._ok(PageAction.TRIGGER, event)

    async def acknowledge(self, event: PageEvent) -> PageResult:
        return await self._ok(PageAction.ACKNOWLEDGE, event)

    async def resolve(self, event: PageEvent) -> PageResult:
        return await self._ok(PageAction.RESOLVE, event)

    async def close(self) -> None:
        return None


class NullAudit:
    async def record(self, **fields: Any) -> object:
        return None


def actor(i: int) -> Actor:
    return Actor(
        platform=Platform.SLACK, user_id=f"U{i}", display_name=f"p{i}", email=f"p{i}@example.com"
    )


def make(
    db: Database, store: Store, rooms: FakeRooms, pager: CountingPager | None = None
) -> IncidentService:
    return IncidentService(
        db=db,
        rooms=rooms,
        audit=NullAudit(),
        store=store,
        pager=pager,
        policy=IncidentPolicy(retry_seconds=0),
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def servers() -> bool:
    try:
        conn = await psycopg.AsyncConnection.connect(PG_URL, connect_timeout=3)
        await conn.close()
        store = RedisStore(url=REDIS_URL)
        try:
            await store.ping()
        finally:
            await store.close()
    except (psycopg.Error, StoreError) as exc:
        print(f"PostgreSQL/Redis not reachable ({exc}): skipping the server parts")
        return False
    return True


async def drop(schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def exactly_once(rounds: int, tmp: Path) -> None:
    schema, prefix = f"inc_bench_{uuid.uuid4().hex[:10]}", f"bench-inc-{uuid.uuid4().hex}:"
    dbs = [await open_database(PG_URL, data_dir=tmp, schema=schema) for _ in range(3)]
    stores = [RedisStore(url=REDIS_URL, prefix=prefix) for _ in range(3)]
    rooms, pager = FakeRooms(), CountingPager()
    replicas = [make(db, store, rooms, pager) for db, store in zip(dbs, stores, strict=True)]
    started, round_times = time.perf_counter(), []
    try:
        for r in range(rounds):
            t0 = time.perf_counter()
            racing = [
                replicas[i % 3].declare(
                    key=f"k{r}", actor=actor(i), title=f"round {r}", severity="SEV2", origin=ORIGIN
                )
                for i in range(20)
            ]
            results = list(await asyncio.gather(*racing))
            results += await asyncio.gather(
                *(
                    replicas[i % 3].declare(key=f"k{r}", actor=actor(0), title="retry")
                    for i in range(5)
                )
            )
            round_times.append(time.perf_counter() - t0)
            created = sum(x.created for x in results)
            ids = {x.incident.id for x in results}
            if (
                created != 1
                or len(ids) != 1
                or len(rooms.channels) != r + 1
                or rooms.open_calls != r + 1
                or len(rooms.pinned_at) != r + 1
                or pager.triggers != r + 1
            ):
                raise SystemExit(
                    f"round {r}: created={created} ids={ids} channels={len(rooms.channels)} "
                    f"opens={rooms.open_calls} pins={len(rooms.pinned_at)} pages={pager.triggers}"
                )
    finally:
        for db in dbs:
            await db.close()
        for store in stores:
            await store.close()
        await drop(schema)
    total = time.perf_counter() - started
    print(
        f"exactly once: {rounds} rounds x (20 racing + 5 retries) on 3 replicas (PostgreSQL + Redis): "
        f"{rounds} incidents, {len(rooms.channels)} rooms, {rooms.open_calls} opens, {pager.triggers} pages "
        f"in {total:.1f} s (round p50 {pct(round_times, 0.5) * 1000:.0f} ms, p95 {pct(round_times, 0.95) * 1000:.0f} ms)"
    )


async def latency(label: str, db: Database, store: Store, n: int) -> None:
    rooms = FakeRooms()
    svc = make(db, store, rooms)
    opened, pinned = [], []
    for i in range(n):
        t0 = time.perf_counter()
        result = await svc.declare(
            key=f"lat-{i}", actor=actor(i), title=f"latency {i}", origin=ORIGIN
        )
        channel = result.incident.places[0].room.channel
        opened.append(rooms.opened_at[channel] - t0)
        pinned.append(rooms.pinned_at[channel] - t0)
    print(
        f"{label}: declare -> room opened p50 {pct(opened, 0.5) * 1000:.1f} ms, p95 {pct(opened, 0.95) * 1000:.1f} ms; "
        f"-> state pinned p50 {pct(pinned, 0.5) * 1000:.1f} ms, p95 {pct(pinned, 0.95) * 1000:.1f} ms ({n} declarations)"
    )
    iid = result.incident.id
    costs = []
    for i in range(n * 5):
        t0 = time.perf_counter()
        await svc.record_event(
            iid, kind="plan", text=f"PAYROLL_EXTRACT SUCC at 02:{i % 60:02d}", key=f"e{i}"
        )
        costs.append(time.perf_counter() - t0)
    print(
        f"{label}: timeline event (audit guard + append) mean {statistics.fmean(costs) * 1000:.2f} ms, "
        f"p95 {pct(costs, 0.95) * 1000:.2f} ms ({len(costs)} events)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument(
        "--events", type=int, default=100, help="declarations per latency run (x5 events)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(None, data_dir=Path(tmp))
        try:
            await latency("SQLite, in-memory store", db, MemoryStore(), args.events)
        finally:
            await db.close()
        if not await servers():
            return
        schema = f"inc_bench_{uuid.uuid4().hex[:10]}"
        db = await open_database(PG_URL, data_dir=Path(tmp), schema=schema)
        store = RedisStore(url=REDIS_URL, prefix=f"bench-inc-{uuid.uuid4().hex}:")
        try:
            await latency("PostgreSQL + Redis", db, store, args.events)
        finally:
            await db.close()
            await store.close()
            await drop(schema)
        await exactly_once(args.rounds, Path(tmp))
    print(f"done at {datetime.now(UTC):%H:%M:%S} UTC")


if __name__ == "__main__":
    asyncio.run(main())
