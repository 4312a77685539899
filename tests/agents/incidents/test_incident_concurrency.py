"""Three replicas on the real Redis and the real PostgreSQL: one incident and one room per key.

Each round, 20 declarations with one key race across three `IncidentService` instances
(each with its own database pool and Redis connection, as replicas have), then the key is
retried 5 more times (Slack retries, double clicks). Exactly one incident is created, one
room is opened and pinned, one page is sent. Reminders then go out once per interval.
The full-size run (100 rounds, with timings) is benchmarks/incident_declare.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from incident_support import (
    ORIGIN,
    T0,
    AuditTrail,
    Clock,
    MockPager,
    RecordingRooms,
    actor,
    postgres_url,
    redis_store,
    service,
)

from integrations.db import open_database

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROUNDS = 20
RACERS = 20
RETRIES = 5


async def test_three_replicas_declare_exactly_once(tmp_path: Path) -> None:
    url = await postgres_url()
    prefix = f"test-inc-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix) for _ in range(3)]
    schema = f"inc_test_{uuid.uuid4().hex[:12]}"
    dbs = await asyncio.gather(
        *(open_database(url, data_dir=tmp_path, schema=schema) for _ in range(3))
    )
    rooms, pager, audit, clock = RecordingRooms(), MockPager(), AuditTrail(), Clock()
    replicas = [
        service(db, rooms=rooms, store=store, pager=pager, audit=audit, clock=clock)
        for db, store in zip(dbs, stores, strict=True)
    ]
    started = time.monotonic()
    try:
        for round_ in range(ROUNDS):
            key = f"slack:view:V{round_}"
            people = [actor(f"p{i}") for i in range(RACERS)]
            racing = await asyncio.gather(
                *(
                    replicas[i % 3].declare(
                        key=key,
                        actor=people[i],
                        title=f"Round {round_}",
                        severity="SEV2",
                        origin=ORIGIN,
                    )
                    for i in range(RACERS)
                )
            )
            retried = await asyncio.gather(
                *(
                    replicas[i % 3].declare(
                        key=key, actor=people[0], title=f"Round {round_}", severity="SEV2"
                    )
                    for i in range(RETRIES)
                )
            )
            results = racing + retried
            assert sum(r.created for r in results) == 1, round_
            assert len({r.incident.id for r in results}) == 1, round_
            assert rooms.created == round_ + 1
            assert rooms.open_calls == round_ + 1
            assert len(rooms.pins) == round_ + 1
            assert pager.actions() == ["trigger"] * (round_ + 1)
        assert sorted(r["target"] for r in audit.actions("incident.declare")) == [
            f"INC-2026-{n:04d}" for n in range(1, ROUNDS + 1)
        ]
        assert all(count == 1 for count in rooms.post_keys.values())

        async def remind_everywhere() -> int:
            sent = await asyncio.gather(*(r.remind() for r in replicas for _ in range(3)))
            return sum(len(s) for s in sent)

        clock.now = T0 + timedelta(minutes=61)
        assert await remind_everywhere() == ROUNDS
        assert await remind_everywhere() == 0
        clock.now = T0 + timedelta(minutes=121)
        assert await remind_everywhere() == ROUNDS
    finally:
        for db in dbs:
            await db.close()
        for store in stores:
            await store.close()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert time.monotonic() - started < 20
