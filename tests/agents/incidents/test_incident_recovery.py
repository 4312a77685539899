"""Convergence after a crash: a restarted service finishes what a dead one started, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from incident_support import ORIGIN, AuditTrail, Clock, RecordingRooms, actor, database, service

from agents.incidents import IncidentPolicy
from integrations.store import MemoryStore

ANA = actor("ana")


async def test_killed_between_channel_creation_and_pin_converges_on_restart(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        store, rooms = MemoryStore(), RecordingRooms(hang_after_create=True)
        first = service(db, rooms=rooms, store=store)
        declaring = asyncio.create_task(
            first.declare(key="k", actor=ANA, title="Payroll late", origin=ORIGIN)
        )
        await asyncio.wait_for(rooms.created_event.wait(), timeout=5)
        declaring.cancel()  # the process dies: channel created, nothing stored about it
        with pytest.raises(asyncio.CancelledError):
            await declaring
        [incident] = await first.list_open()  # the declaration itself was committed
        assert incident.places == ()
        assert rooms.pins == []

        rooms.hang_after_create = False
        restarted = service(db, rooms=rooms, store=store)
        report = await restarted.recover()
        again = await restarted.recover()
        done = await restarted.get(incident.id)
        step = await db.steps.get(incident_id=incident.id, name="rooms")
    assert report.driven == (incident.id,)
    assert again.driven == ()
    assert (rooms.created, rooms.open_calls) == (1, 2)  # asked twice, one channel
    assert list(rooms.channels) == ["inc-2026-0001-payroll-late"]
    [place] = done.places
    assert place.room.channel == "C-001"
    assert place.pinned
    assert rooms.pins == [("C-001", place.state_message_id)]
    assert rooms.post_keys["INC-2026-0001:state:slack"] == 1
    assert rooms.post_keys["INC-2026-0001:announce:slack"] == 1
    assert step is not None
    assert step.state == "done"


async def test_a_failed_pin_resumes_at_the_pin_without_a_second_state_message(
    tmp_path: Path,
) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms = RecordingRooms(fail_pins=1)
        svc = service(db, rooms=rooms)
        made = await svc.declare(key="k", actor=ANA, title="t", origin=ORIGIN)
        assert not made.incident.places[0].pinned
        assert made.incident.places[0].state_message_id == "m-1"
        await service(db, rooms=rooms).recover()
        done = await svc.get(made.incident.id)
    assert done.places[0].pinned
    assert rooms.pins == [("C-001", "m-1")]
    assert rooms.post_keys["INC-2026-0001:state:slack"] == 1
    assert (rooms.created, rooms.open_calls) == (1, 1)


async def test_a_dead_drivers_lease_is_waited_out(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        store, rooms = MemoryStore(), RecordingRooms(fail_opens=1)
        policy = IncidentPolicy(retry_seconds=0, lease_seconds=0.3)
        svc = service(db, rooms=rooms, store=store, policy=policy)
        made = await svc.declare(key="k", actor=ANA, title="t")
        # A replica that took the lease and died holds it until it lapses.
        assert await store.acquire_lease("inc:drive:INC-2026-0001", owner="dead", ttl_seconds=0.3)
        await svc.recover()
        assert (await svc.get(made.incident.id)).places == ()
        await asyncio.sleep(0.35)
        await svc.recover()
        done = await svc.get(made.incident.id)
    assert done.places[0].pinned
    assert rooms.created == 1


async def test_rooms_that_keep_failing_give_up_and_say_so(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms, audit = RecordingRooms(fail_opens=99), AuditTrail()
        policy = IncidentPolicy(retry_seconds=60, room_attempts=3)
        clock = Clock()
        svc = service(db, rooms=rooms, audit=audit, policy=policy, clock=clock)
        made = await svc.declare(key="k", actor=ANA, title="t")
        assert (await svc.recover()).driven == ()  # not before the retry time
        for _ in range(3):
            clock.advance(minutes=10)
            await svc.recover()
        step = await db.steps.get(incident_id=made.incident.id, name="rooms")
    assert rooms.open_calls == 3
    assert step is not None
    assert (step.state, step.detail) == ("failed", {"error": "RoomsError: slack: ratelimited"})
    assert [r["outcome"] for r in audit.actions("incident.rooms")] == ["failed"]


async def test_recover_refreshes_state_messages_left_behind(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms = RecordingRooms()
        svc = service(db, rooms=rooms)
        made = await svc.declare(key="k", actor=ANA, title="t", origin=ORIGIN)
        # A change committed by a process that died before it refreshed the pinned state.
        row = await db.incidents.get(made.incident.id)
        assert row is not None
        await db.incidents.update(
            row.id,
            expected_version=row.version,
            at=row.updated_at,
            title=row.title,
            severity=row.severity,
            status=row.status,
            document={**row.document, "description": "now known"},
        )
        report = await svc.recover()
        place = (await svc.get(made.incident.id)).places[0]
    assert report.refreshed == (made.incident.id,)
    assert place.rendered_version == 2
    assert "now known" in rooms.updates[0][2].plain_text()
