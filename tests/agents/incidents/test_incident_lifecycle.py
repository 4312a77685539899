"""Lifecycle, permissions, roles, notes, updates, links and the audit guard of changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from incident_support import ORIGIN, AuditTrail, Clock, RecordingRooms, actor, database, service

from agents.incidents import (
    IncidentAuditError,
    IncidentInputError,
    IncidentNotFoundError,
    IncidentPermissionError,
    IncidentService,
    IncidentStatus,
    IncidentTransitionError,
    Person,
    Role,
)

ANA, BOB, MANAGER = actor("ana"), actor("bob"), actor("manager")


@dataclass
class World:
    svc: IncidentService
    rooms: RecordingRooms
    audit: AuditTrail
    clock: Clock
    incident_id: str


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with database("sqlite", tmp_path) as db:
        rooms, audit, clock = RecordingRooms(), AuditTrail(), Clock()
        svc = service(db, rooms=rooms, audit=audit, clock=clock)
        made = await svc.declare(key="k", actor=ANA, title="Payroll extract abended", origin=ORIGIN)
        yield World(svc, rooms, audit, clock, made.incident.id)


async def test_the_lifecycle_with_its_times(world: World) -> None:
    svc, iid, clock = world.svc, world.incident_id, world.clock
    clock.advance(minutes=7)
    active = await svc.set_status(iid, actor=ANA, status="active")
    clock.advance(minutes=20)
    await svc.set_status(iid, actor=ANA, status=IncidentStatus.MONITORING)
    clock.advance(minutes=5)
    await svc.set_status(iid, actor=ANA, status="active")  # it came back
    clock.advance(minutes=10)
    resolved = await svc.resolve(iid, actor=ANA, summary="Rerun after the undo tablespace grew")
    clock.advance(minutes=30)
    closed = await svc.close(iid, actor=ANA)
    times = closed.incident.status_times
    assert active.incident.acknowledged_at == times[IncidentStatus.ACTIVE]
    assert (times[IncidentStatus.ACTIVE] - closed.incident.declared_at).total_seconds() == 7 * 60
    assert (times[IncidentStatus.RESOLVED] - closed.incident.declared_at).total_seconds() == 42 * 60
    assert resolved.incident.resolution == "Rerun after the undo tablespace grew"
    assert closed.incident.status is IncidentStatus.CLOSED
    with pytest.raises(IncidentTransitionError, match="is closed: cannot add notes"):
        await svc.note(iid, actor=ANA, text="late note")
    kinds = [
        (e.kind, e.text) for e in (await svc.get(iid, timeline=True)).timeline if e.kind == "status"
    ]
    assert kinds[0] == ("status", "Status triage → active by ana")
    assert kinds[-1] == ("status", "Status resolved → closed by ana")


async def test_transitions_outside_the_lifecycle_are_refused(world: World) -> None:
    svc, iid = world.svc, world.incident_id
    with pytest.raises(IncidentTransitionError, match="is triage: cannot become closed"):
        await svc.close(iid, actor=ANA)
    with pytest.raises(IncidentInputError, match="resolution summary is required"):
        await svc.resolve(iid, actor=ANA, summary="  ")
    with pytest.raises(IncidentInputError, match="resolution summary is empty"):
        await svc.set_status(iid, actor=ANA, status="resolved")
    with pytest.raises(IncidentInputError, match="unknown status 'done'"):
        await svc.set_status(iid, actor=ANA, status="done")
    same = await svc.set_status(iid, actor=ANA, status="triage")
    assert not same.changed


async def test_only_the_lead_or_a_manager_may_manage(world: World) -> None:
    svc, iid, audit = world.svc, world.incident_id, world.audit
    with pytest.raises(
        IncidentPermissionError,
        match="only the lead of INC-2026-0001 \\(ana\\) or a member of incident-managers",
    ):
        await svc.set_severity(iid, actor=BOB, severity="SEV2")
    assert [r["outcome"] for r in audit.actions("incident.permission")] == ["refused"]
    assert (await svc.get(iid)).severity == "SEV3"
    await svc.set_severity(iid, actor=MANAGER, severity="SEV2")
    await svc.assign_role(iid, actor=MANAGER, role="lead", person=BOB)
    # Ana led; now Bob does, so Ana may no longer manage it and Bob may.
    with pytest.raises(IncidentPermissionError):
        await svc.set_status(iid, actor=ANA, status="active")
    await svc.set_status(iid, actor=BOB, status="active")
    # Anyone may note, update, link and add follow-ups.
    await svc.note(iid, actor=actor("carol"), text="Seen at 01:12 too")
    incident = await svc.get(iid)
    assert [p.name for p in incident.participants] == ["ana", "manager", "bob", "carol"]
    with pytest.raises(IncidentInputError, match="unknown role 'boss'"):
        await svc.assign_role(iid, actor=BOB, role="boss", person=ANA)


async def test_roles_notes_links_and_follow_ups_reach_the_timeline(world: World) -> None:
    svc, iid = world.svc, world.incident_id
    scribe = Person(identity="dan@example.com", name="dan", platform="teams", user_id="aad-1")
    await svc.assign_role(iid, actor=ANA, role=Role.SCRIBE, person=scribe)
    again = await svc.assign_role(iid, actor=ANA, role=Role.SCRIBE, person=scribe)
    await svc.link(iid, actor=BOB, kind="job_stream", name="PAYROLL_DAILY", state="STUCK")
    dup = await svc.link(iid, actor=BOB, kind="job_stream", name="PAYROLL_DAILY", state="STUCK")
    await svc.add_follow_up(
        iid, actor=BOB, text="Alert on undo tablespace at 80%", owner="dba team"
    )
    await svc.note(iid, actor=BOB, text="DBA paged separately")
    assert not again.changed
    assert not dup.changed
    incident = await svc.get(iid, timeline=True)
    assert incident.roles[Role.SCRIBE] == scribe
    assert [f.text for f in incident.follow_ups] == ["Alert on undo tablespace at 80%"]
    assert [e.text for e in incident.timeline[-4:]] == [
        "dan is now scribe (set by ana)",
        "Linked job stream PAYROLL_DAILY (STUCK) by bob",
        "Follow-up #1: Alert on undo tablespace at 80% (dba team)",
        "DBA paged separately",
    ]
    assert [e.seq for e in incident.timeline] == list(range(1, len(incident.timeline) + 1))
    with pytest.raises(IncidentInputError, match="link a job or a job_stream"):
        await svc.link(iid, actor=BOB, kind="workstation", name="AGT1")
    with pytest.raises(IncidentNotFoundError, match="no incident INC-2026-0404"):
        await svc.note("INC-2026-0404", actor=BOB, text="x")


async def test_every_change_is_audited_with_before_and_after(world: World) -> None:
    svc, iid, audit = world.svc, world.incident_id, world.audit
    await svc.set_severity(iid, actor=ANA, severity="SEV4")
    await svc.note(iid, actor=BOB, text="n")
    [severity] = audit.actions("incident.severity")
    assert severity["target"] == iid
    assert severity["correlation"] == {"incident_id": iid}
    assert severity["parameters"]["before"] == {"severity": "SEV3", "paged": False}
    assert severity["parameters"]["after"] == {"severity": "SEV4", "paged": False}
    assert audit.actions("incident.note")[0]["actor_identity"] == "bob@example.com"


async def test_a_change_that_cannot_be_audited_is_not_applied(world: World) -> None:
    svc, iid, audit = world.svc, world.incident_id, world.audit
    audit.broken = True
    with pytest.raises(IncidentAuditError):
        await svc.set_severity(iid, actor=ANA, severity="SEV4")
    with pytest.raises(IncidentAuditError):
        await svc.record_event(iid, kind="plan", text="PAYROLL_EXTRACT SUCC at 02:14")
    audit.broken = False
    incident = await svc.get(iid, timeline=True)
    assert incident.severity == "SEV3"
    assert incident.version == 1
    assert [e.kind for e in incident.timeline] == ["declared", "rooms"]


async def test_updates_are_posted_restart_reminders_and_refresh_the_state(world: World) -> None:
    svc, iid, rooms, clock = world.svc, world.incident_id, world.rooms, world.clock
    clock.advance(minutes=3)
    result = await svc.post_update(iid, actor=BOB, text="Extract rerun started; ETA 02:40")
    assert result.reply.headline == "INC-2026-0001 update · triage · SEV3 (moderate)"
    assert rooms.posted(":update-2:") == ["INC-2026-0001:update-2:slack"]
    assert result.incident.last_update_at == clock.now
    # The pinned state message and the announcement were updated in place.
    state_id = (await svc.get(iid)).places[0].state_message_id
    assert [u[1] for u in rooms.updates][-2:] == [state_id, "m-2"]
    assert "Extract rerun started" in rooms.updates[-2][2].plain_text()
    assert (await svc.get(iid)).places[0].rendered_version == 2


async def test_concurrent_changes_all_apply_through_compare_and_swap(world: World) -> None:
    svc, iid = world.svc, world.incident_id
    await asyncio.gather(
        *(svc.note(iid, actor=actor(f"p{i}"), text=f"note {i}") for i in range(12))
    )
    incident = await svc.get(iid, timeline=True)
    assert incident.version == 13
    assert sorted(e.text for e in incident.timeline if e.kind == "note") == sorted(
        f"note {i}" for i in range(12)
    )
    assert len(incident.participants) == 13


async def test_events_from_others_land_on_linked_open_incidents_once(world: World) -> None:
    svc, iid, audit = world.svc, world.incident_id, world.audit
    await svc.link(
        iid, actor=ANA, kind="job", name="AGT#PAYROLL_DAILY.PAYROLL_EXTRACT", state="ABEND"
    )
    hit = await svc.record_object_event(
        name="PAYROLL_DAILY.PAYROLL_EXTRACT",
        kind="plan",
        text="PAYROLL_EXTRACT SUCC at 02:14",
        key="plan:run-7:SUCC",
    )
    again = await svc.record_object_event(
        name="payroll_extract",
        kind="plan",
        text="PAYROLL_EXTRACT SUCC at 02:14",
        key="plan:run-7:SUCC",
    )
    none = await svc.record_object_event(name="GL_CLOSE", kind="plan", text="GL_CLOSE ABEND")
    assert hit == again == [iid]
    assert none == []
    events = [e for e in (await svc.get(iid, timeline=True)).timeline if e.kind == "plan"]
    assert [e.text for e in events] == ["PAYROLL_EXTRACT SUCC at 02:14"]
    assert len(audit.actions("incident.event")) == 1


async def test_events_on_unknown_incidents_are_refused(world: World) -> None:
    with pytest.raises(IncidentNotFoundError, match="no incident INC-2026-0404"):
        await world.svc.record_event("INC-2026-0404", kind="plan", text="x")
    entry = await world.svc.record_event(
        world.incident_id.lower(), kind="runbook", text="rerun approved", actor=BOB
    )
    assert (entry.kind, entry.actor) == ("runbook", "bob@example.com")
