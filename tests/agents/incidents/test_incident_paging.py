"""Paging: one trigger per incident (dedup key = its id), acknowledge and resolve, failures told."""

from __future__ import annotations

from pathlib import Path

import pytest
from incident_support import (
    ORIGIN,
    AuditTrail,
    MockPager,
    RecordingRooms,
    actor,
    database,
    rejected,
    service,
    unavailable,
)

from agents.incidents import IncidentInputError, IncidentTransitionError

ANA = actor("ana")


async def test_escalation_raises_severity_and_pages_exactly_once(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        pager = MockPager()
        svc = service(db, rooms=RecordingRooms(), pager=pager)
        made = await svc.declare(key="k", actor=ANA, title="GL close slow", severity="SEV4")
        iid = made.incident.id
        first = await svc.escalate(
            iid, actor=ANA
        )  # SEV4 -> SEV3: does not page by level, but escalation pages
        second = await svc.escalate(iid, actor=ANA)  # SEV3 -> SEV2: already paged
        third = await svc.set_severity(iid, actor=ANA, severity="SEV1")
        with pytest.raises(IncidentInputError, match="SEV3 is less severe than SEV1"):
            await svc.escalate(iid, actor=ANA, severity="SEV3")
        top = await svc.escalate(iid, actor=ANA)  # already the most severe and paged: no change
    assert (first.incident.severity, second.incident.severity, third.incident.severity) == (
        "SEV3",
        "SEV2",
        "SEV1",
    )
    assert not top.changed
    assert pager.actions() == ["trigger"]
    assert pager.calls[0][1].dedup_key == iid
    assert pager.calls[0][1].severity.value == "warning"  # the level it was escalated to


async def test_acknowledge_when_active_resolve_when_resolved(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        pager = MockPager()
        svc = service(db, rooms=RecordingRooms(), pager=pager)
        iid = (await svc.declare(key="k", actor=ANA, title="t", severity="SEV1")).incident.id
        await svc.set_status(iid, actor=ANA, status="active")
        await svc.set_status(iid, actor=ANA, status="monitoring")
        await svc.set_status(iid, actor=ANA, status="active")
        await svc.resolve(iid, actor=ANA, summary="fixed")
    assert pager.actions() == ["trigger", "acknowledge", "resolve"]
    assert {event.dedup_key for _, event in pager.calls} == {iid}


async def test_a_refused_page_is_told_in_the_room_and_the_incident_goes_on(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms, pager, audit = RecordingRooms(), MockPager(fail=rejected()), AuditTrail()
        svc = service(db, rooms=rooms, pager=pager, audit=audit)
        made = await svc.declare(
            key="k", actor=ANA, title="Payroll late", severity="SEV1", origin=ORIGIN
        )
        await svc.recover()  # a final failure is not retried
        step = await db.steps.get(incident_id=made.incident.id, name="page.trigger")
        timeline = (await svc.get(made.incident.id, timeline=True)).timeline
    assert made.created
    assert made.incident.places[0].pinned
    assert pager.actions() == ["trigger"]
    assert step is not None
    assert step.state == "failed"
    [(channel, key, reply)] = [p for p in rooms.posts if "page-failed" in p[1]]
    assert (channel, key) == ("C-001", "INC-2026-0001:page-failed-trigger:slack")
    assert reply.headline == "Paging failed for INC-2026-0001: the on-call person was NOT paged"
    assert "Event object is invalid" in reply.plain_text()
    assert [r["outcome"] for r in audit.actions("incident.page")] == ["failed"]
    assert timeline[-1].text == "Page trigger failed: Event object is invalid"


async def test_an_unavailable_pager_is_retried_by_recover(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms, pager = RecordingRooms(), MockPager(fail=unavailable(2))
        svc = service(db, rooms=rooms, pager=pager)
        made = await svc.declare(key="k", actor=ANA, title="t", severity="SEV2")
        report = await svc.recover()
        await svc.recover()
        again = await svc.recover()
        step = await db.steps.get(incident_id=made.incident.id, name="page.trigger")
    assert pager.actions() == ["trigger"] * 3
    assert report.driven == (made.incident.id,)
    assert again.driven == ()
    assert step is not None
    assert (step.state, step.attempts) == ("done", 3)
    assert rooms.posted("page-failed") == []


async def test_an_unavailable_pager_gives_up_after_the_attempts_and_tells(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms, pager = RecordingRooms(), MockPager(fail=unavailable(5))
        svc = service(db, rooms=rooms, pager=pager)
        await svc.declare(key="k", actor=ANA, title="t", severity="SEV2")
        for _ in range(4):
            await svc.recover()
    assert pager.actions() == ["trigger"] * 3  # page_attempts = 3
    assert rooms.posted("page-failed") == ["INC-2026-0001:page-failed-trigger:slack"]


async def test_a_resolved_incident_is_not_escalated(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        pager = MockPager()
        svc = service(db, rooms=RecordingRooms(), pager=pager)
        iid = (await svc.declare(key="k", actor=ANA, title="t", severity="SEV4")).incident.id
        await svc.resolve(iid, actor=ANA, summary="went away")
        with pytest.raises(IncidentTransitionError, match="reopen it"):
            await svc.escalate(iid, actor=ANA)
    assert pager.calls == []
