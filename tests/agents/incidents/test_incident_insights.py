"""Pure parts: severity suggestion from deadlines at risk, impact, statistics, room names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from incident_support import T0, Clock, RecordingRooms, actor, database, service

from agents.forecast import JobForecast
from agents.incidents import (
    IncidentInputError,
    IncidentPolicy,
    SeverityLevel,
    impact_from_forecast,
    suggest_severity,
)
from agents.incidents.model import room_name
from integrations.pager import PageSeverity
from integrations.tws.models import JobStatus, PlanJob

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ANA = actor("ana")


def item(
    name: str, *, due_in: timedelta | None, late: bool = False, at_risk: bool = True
) -> JobForecast:
    job = PlanJob(
        id=f"id-{name}",
        name=name,
        job_stream_id="s",
        job_stream_name="PAYROLL_DAILY",
        job_stream_workstation="MASTER",
        workstation="AGT1",
        status=JobStatus.HOLD,
        deadline=None if due_in is None else NOW + due_in,
    )
    overrun = timedelta(minutes=10) if at_risk else timedelta(minutes=-30)
    return JobForecast(job=job, expected_end=NOW + timedelta(hours=1), overrun=overrun, late=late)


def test_severity_follows_how_soon_and_how_many_deadlines() -> None:
    policy = IncidentPolicy()
    calm = suggest_severity(
        [item("A", due_in=timedelta(hours=1), at_risk=False)], now=NOW, policy=policy
    )
    assert (calm.severity, calm.reasons) == ("SEV4", ("no deadline is at risk",))
    far = suggest_severity([item("A", due_in=timedelta(hours=6))], now=NOW, policy=policy)
    assert far.severity == "SEV3"
    soon = suggest_severity(
        [item(n, due_in=timedelta(hours=3)) for n in "ABC"], now=NOW, policy=policy
    )
    assert soon.severity == "SEV2"
    one_late = suggest_severity(
        [item("A", due_in=timedelta(minutes=-5), late=True)], now=NOW, policy=policy
    )
    assert one_late.severity == "SEV2"
    assert "missed: PAYROLL_DAILY.A" in one_late.reasons
    many = suggest_severity(
        [
            item("A", due_in=timedelta(minutes=-5), late=True),
            item("B", due_in=timedelta(minutes=30)),
            item("C", due_in=timedelta(minutes=50)),
            item("D", due_in=timedelta(hours=9)),
        ],
        now=NOW,
        policy=policy,
    )
    assert (many.severity, many.at_risk, many.urgent) == ("SEV1", 4, 3)


def test_severity_is_clamped_to_short_policies() -> None:
    two = IncidentPolicy(
        severities=(
            SeverityLevel(
                name="HIGH", label="high", pager_severity=PageSeverity.CRITICAL, pages=True
            ),
            SeverityLevel(name="LOW", label="low", pager_severity=PageSeverity.INFO),
        ),
        default_severity="LOW",
    )
    assert (
        suggest_severity([item("A", due_in=timedelta(hours=8))], now=NOW, policy=two).severity
        == "LOW"
    )


def test_impact_from_forecast_keeps_the_items_at_risk() -> None:
    impact = impact_from_forecast(
        [item("A", due_in=timedelta(hours=1)), item("B", due_in=timedelta(hours=1), at_risk=False)],
        summary="bank files late",
    )
    assert impact.summary == "bank files late"
    assert [d.name for d in impact.deadlines] == ["PAYROLL_DAILY.A"]
    assert impact.deadlines[0].deadline == NOW + timedelta(hours=1)


async def test_stats_per_severity(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        clock = Clock()
        svc = service(db, rooms=RecordingRooms(), clock=clock)
        a = (await svc.declare(key="a", actor=ANA, title="a", severity="SEV1")).incident.id
        b = (await svc.declare(key="b", actor=ANA, title="b", severity="SEV1")).incident.id
        await svc.declare(key="c", actor=ANA, title="c", severity="SEV3")
        clock.advance(minutes=4)
        await svc.set_status(a, actor=ANA, status="active")
        clock.advance(minutes=8)
        await svc.set_status(b, actor=ANA, status="active")
        clock.advance(minutes=48)
        await svc.resolve(a, actor=ANA, summary="fixed")
        stats = await svc.stats()
        assert (await svc.stats(since=T0 + timedelta(hours=1))).total == 0
    sev1 = stats.by_severity[0]
    assert (stats.total, stats.open) == (3, 2)
    assert (sev1.severity, sev1.count, sev1.open, sev1.acknowledged, sev1.resolved) == (
        "SEV1",
        2,
        1,
        2,
        1,
    )
    assert sev1.mean_tta == timedelta(minutes=8)  # 4 and 12 minutes
    assert sev1.median_ttr == timedelta(hours=1)
    assert stats.by_severity[2].count == 1
    assert stats.by_severity[2].mean_tta is None


def test_room_names_and_policy_files(tmp_path: Path) -> None:
    assert (
        room_name("INC-2026-0042", "Payroll: extract ABENDED (rc=12)!")
        == "inc-2026-0042-payroll-extract-abended-rc-12"
    )
    assert len(room_name("INC-2026-0042", "x" * 200)) == 80
    path = tmp_path / "incidents.yaml"
    path.write_text(
        "id_prefix: OPS\nmanager_groups: [ops-leads]\nseverities:\n"
        "  - {name: P1, label: urgent, pager_severity: critical, pages: true, reminder_minutes: 15}\n"
        "  - {name: P2, label: normal, pager_severity: warning}\ndefault_severity: P2\n"
    )
    policy = IncidentPolicy.load(path)
    assert (policy.id_prefix, policy.level("p1").cadence) == ("OPS", timedelta(minutes=15))
    path.write_text("id_prefix: ops\nseverities: []\n")
    with pytest.raises(IncidentInputError, match="id_prefix") as caught:
        IncidentPolicy.load(path)
    assert "severities" in str(caught.value)
