"""Incident memory: a resolved incident becomes knowledge; "why" answers recall it.

Everything goes through the real parts: the bundled simulator over HTTP (its PAYROLL_EXTRACT
abends with ORA-01555 in the log), the real `IncidentService` on SQLite, a real knowledge
base (chromadb in the test's temp dir, hybrid search when the model is installed), and the
`Assistant` answering a `ChatEvent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from incident_support import AuditTrail, Clock, RecordingRooms, actor, service
from langgraph.checkpoint.memory import InMemorySaver

from agents.assistant import Assistant
from agents.incidents import IncidentService, LinkedObject
from agents.incidents.memory import IncidentMemory, incident_document
from agents.knowledge_memory import KnowledgeDesk
from agents.messages import ChatEvent, Reply
from integrations.db import open_database
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer
from knowledge.retrieval import KnowledgeBase

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
ANA = actor("ana")
FIX = "The DBA raised UNDO_RETENTION to 3 hours, then PAYROLL_EXTRACT was rerun and ended SUCC"


@dataclass
class Night:
    client: TWSClient
    service: IncidentService
    desk: KnowledgeDesk
    assistant: Assistant
    asked: int = 0

    async def ask(self, text: str) -> Reply:
        self.asked += 1
        return await self.assistant.ask(
            ChatEvent(
                event_id=f"Ev{self.asked}", actor=ANA, channel_id="COPS", thread_id=None, text=text
            )
        )

    async def resolve(self, title: str, *, job: str, note: str, summary: str) -> str:
        link = LinkedObject(kind="job", name=job, state="ABEND", linked_at=NOW, linked_by="ana")
        made = await self.service.declare(
            key=f"k-{title}", actor=ANA, title=title, severity="SEV3", links=[link]
        )
        incident_id = made.incident.id
        await self.service.note(incident_id, actor=ANA, text=note)
        await self.service.resolve(incident_id, actor=ANA, summary=summary)
        return incident_id


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[Night]:
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        db = await open_database(None, data_dir=tmp_path)
        try:
            svc = service(db, rooms=RecordingRooms(), audit=AuditTrail(), clock=Clock(NOW))
            desk = KnowledgeDesk(lambda: KnowledgeBase.open(directory=tmp_path / "kb"))
            svc.use_memory(IncidentMemory(desk))
            assistant = Assistant(
                knowledge=desk,
                scheduler=client,
                checkpointer=InMemorySaver(),
                zone=ZoneInfo("UTC"),
            )
            yield Night(client=client, service=svc, desk=desk, assistant=assistant)
        finally:
            await db.close()


async def test_a_resolved_incident_shows_in_the_why_answer(night: Night) -> None:
    before = await night.ask("why did PAYROLL_EXTRACT abend?")
    assert "happened before" not in before.plain_text()

    other = await night.resolve(
        "AGT_LNX02 agent unlinked",
        job="AGT_LNX02",
        note="Workstation AGT_LNX02 unlinked, jobs stuck in INTRO",
        summary="Restarted the agent with StartUpLwa; jobs resumed",
    )
    payroll = await night.resolve(
        "PAYROLL_EXTRACT abended",
        job="PAYROLL_DAILY.PAYROLL_EXTRACT",
        note="ORA-01555 snapshot too old in the extract query",
        summary=FIX,
    )

    reply = await night.ask("why did PAYROLL_EXTRACT abend?")
    text = reply.plain_text()
    assert reply.headline.startswith("PAYROLL_EXTRACT ABEND")  # the diagnosis is unchanged
    assert (
        f"This happened before: {payroll} (2026-11-23), same ORA-01555 on PAYROLL_EXTRACT, "
        f"fixed by: {FIX}." in text
    )
    assert other not in text  # the agent incident is not like this failure
    assert f"incident memory: {payroll}" in text  # the small print names the source


async def test_the_incident_is_a_knowledge_document_with_its_id_and_date(night: Night) -> None:
    payroll = await night.resolve(
        "PAYROLL_EXTRACT abended",
        job="PAYROLL_DAILY.PAYROLL_EXTRACT",
        note="ORA-01555 snapshot too old in the extract query",
        summary=FIX,
    )
    base = await night.desk.base()
    assert base is not None
    (document,) = [d for d in base.documents() if d.kind == "incident"]
    assert (document.doc_id, document.date) == (f"incident:{payroll}", "2026-11-23")

    reply = await night.ask("how do I fix ORA-01555?")
    sources = " ".join(" ".join(b.items) for b in reply.blocks if b.kind == "context")
    assert f"past incident {payroll} of 2026-11-23" in sources
    assert f"Fixed by: {FIX}" in reply.plain_text()


async def test_resolving_again_replaces_the_entry(night: Night) -> None:
    payroll = await night.resolve(
        "PAYROLL_EXTRACT abended",
        job="PAYROLL_DAILY.PAYROLL_EXTRACT",
        note="ORA-01555 snapshot too old",
        summary="Reran it",
    )
    await night.service.set_status(payroll, actor=ANA, status="active")
    await night.service.resolve(payroll, actor=ANA, summary=FIX)
    base = await night.desk.base()
    assert base is not None
    texts = [p.text for p in base.passages if p.doc_id == f"incident:{payroll}"]
    assert any(FIX in text for text in texts)
    assert not any(text.strip() == "Reran it" for text in texts)


async def test_a_store_that_cannot_open_changes_nothing(night: Night, tmp_path: Path) -> None:
    def broken() -> KnowledgeBase:
        raise OSError("chromadb server unreachable")

    desk = KnowledgeDesk(broken)
    night.service.use_memory(IncidentMemory(desk))
    payroll = await night.resolve(
        "PAYROLL_EXTRACT abended", job="PAYROLL_EXTRACT", note="ORA-01555", summary=FIX
    )
    assert (await night.service.get(payroll)).status.value == "resolved"

    assistant = Assistant(
        knowledge=desk, scheduler=night.client, checkpointer=InMemorySaver(), zone=ZoneInfo("UTC")
    )
    night.assistant = assistant
    reply = await night.ask("why did PAYROLL_EXTRACT abend?")
    assert reply.headline.startswith("PAYROLL_EXTRACT ABEND")
    assert "snapshot too old" in reply.plain_text().lower()
    # A knowledge question falls back to the shipped corpus.
    answer = await night.ask("how do I fix ORA-01555?")
    assert "ORA-01555" in answer.headline


def test_the_document_holds_jobs_notes_and_fix() -> None:
    from agents.incidents.model import Incident, Person, TimelineEntry

    person = Person(identity="ana@example.com", name="ana", platform="slack", user_id="U1")
    incident = Incident(
        id="INC-2026-0031",
        number=31,
        title="Payroll extract failing",
        severity="SEV2",
        declared_at=NOW,
        declared_by=person,
        room_name="inc-2026-0031",
        links=(
            LinkedObject(
                kind="job", name="PAYROLL_EXTRACT", state="ABEND", linked_at=NOW, linked_by="ana"
            ),
        ),
        resolution=FIX,
        timeline=(
            TimelineEntry(seq=1, at=NOW, kind="declared", text="Declared SEV2 by ana"),
            TimelineEntry(seq=2, at=NOW, kind="note", text="ORA-01555 in the log"),
        ),
    )
    document = incident_document(incident)
    assert document.startswith("# INC-2026-0031: Payroll extract failing\n")
    assert "Linked jobs: PAYROLL_EXTRACT (ABEND)." in document
    assert "- ORA-01555 in the log" in document
    assert "Declared SEV2" not in document  # timeline noise stays out
    assert document.endswith(f"## Fix\n\n{FIX}\n")
