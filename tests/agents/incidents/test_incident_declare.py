"""Declaring: exactly once per key, rooms opened and pinned, announcement, paging, audit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from incident_support import (
    ORIGIN,
    T0,
    AuditTrail,
    Clock,
    MockPager,
    RecordingRooms,
    actor,
    database,
    service,
)

from agents.incidents import (
    DeadlineAtRisk,
    Impact,
    IncidentAuditError,
    IncidentInputError,
    IncidentPolicy,
    IncidentStatus,
    LinkedObject,
    Role,
)
from agents.messages import Tone
from integrations.db import Database

ANA = actor("ana")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with database(request.param, tmp_path) as opened:
        yield opened


async def test_declare_opens_one_room_pins_the_state_and_announces(db: Database) -> None:
    rooms, audit = RecordingRooms(), AuditTrail()
    svc = service(db, rooms=rooms, audit=audit)
    link = LinkedObject(
        kind="job",
        name="AGT#PAYROLL_DAILY.PAYROLL_EXTRACT",
        plan_id="j1",
        state="ABEND",
        linked_at=T0,
        linked_by=ANA.identity,
    )
    impact = Impact(
        summary="Payroll files late for the bank",
        deadlines=(DeadlineAtRisk(name="PAYROLL_DAILY.PAYROLL_SEND", deadline=T0),),
    )
    result = await svc.declare(
        key="slack:view:V1",
        actor=ANA,
        title="Payroll extract abended",
        severity="sev3",
        description="ORA-01555 in the extract",
        origin=ORIGIN,
        impact=impact,
        links=[link],
    )
    incident = result.incident
    assert result.created
    assert incident.id == "INC-2026-0001"
    assert (incident.severity, incident.status) == ("SEV3", IncidentStatus.TRIAGE)
    assert incident.roles[Role.LEAD].identity == "ana@example.com"
    assert incident.room_name == "inc-2026-0001-payroll-extract-abended"
    [place] = incident.places
    assert (place.room.channel, place.pinned, place.announce_at) == ("C-001", True, ORIGIN)
    assert (rooms.created, rooms.open_calls) == (1, 1)
    assert rooms.pins == [("C-001", place.state_message_id)]
    assert rooms.post_keys == {"INC-2026-0001:state:slack": 1, "INC-2026-0001:announce:slack": 1}
    state = rooms.posts[0][2]
    assert state.headline == "INC-2026-0001 · SEV3 (moderate) · triage — Payroll extract abended"
    assert state.tone is Tone.WARNING
    assert "AGT#PAYROLL_DAILY.PAYROLL_EXTRACT" in state.plain_text()
    assert rooms.posts[1][0] == "C-OPS"
    assert result.reply.headline.startswith("Declared INC-2026-0001")
    [record] = audit.actions("incident.declare")
    assert record["target"] == "INC-2026-0001"
    assert record["actor_identity"] == "ana@example.com"
    assert record["parameters"]["after"] == {
        "title": "Payroll extract abended",
        "severity": "SEV3",
        "declare_key": "slack:view:V1",
    }
    assert [r["outcome"] for r in audit.actions("incident.rooms")] == ["opened"]
    timeline = (await svc.get(incident.id, timeline=True)).timeline
    assert [e.kind for e in timeline] == ["declared", "link", "rooms"]


async def test_the_same_key_again_returns_the_incident_without_side_effects(db: Database) -> None:
    rooms, audit = RecordingRooms(), AuditTrail()
    svc = service(db, rooms=rooms, audit=audit)
    first = await svc.declare(key="k1", actor=ANA, title="Batch down", origin=ORIGIN)
    again = await svc.declare(
        key="k1", actor=actor("bob"), title="Batch down (double click)", origin=ORIGIN
    )
    both = await asyncio.gather(
        *(svc.declare(key="k2", actor=ANA, title="Other") for _ in range(10))
    )
    assert not again.created
    assert again.incident.id == first.incident.id
    assert again.reply.headline == "Already declared as INC-2026-0001: Batch down"
    assert sum(r.created for r in both) == 1
    assert {r.incident.id for r in both} == {"INC-2026-0002"}
    assert (rooms.created, rooms.open_calls) == (2, 2)
    assert len(audit.actions("incident.declare")) == 2


async def test_a_paging_severity_pages_once_with_the_incident_id(db: Database) -> None:
    rooms, pager, audit = RecordingRooms(), MockPager(), AuditTrail()
    svc = service(db, rooms=rooms, pager=pager, audit=audit)
    result = await svc.declare(
        key="k", actor=ANA, title="Payroll late", severity="SEV1", origin=ORIGIN
    )
    await svc.declare(key="k", actor=ANA, title="Payroll late", severity="SEV1")
    assert pager.actions() == ["trigger"]
    event = pager.calls[0][1]
    assert (event.dedup_key, event.severity.value, event.source) == (
        "INC-2026-0001",
        "critical",
        "TWS test",
    )
    assert event.details["rooms"] == ["slack C-001"]
    assert result.incident.paged
    assert [r["outcome"] for r in audit.actions("incident.page")] == ["sent"]
    kinds = [e.kind for e in (await svc.get("inc-2026-0001", timeline=True)).timeline]
    assert kinds == ["declared", "rooms", "page"]


async def test_without_a_pager_the_room_is_told_nobody_was_paged(db: Database) -> None:
    rooms = RecordingRooms()
    svc = service(db, rooms=rooms, pager=None)
    await svc.declare(key="k", actor=ANA, title="Payroll late", severity="SEV2")
    [(_, _, reply)] = [p for p in rooms.posts if "no-pager" in p[1]]
    assert reply.headline == "INC-2026-0001 would page on-call, but no pager is configured"


async def test_a_declaration_that_cannot_be_audited_is_not_made(db: Database) -> None:
    rooms, audit = RecordingRooms(), AuditTrail(broken=True)
    svc = service(db, rooms=rooms, audit=audit)
    with pytest.raises(IncidentAuditError, match="nothing was changed"):
        await svc.declare(key="k", actor=ANA, title="Payroll late", severity="SEV1")
    assert await svc.list_open() == []
    assert rooms.open_calls == 0
    audit.broken = False
    made = await svc.declare(key="k", actor=ANA, title="Payroll late", severity="SEV1")
    assert made.incident.id == "INC-2026-0001"


async def test_bad_declarations_are_refused(db: Database) -> None:
    svc = service(db, rooms=RecordingRooms())
    with pytest.raises(IncidentInputError, match="needs a title"):
        await svc.declare(key="k", actor=ANA, title="  ")
    with pytest.raises(
        IncidentInputError, match="unknown severity 'SEV9': one of SEV1, SEV2, SEV3, SEV4"
    ):
        await svc.declare(key="k", actor=ANA, title="t", severity="SEV9")


async def test_ids_use_the_configured_prefix_and_the_year(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        clock = Clock(T0.replace(year=2027))
        svc = service(
            db, rooms=RecordingRooms(), clock=clock, policy=IncidentPolicy(id_prefix="OPS")
        )
        made = await svc.declare(key="k", actor=ANA, title="t")
        found = await svc.find_by_place(platform="slack", channel="C-001")
    assert made.incident.id == "OPS-2027-0001"
    assert found is not None
    assert found.id == "OPS-2027-0001"
