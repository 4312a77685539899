"""A night with something in every handover section, and the truth read from the simulator.

`handover_night` starts the simulator (``agent-down``: a workstation down, failures), the
real runbook service with the real audit log (SQLite, in ``tmp_path``), an incident service
on SQLite, and the `HandoverDesk` over them; then makes the shift happen through the real
interfaces: one failed job is rerun through an approved runbook, a rerun of another waits
for approval, an incident is declared. `truth` reads what the handover must say straight
from the simulator's HTTP API (not through Resync's client). Imported by name.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

_TESTS = Path(__file__).resolve().parents[1]
for _kit in ("bot", "bot/slack", "bot/teams"):  # the Slack and Teams kits, for the tests
    if str(_TESTS / _kit) not in sys.path:
        sys.path.append(str(_TESTS / _kit))

from incident_chat_support import Rooms  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from runbook_stack import card_buttons  # noqa: E402

from agents.assistant import Assistant  # noqa: E402
from agents.handover import SECTION_ROWS, HandoverDesk  # noqa: E402
from agents.incidents import IncidentPolicy, IncidentService  # noqa: E402
from agents.messages import Actor, Platform  # noqa: E402
from agents.runbooks.catalog import load_catalog  # noqa: E402
from agents.runbooks.policy import ApprovalGroups  # noqa: E402
from agents.runbooks.service import RunbookService  # noqa: E402
from agents.runbooks.signing import ButtonSigner  # noqa: E402
from config.settings import Settings  # noqa: E402
from integrations.audit import AuditLog, open_audit_log  # noqa: E402
from integrations.db import open_database  # noqa: E402
from integrations.store import MemoryStore  # noqa: E402
from integrations.tws.client import TWSClient  # noqa: E402
from integrations.tws.simulator import SimulatorServer  # noqa: E402

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
KEY = "handover-key"
REQUESTER = Actor(platform=Platform.SLACK, user_id="UREQ", display_name="Rita Requester")
APPROVER = Actor(
    platform=Platform.SLACK, user_id="UAPP", display_name="Avi", email="approver@example.com"
)


@dataclass
class Truth:
    """What the simulator's API says (raw JSON), and what the shift did."""

    failed: dict[str, dict[str, Any]]
    rerun: dict[str, dict[str, Any]]
    down: list[str]
    incident_id: str
    pending_job: str


@dataclass
class Night:
    """The running parts."""

    sim: SimulatorServer
    client: TWSClient
    desk: HandoverDesk
    assistant: Assistant
    audit: AuditLog
    runbooks: RunbookService
    incidents: IncidentService
    truth: Truth


