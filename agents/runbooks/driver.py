"""`FlowDriver`: advances a request's approval graph under the drive lease, and recovers.

One replica drives a request at a time: the one holding the drive lease ``rb:drive:{id}``
in the store, and within that replica at most one task (a replica's lease is shared by its
tasks, so the driver also keeps the ids it is driving right now). The graph is checkpointed
before each node runs (``durability="sync"``): what a node saw before a crash is durable
before the node's successor touches TWS.

Where the graph stands is read from its checkpoint, and the checkpoint can trail the nodes:
a process that dies after a node's result was written but before the next checkpoint leaves
a checkpoint whose pending task already has its result. LangGraph then reports no ``next``
node, yet the graph is not finished: it still has ``tasks``. `FlowDriver.drive` therefore
continues whenever tasks remain, and LangGraph reuses the saved result instead of running
the node again.

`FlowDriver.start` runs a drive in the background through a `Spawner`, so that a click
handler never waits for a runbook's wait steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from langgraph.types import Command

from agents.runbooks.approvals import is_expired
from agents.runbooks.errors import FencedOutError
from agents.runbooks.flow import FlowSteps, build_flow
from agents.runbooks.journal import RequestJournal, RequestStatus
from agents.tasks import Spawner
from integrations.tws.errors import TWSError

__all__ = ["FlowDriver"]

log = structlog.get_logger(__name__)


class FlowDriver:
    """Drives request graphs: on a click, in the background, and after a restart."""

    def __init__(
        self,
        *,
        journal: RequestJournal,
        nodes: FlowSteps,
        checkpointer: Any,
        lease_seconds: float,
        clock: Callable[[], datetime],
        spawn: Spawner | None = None,
    ) -> None:
        """Compile the graph over ``nodes``.

        Args:
            journal: Request records and the drive lease.
            nodes: The node bodies (`agents.runbooks.nodes.FlowNodes`).
            checkpointer: LangGraph checkpointer shared by the replicas.
            lease_seconds: The drive lease's time to live.
            clock: Server time (UTC), for the expiry of pending requests.
            spawn: Starts background work; None: `start` is not available.
        """
        self._journal = journal
        self._graph = build_flow(nodes, checkpointer=checkpointer)
        self._lease = lease_seconds
        self._clock = clock
        self._spawn = spawn
        self._driving: set[str] = set()

    @property
    def background(self) -> bool:
        """True when runs are started in the background (a `Spawner` was given)."""
        return self._spawn is not None

    async def drive(self, request_id: str) -> bool:
        """Advance the request's graph as far as it goes now (to an approval wait, or the end).

        Args:
            request_id: The request.

        Returns:
            False when another replica (or another task of this one) is driving it.

        Raises:
            FencedOutError: A newer executor took the run over.
            TWSError: Reading the plan failed outside a step.
        """
        if request_id in self._driving:
            return False
        if not await self._journal.take_drive(request_id, ttl_seconds=self._lease):
            return False
        self._driving.add(request_id)
        config = {"configurable": {"thread_id": request_id}}
        try:
            state = await self._graph.aget_state(config)
            if state.interrupts:
                command: Any = Command(resume={"request_id": request_id})
            elif state.next or state.tasks:  # tasks with saved results: see the module doc
                command = None
            elif not state.values:
                command = {"request_id": request_id}
            else:
                return True  # the graph has finished
            await self._graph.ainvoke(command, config, durability="sync")
        finally:
            self._driving.discard(request_id)
            await self._journal.drop_drive(request_id)
        return True

    def start(self, request_id: str) -> None:
        """Drive the request in the background (through the `Spawner`).

        Args:
            request_id: The request whose approval was just completed.

        Raises:
            RuntimeError: No spawner was given.
        """
        if self._spawn is None:
            raise RuntimeError("no spawner: drive the request inline")
        self._spawn(self._drive_logged(request_id), name=f"runbook:{request_id}")

    async def _drive_logged(self, request_id: str) -> None:
        # The outcome reaches the thread through the progress sink; what cannot (another
        # executor took over, the plan could not be read) is logged, and recover() continues.
        try:
            await self.drive(request_id)
        except (FencedOutError, TWSError) as exc:
            log.warning("runbook.drive_failed", request_id=request_id, error=str(exc))

    async def recover(self) -> list[str]:
        """Continue what a restart interrupted; expire overdue requests.

        Returns:
            The ids of the requests this replica drove.
        """
        driven: list[str] = []
        for rid in await self._journal.active():
            record = await self._journal.load(rid)
            if record is None:
                await self._journal.set_active(rid, active=False)
                continue
            if not (
                record.status in (RequestStatus.APPROVED, RequestStatus.EXECUTING)
                or record.status.final
                or is_expired(record=record, now=self._clock())
            ):
                continue  # pending, not overdue: it waits for clicks
            try:
                if await self.drive(rid):
                    driven.append(rid)
            except (FencedOutError, TWSError) as exc:
                log.warning("runbook.recover_failed", request_id=rid, error=str(exc))
        return driven
