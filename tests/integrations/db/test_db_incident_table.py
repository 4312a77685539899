"""`IncidentTable`, `PlaceTable` and `StepTable` on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from db_support import database

from integrations.db import Database, IncidentRow, MissingRowError, NewEntry

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with database(request.param, tmp_path) as opened:
        yield opened


def _doc(incident_id: str, number: int) -> dict[str, Any]:
    return {"id": incident_id, "number": number, "note": "ünïcode ok"}


async def _create(db: Database, key: str, *, year: int = 2026, **kwargs: Any) -> Any:
    return await db.incidents.create_if_absent(
        declare_key=key,
        id_prefix="INC",
        year=year,
        at=T0,
        title=f"title {key}",
        severity="SEV2",
        status="triage",
        document=_doc,
        **kwargs,
    )


async def test_create_if_absent_returns_the_first_incident_for_a_key(db: Database) -> None:
    first = await _create(
        db, "slack:view:V1", timeline=[NewEntry(at=T0, kind="declared", text="x")]
    )
    again = await _create(db, "slack:view:V1")
    assert first.created
    assert not again.created
    assert first.row.id == again.row.id == "INC-2026-0001"
    assert again.row.document == {"id": "INC-2026-0001", "number": 1, "note": "ünïcode ok"}
    assert again.row.created_at == T0
    assert again.row.created_at.tzinfo is not None
    assert [e.seq for e in await db.incidents.timeline("INC-2026-0001")] == [1]


async def test_concurrent_creates_with_one_key_make_one_incident(db: Database) -> None:
    results = await asyncio.gather(*(_create(db, "same-key") for _ in range(30)))
    assert sum(r.created for r in results) == 1
    assert {r.row.id for r in results} == {"INC-2026-0001"}
    # The losers gave their numbers back: the next incident is number 2.
    assert (await _create(db, "next")).row.id == "INC-2026-0002"


async def test_concurrent_creates_number_without_gaps_or_clashes(db: Database) -> None:
    results = await asyncio.gather(*(_create(db, f"key-{i}") for i in range(40)))
    assert sorted(r.row.number for r in results) == list(range(1, 41))
    assert (await _create(db, "other-year", year=2027)).row.id == "INC-2027-0001"


async def test_a_failing_guard_commits_nothing(db: Database) -> None:
    async def refuse(row: IncidentRow) -> None:
        raise RuntimeError(f"audit down for {row.id}")

    with pytest.raises(RuntimeError, match="audit down for INC-2026-0001"):
        await _create(db, "k", guard=refuse, enqueue=["rooms"])
    assert await db.incidents.get_by_key("k") is None
    assert await db.steps.due(now=T0 + timedelta(days=1)) == []
    made = await _create(db, "k")
    assert made.row.id == "INC-2026-0001"  # the number was not used up
    with pytest.raises(RuntimeError):
        await db.incidents.update(
            made.row.id,
            expected_version=1,
            at=T0,
            title="changed",
            severity="SEV1",
            status="active",
            document={"changed": True},
            timeline=[NewEntry(at=T0, kind="severity", text="up")],
            guard=refuse,
        )
    current = await db.incidents.get(made.row.id)
    assert current is not None
    assert current.version == 1
    assert current.title == "title k"
    assert await db.incidents.timeline(made.row.id) == []


async def test_update_is_compare_and_swap(db: Database) -> None:
    made = await _create(db, "k")
    seen: list[int] = []

    async def guard(row: IncidentRow) -> None:
        seen.append(row.version)

    fields: dict[str, Any] = {"at": T0, "title": "t", "severity": "SEV1", "status": "active"}
    won = await db.incidents.update(
        made.row.id,
        expected_version=1,
        document={"v": 2},
        enqueue=["page.trigger"],
        guard=guard,
        **fields,
    )
    lost = await db.incidents.update(
        made.row.id, expected_version=1, document={"v": "x"}, guard=guard, **fields
    )
    assert won.applied
    assert won.row is not None
    assert won.row.version == 2
    assert not lost.applied
    assert lost.row is not None
    assert lost.row.document == {"v": 2}
    assert seen == [2]  # the guard runs only for the winner
    gone = await db.incidents.update("INC-2026-9999", expected_version=1, document={}, **fields)
    assert not gone.applied
    assert gone.row is None
    assert [s.name for s in await db.steps.for_incident(made.row.id)] == ["page.trigger"]


async def test_concurrent_updates_apply_exactly_one_per_version(db: Database) -> None:
    made = await _create(db, "k")
    results = await asyncio.gather(
        *(
            db.incidents.update(
                made.row.id,
                expected_version=1,
                at=T0,
                title=str(i),
                severity="SEV1",
                status="active",
                document={"i": i},
            )
            for i in range(10)
        )
    )
    assert sum(r.applied for r in results) == 1


async def test_timeline_is_gapless_and_keys_are_stored_once(db: Database) -> None:
    made = await _create(db, "k")
    entries = [NewEntry(at=T0, kind="plan", text=f"event {i}", key=f"e{i % 5}") for i in range(20)]
    results = await asyncio.gather(*(db.incidents.append(made.row.id, e) for e in entries))
    assert sum(r.created for r in results) == 5
    timeline = await db.incidents.timeline(made.row.id)
    assert [e.seq for e in timeline] == [1, 2, 3, 4, 5]
    assert sorted(e.key or "" for e in timeline) == ["e0", "e1", "e2", "e3", "e4"]
    unkeyed = await asyncio.gather(
        *(
            db.incidents.append(made.row.id, NewEntry(at=T0, kind="note", text="n", data={"i": i}))
            for i in range(10)
        )
    )
    assert sorted(r.entry.seq for r in unkeyed) == list(range(6, 16))
    assert [e.seq for e in await db.incidents.timeline(made.row.id, after_seq=14)] == [15]
    with pytest.raises(MissingRowError):
        await db.incidents.append("INC-2026-0404", NewEntry(at=T0, kind="note", text="n"))


async def test_list_by_status_and_stats_rows(db: Database) -> None:
    for i in range(3):
        await _create(db, f"k{i}")
    row = await db.incidents.get("INC-2026-0002")
    assert row is not None
    await db.incidents.update(
        row.id,
        expected_version=1,
        at=T0 + timedelta(hours=1),
        title="t",
        severity="SEV1",
        status="resolved",
        document={},
    )
    assert [r.id for r in await db.incidents.list_by_status(["triage"])] == [
        "INC-2026-0001",
        "INC-2026-0003",
    ]
    assert [r.id for r in await db.incidents.list_by_status(["triage", "resolved"], limit=2)] == [
        "INC-2026-0001",
        "INC-2026-0002",
    ]
    assert len(await db.incidents.stats_rows()) == 3
    assert await db.incidents.stats_rows(since=T0 + timedelta(seconds=1)) == []


async def test_places_journal_and_lookup(db: Database) -> None:
    made = await _create(db, "k")
    place = await db.places.add(
        incident_id=made.row.id,
        platform="slack",
        channel="C1",
        thread=None,
        announce_channel="C0",
        announce_thread=None,
        at=T0,
    )
    again = await db.places.add(
        incident_id=made.row.id,
        platform="slack",
        channel="C2",
        thread=None,
        announce_channel=None,
        announce_thread=None,
        at=T0,
    )
    assert again == place
    assert place.channel == "C1"
    assert not place.pinned
    assert await db.places.find(platform="slack", channel="C1") == made.row.id
    assert await db.places.find(platform="teams", channel="C1") is None
    assert await db.places.find(platform="slack", channel="C1", thread="t9") is None
    await db.places.set_state_message(
        incident_id=made.row.id, platform="slack", message_id="m1", version=1
    )
    await db.places.set_pinned(incident_id=made.row.id, platform="slack")
    await db.places.set_announcement(incident_id=made.row.id, platform="slack", message_id="a1")
    [stored] = await db.places.for_incident(made.row.id)
    assert (stored.state_message_id, stored.pinned, stored.announcement_message_id) == (
        "m1",
        True,
        "a1",
    )
    assert await db.places.behind() == []
    await db.incidents.update(
        made.row.id,
        expected_version=1,
        at=T0,
        title="t",
        severity="S",
        status="active",
        document={},
    )
    assert [p.incident_id for p in await db.places.behind()] == [made.row.id]
    await db.places.mark_rendered(incident_id=made.row.id, platform="slack", version=2)
    await db.places.mark_rendered(
        incident_id=made.row.id, platform="slack", version=1
    )  # never backwards
    assert (await db.places.for_incident(made.row.id))[0].rendered_version == 2
    assert await db.places.behind() == []
    other = await _create(db, "k2")
    for incident_id, root in ((made.row.id, "root-1"), (other.row.id, "root-2")):
        await db.places.add(
            incident_id=incident_id,
            platform="teams",
            channel="19:ops",
            thread=root,
            announce_channel=None,
            announce_thread=None,
            at=T0,
        )
    assert await db.places.find(platform="teams", channel="19:ops", thread="root-2") == other.row.id


async def test_steps_move_only_from_pending(db: Database) -> None:
    made = await _create(db, "k", enqueue=["rooms", "page.trigger"])
    await db.steps.enqueue(incident_id=made.row.id, names=["rooms"], at=T0 + timedelta(hours=1))
    assert [s.name for s in await db.steps.due(now=T0)] == ["page.trigger", "rooms"]
    later = T0 + timedelta(minutes=5)
    await db.steps.retry_later(
        incident_id=made.row.id,
        name="rooms",
        attempts=1,
        not_before=later,
        detail={"error": "x"},
        at=T0,
    )
    assert [s.name for s in await db.steps.due(now=T0)] == ["page.trigger"]
    assert {s.name for s in await db.steps.due(now=later)} == {"page.trigger", "rooms"}
    assert await db.steps.finish(
        incident_id=made.row.id, name="rooms", state="done", attempts=2, detail={}, at=later
    )
    assert not await db.steps.finish(
        incident_id=made.row.id, name="rooms", state="failed", attempts=3, detail={}, at=later
    )
    step = await db.steps.get(incident_id=made.row.id, name="rooms")
    assert step is not None
    assert step.state == "done"
    assert step.attempts == 2
    with pytest.raises(ValueError, match="not one of"):
        await db.steps.finish(
            incident_id=made.row.id, name="rooms", state="pending", attempts=1, detail={}, at=T0
        )