async def api_items(sim: SimulatorServer, path: str) -> list[dict[str, Any]]:
    """Every item of a list endpoint, following ``next`` pages."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{sim.url}/twsd/api/v2/{path}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as session:
        while url:
            async with session.get(url) as response:
                assert response.status == 200
                body = await response.json()
            items += body["results"]
            url = body.get("next")
    return items


async def read_truth(sim: SimulatorServer, *, incident_id: str, pending_job: str) -> Truth:
    """The handover's facts, from the simulator's HTTP API."""
    jobs = await api_items(sim, "plan/job")
    failed = {
        j["name"]: j for j in jobs if j["status"]["internalStatus"] in ("ABEND", "FAIL", "ERROR")
    }
    rerun = {j["name"]: j for j in jobs if j["rerunCount"] > 0}
    down = sorted(
        w["name"]
        for w in await api_items(sim, "plan/workstation")
        if not (w["linked"] and w["running"] and (w["limit"] is None or w["limit"] > 0))
    )
    return Truth(failed, rerun, down, incident_id, pending_job)


async def _rerun(service: RunbookService, job: str, *, approve: bool) -> str:
    result = await service.request(
        runbook_id="rerun-abended-job", values={"job": job}, actor=REQUESTER, channel="COPS"
    )
    assert result.accepted, result.reply.headline
    assert result.request_id is not None
    if approve:
        button = card_buttons(result.reply)["Approve"]
        decision = service.decision_from_click(
            action_id=button.action_id, value=button.value, actor=APPROVER
        )
        await service.decide(decision)
    return result.request_id


@asynccontextmanager
async def handover_night(tmp_path: Path) -> AsyncIterator[Night]:
    """The night after the shift's work (see the module docstring)."""
    async with (
        SimulatorServer(scenario="agent-down", speed=0, now=NOW, api_keys=[KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=KEY, retries=0) as client,
    ):
        audit = await open_audit_log(Settings(data_dir=tmp_path, _env_file=None))  # type: ignore[call-arg]
        db = await open_database(None, data_dir=tmp_path)
        try:
            incidents = IncidentService(
                db=db,
                rooms=Rooms(),
                audit=audit,
                store=MemoryStore(),
                policy=IncidentPolicy(retry_seconds=0),
                groups=ApprovalGroups({"incident-managers": ["manager@example.com"]}),
                zone=UTC,
            )
            runbooks = RunbookService(
                catalog=load_catalog([]),
                groups=ApprovalGroups({"tws-operators": [APPROVER.identity]}),
                scheduler=client,
                store=MemoryStore(),
                checkpointer=InMemorySaver(),
                signer=ButtonSigner(b"handover-test-signing-key-0123456789"),
                audit=audit,
                poll_seconds=0.01,
            )
            before = sorted(await _failed_names(sim))
            assert len(before) >= 2, before
            fixed, waiting = before[0], before[1]
            await _rerun(
                runbooks, _qualified(await api_items(sim, "plan/job"), fixed), approve=True
            )
            await _rerun(
                runbooks, _qualified(await api_items(sim, "plan/job"), waiting), approve=False
            )
            declared = await incidents.declare(
                key="handover-test",
                actor=REQUESTER,
                title="AGT_LNX02 down <!channel>",
                severity="SEV2",
            )
            desk = HandoverDesk(
                scheduler=client,
                zone=UTC,
                incidents=incidents,
                requests=runbooks.journal,
                audit=audit,
            )
            assistant = Assistant(
                scheduler=client,
                checkpointer=InMemorySaver(),
                zone=UTC,
                runbooks=runbooks,
                incidents=incidents,
                handover=desk,
            )
            truth = await read_truth(sim, incident_id=declared.incident.id, pending_job=waiting)
            yield Night(sim, client, desk, assistant, audit, runbooks, incidents, truth)
        finally:
            await db.close()
            await audit.close()


async def _failed_names(sim: SimulatorServer) -> list[str]:
    jobs = await api_items(sim, "plan/job")
    return [j["name"] for j in jobs if j["status"]["internalStatus"] in ("ABEND", "FAIL")]


def _qualified(jobs: list[dict[str, Any]], name: str) -> str:
    job = next(j for j in jobs if j["name"] == name)
    return f"{job['jobStreamInPlan']['name']}.{name}"


def flat(node: object) -> str:
    """Every text of a Slack payload or Teams card, markdown escapes removed."""
    if isinstance(node, dict):
        return " ".join(flat(value) for value in node.values())
    if isinstance(node, list):
        return " ".join(flat(value) for value in node)
    return re.sub(r"\\(.)", r"\1", node) if isinstance(node, str) else ""


def check_facts(text: str, truth: Truth) -> None:
    """The handover says what the simulator says."""
    still = sorted(truth.failed)
    assert len(still) >= 1
    assert len(truth.rerun) == 1  # the approved runbook reran one job, the engine says
    assert f"{len(still)} jobs still failed" in text or f"{len(still)} job still failed" in text
    assert "Shift handover, 15:30 UTC to 23:30 UTC" in text  # the last 8 hours: no shift times
    shown = [name for name in still if f"why {name}" in text]
    assert len(shown) == min(len(still), SECTION_ROWS)
    for name, job in truth.rerun.items():  # the job the approved runbook reran
        assert name in text
        state = job["status"]["internalStatus"]
        expected = {"SUCC": "rerun succeeded", "EXEC": "rerun running"}.get(state)
        assert expected is not None, state
        assert expected in text
        assert ("1 rerun succeeded" if state == "SUCC" else "1 rerun not finished") in text
    for name in truth.down:
        assert name in text
        assert f"is {name} up?" in text
    assert truth.incident_id in text
    assert f"incident show {truth.incident_id}" in text
    assert "Approvals pending (1)" in text
    assert truth.pending_job in text
    assert "Runbook runs this shift (1)" in text  # the approved run, from the audit log
    assert "rerun-abended-job" in text
    assert "succeeded" in text
    assert "As of Mon 23 Nov 23:30 UTC" in text
