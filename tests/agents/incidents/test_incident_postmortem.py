"""Postmortem drafts: evidence read from the simulator over HTTP, timeline, audit, durations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from incident_support import ORIGIN, AuditTrail, Clock, RecordingRooms, actor, database

from agents.incidents import (
    IncidentPolicy,
    IncidentService,
    JobEvidence,
    LinkedObject,
    gather_evidence,
)
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

ANA, BOB = actor("ana"), actor("bob")
SIM_NOW = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


async def test_a_postmortem_from_a_real_engine_read(tmp_path: Path) -> None:
    async with (
        SimulatorServer(scenario="normal", speed=0, now=SIM_NOW) as sim,
        database("sqlite", tmp_path) as db,
    ):
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        try:
            [job] = (await client.query_jobs(name="PAYROLL_EXTRACT")).value
            audit, clock = AuditTrail(), Clock(SIM_NOW)
            svc = IncidentService(
                db=db,
                rooms=RecordingRooms(),
                audit=audit,
                store=MemoryStore(),
                scheduler=client,
                policy=IncidentPolicy(retry_seconds=0),
                clock=clock,
                zone=ZoneInfo("Europe/Rome"),
            )
            link = LinkedObject(
                kind="job",
                name=f"{job.job_stream_name}.{job.name}",
                plan_id=job.id,
                state=job.status.value,
                linked_at=SIM_NOW,
                linked_by=ANA.identity,
            )
            iid = (
                await svc.declare(
                    key="k",
                    actor=ANA,
                    title="Payroll extract abended",
                    severity="SEV2",
                    origin=ORIGIN,
                    links=[link],
                )
            ).incident.id
            clock.advance(minutes=6)
            await svc.set_status(iid, actor=ANA, status="active")
            clock.advance(minutes=30)
            await svc.resolve(
                iid, actor=ANA, summary="Undo tablespace extended; extract rerun SUCC"
            )
            await svc.add_follow_up(iid, actor=BOB, text="Monitor undo usage", owner="dba")
            records = [{**r, "time": "2026-11-23T23:00:00Z"} for r in audit.records]
            records.append(
                {"action": "incident.note", "target": "INC-2026-0099", "outcome": "applied"}
            )
            draft = await svc.postmortem(iid, audit_records=records)
        finally:
            await client.close()
    md = draft.markdown
    assert md.startswith("# Postmortem (draft): INC-2026-0001 — Payroll extract abended\n")
    assert "Undo tablespace extended; extract rerun SUCC" in md
    assert "| Acknowledged (active) | 2026-11-24 00:06 CET | 6m 00s |" in md
    assert "| Resolved | 2026-11-24 00:36 CET | 36m 00s |" in md
    assert "### PAYROLL_DAILY.PAYROLL_EXTRACT" in md
    assert "- Status ABEND, return code 12" in md
    assert "ORA-01555" in md
    assert "| ana@example.com | incident.declare | applied |" in md
    assert "INC-2026-0099" not in md
    assert "- [ ] #1 Monitor undo usage (dba)" in md
    assert "Status active → resolved by ana: Undo tablespace extended" in md
    assert draft.reply.headline == "Postmortem draft for INC-2026-0001: Payroll extract abended"


async def test_evidence_says_why_it_is_missing() -> None:
    async with SimulatorServer(scenario="normal", speed=0, now=SIM_NOW) as sim:
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        try:
            at = SIM_NOW
            found = await gather_evidence(
                client,
                [
                    LinkedObject(kind="job", name="X.UNRESOLVED", linked_at=at, linked_by="a"),
                    LinkedObject(
                        kind="job_stream",
                        name="PAYROLL_DAILY",
                        plan_id="s1",
                        linked_at=at,
                        linked_by="a",
                    ),
                    LinkedObject(
                        kind="job", name="X.GONE", plan_id="no-such-id", linked_at=at, linked_by="a"
                    ),
                ],
            )
        finally:
            await client.close()
    assert [e.name for e in found] == ["X.UNRESOLVED", "X.GONE"]
    assert found[0].problem == "not resolved in the plan when linked"
    assert found[1].problem is not None
    assert found[1].problem.startswith("could not read it:")


async def test_given_evidence_and_an_open_incident(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        svc = IncidentService(
            db=db, rooms=RecordingRooms(), audit=AuditTrail(), store=MemoryStore(), clock=Clock()
        )
        iid = (await svc.declare(key="k", actor=ANA, title="t")).incident.id
        evidence = [
            JobEvidence(
                name="S.J",
                status="ABEND",
                return_code=8,
                log_lines=("ERROR ``` x",),
                codes=(("AWSBHT001E", "The job failed"),),
            )
        ]
        draft = await svc.postmortem(iid, evidence=evidence)
    assert "(not resolved yet)" in draft.markdown
    assert "- AWSBHT001E: The job failed" in draft.markdown
    assert "ERROR ''' x" in draft.markdown
    assert "No audit records were given." in draft.markdown
    assert draft.reply.headline.endswith("(still open): t")
