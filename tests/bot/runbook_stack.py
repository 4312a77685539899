"""The real runbook stack for the surface tests: simulator over HTTP, TWSClient, RunbookService.

Imported by name (``from runbook_stack import ...``) from any test under tests/bot (pytest
puts tests/bot on sys.path for its conftest). The shipped catalog is used, so the approval
card is the one people see (``rerun-abended-job``: group tws-operators, one approver).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agents.messages import Actions, Button, Reply
from agents.runbooks.catalog import load_catalog
from agents.runbooks.policy import ApprovalGroups, GroupDirectory
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from bot.progress import ProgressRouter
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

SIM_NOW = datetime(2026, 11, 23, 23, 0, 0, tzinfo=UTC)
KEY = b"surface-test-signing-key-0123456789"
STREAM, JOB_NAME = "PAYROLL_DAILY", "PAYROLL_EXTRACT"
JOB = f"{STREAM}.{JOB_NAME}"
RUNBOOK = "rerun-abended-job"
APPROVERS = ("approver1@example.com", "approver2@example.com", "ops.lead@example.com")


@dataclass
class AuditTrail:
    """An audit recorder keeping records in a list."""

    records: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, **fields: Any) -> object:
        self.records.append(fields)
        return None

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


@dataclass
class Stack:
    """The running parts."""

    sim: SimulatorServer
    client: TWSClient
    service: RunbookService
    progress: ProgressRouter
    audit: AuditTrail

    async def rerun_count(self) -> int:
        """How often the job was rerun in the plan, read from the simulator."""
        found = (await self.client.query_jobs(name=JOB_NAME, job_stream=STREAM)).value
        return next(j.rerun_count for j in found if j.job_stream_name == STREAM)

    async def status(self, request_id: str) -> str:
        record = await self.service.journal.load(request_id)
        assert record is not None
        return record.status.value


@asynccontextmanager
async def runbook_stack(
    *, groups: ApprovalGroups | None = None, directory: GroupDirectory | None = None
) -> AsyncIterator[Stack]:
    """Simulator (frozen clock, API key ``k``) + TWSClient + RunbookService over MemoryStore.

    ``groups`` replaces the default approval groups; ``directory`` resolves group references.
    """
    async with SimulatorServer(scenario="normal", speed=0, api_keys=["k"], now=SIM_NOW) as sim:
        client = TWSClient(base_url=sim.url, api_key="k", retries=0)
        audit = AuditTrail()
        progress = ProgressRouter()
        service = RunbookService(
            catalog=load_catalog([]),
            groups=groups
            or ApprovalGroups({"tws-operators": list(APPROVERS), "tws-admins": ["x@y.z"]}),
            scheduler=client,
            store=MemoryStore(),
            checkpointer=InMemorySaver(),
            signer=ButtonSigner(KEY),
            audit=audit,
            progress=progress,
            poll_seconds=0.01,
            directory=directory,
        )
        try:
            yield Stack(sim, client, service, progress, audit)
        finally:
            await client.close()


def card_buttons(card: Reply) -> dict[str, Button]:
    """Label -> button of a card."""
    row = next(b for b in card.blocks if isinstance(b, Actions))
    return {b.label: b for b in row.buttons}


def forge(value: str) -> str:
    """The same value with its signature's last digit changed."""
    return value[:-1] + ("0" if value[-1] != "0" else "1")
