"""Incident declarations: exactly once under races, latency to an opened room, timeline cost.

1. Exactly once at full size: three `IncidentService` replicas on the real Redis and the
   real PostgreSQL (each with its own pool and connection), R rounds of 20 concurrent
   declarations with one key plus 5 retries; every round must make one incident, open one
   room, pin one state message and send one page.
2. Declare -> rooms opened (and pinned), p50/p95, with zero-latency fake rooms: one
   declaration at a time on SQLite (embedded default) and on PostgreSQL + Redis.
3. The cost of a timeline event (`IncidentService.record_event`: audit guard + append in
   one transaction), on both.
4. Declare -> Slack channel ready through the real `SlackRooms` against a zero-latency mock
   Slack Web API on loopback (HTTP, JSON, the Web API client): channel created, state
   message pinned, declaration returned (announced), p50/p95, SQLite and PostgreSQL + Redis.

The chat-level exactly-once run (three replica stacks with their own Slack surfaces, 20
racing "Declare incident" clicks + Slack retries per round) is
``RESYNC_TEST_INCIDENT_ROUNDS=100 pytest tests/scenarios/test_incident_replicas.py``.

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
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from agents.incidents import IncidentPolicy, IncidentService, Location, OpenedPlace, Person
from agents.messages import Actor, Platform, Reply
from bot.incidents.rooms import RoomsRouter
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.slack_api import SlackApi
from integrations.db import Database, open_database
from integrations.pager import PageEvent, PageResult
from integrations.pager.base import PageAction
from integrations.store import MemoryStore, RedisStore, Store, StoreError

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/15"
ORIGIN = Location(platform="slack", channel="C-OPS")
ORIGIN_SLACK = Location(platform="slack", channel="COPS")


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


class ZeroLatencySlack:
    """The Web API methods `SlackRooms` calls, answered at once; notes when channels are made
    and pinned."""

    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.created_at: dict[str, float] = {}
        self.pinned_at: dict[str, float] = {}
        self._n = 0

    def _ts(self) -> str:
        self._n += 1
        return f"1700000000.{self._n:06d}"

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        answer: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            answer.update(user_id="UBOT", team_id="T1", bot_id="B1")
        elif method == "conversations.create":
            channel_id = f"C{len(self.channels) + 1:06d}"
            self.channels[channel_id] = {
                "id": channel_id,
                "name": args["name"],
                "creator": "UBOT",
                "is_archived": False,
                "topic": {"value": ""},
                "purpose": {"value": ""},
            }
            self.created_at[channel_id] = time.perf_counter()
            answer["channel"] = self.channels[channel_id]
        elif method == "conversations.list":
            answer.update(channels=[], response_metadata={"next_cursor": ""})
        elif method == "conversations.info":
            answer["channel"] = self.channels.get(str(args.get("channel")), {})
        elif method in ("chat.postMessage", "chat.update"):
            answer.update(ts=args.get("ts") or self._ts(), channel=args.get("channel"))
        elif method == "pins.add":
            self.pinned_at.setdefault(str(args["channel"]), time.perf_counter())
        return web.json_response(answer)


async def slack_latency(label: str, db: Database, store: Store, n: int) -> None:
    mock = ZeroLatencySlack()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", mock.api)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    client = AsyncWebClient(token="xoxb-bench", base_url=url)
    router = RoomsRouter()
    svc = IncidentService(
        db=db,
        rooms=router,
        audit=NullAudit(),
        store=store,
        policy=IncidentPolicy(retry_seconds=0),
    )
    router.register(SlackRooms(api=SlackApi(client), store=store, lookup=svc.get))
    created, pinned, returned = [], [], []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            result = await svc.declare(
                key=f"slack-{i}", actor=actor(i), title=f"slack latency {i}", origin=ORIGIN_SLACK
            )
            done = time.perf_counter()
            [place] = result.incident.places
            created.append(mock.created_at[place.room.channel] - t0)
            pinned.append(mock.pinned_at[place.room.channel] - t0)
            returned.append(done - t0)
    finally:
        if client.session is not None:
            await client.session.close()
        await runner.cleanup()

    def ms(values: list[float]) -> str:
        return f"p50 {pct(values, 0.5) * 1000:.1f} ms, p95 {pct(values, 0.95) * 1000:.1f} ms"

    print(
        f"{label}, SlackRooms over HTTP (zero-latency mock Web API): declare -> channel created "
        f"{ms(created)}; -> state pinned (channel ready) {ms(pinned)}; -> announced, declare "
        f"returned {ms(returned)} ({n} declarations)"
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
            await slack_latency("SQLite, in-memory store", db, MemoryStore(), args.events)
        finally:
            await db.close()
        if not await servers():
            return
        schema = f"inc_bench_{uuid.uuid4().hex[:10]}"
        db = await open_database(PG_URL, data_dir=Path(tmp), schema=schema)
        store = RedisStore(url=REDIS_URL, prefix=f"bench-inc-{uuid.uuid4().hex}:")
        try:
            await latency("PostgreSQL + Redis", db, store, args.events)
            await slack_latency("PostgreSQL + Redis", db, store, args.events)
        finally:
            await db.close()
            await store.close()
            await drop(schema)
        await exactly_once(args.rounds, Path(tmp))
    print(f"done at {datetime.now(UTC):%H:%M:%S} UTC")


if __name__ == "__main__":
    asyncio.run(main())
