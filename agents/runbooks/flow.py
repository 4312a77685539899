"""The approval flow of one request: a small LangGraph graph, ``thread_id`` = request id.

::

    await_decision ──approved──> recheck ──same binding──> execute ──> finish
         ^  │ (interrupt() while pending)   │ changed                       ^
         │  └──rejected / expired / final───┼───────────────────────────────┘
         └──────────────────────────────────┘ (new round: approve again)

The store's request record is the truth; the graph is the durable skeleton that pauses at
``interrupt()`` and continues after a restart from its checkpoint. Every node re-reads the
record first, so a node re-run from its top on resume (LangGraph's rule) is idempotent.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

__all__ = ["FlowState", "FlowSteps", "build_flow"]


class FlowState(TypedDict, total=False):
    """The graph's state."""

    request_id: str
    outcome: str


class FlowSteps(Protocol):
    """What the graph's nodes do (`agents.runbooks.nodes.FlowNodes` implements it)."""

    async def decided(self, request_id: str) -> str | None:
        """``approved``, ``rejected``, ``expired``, a final status, or None while pending."""
        ...

    async def recheck(self, request_id: str) -> bool:
        """True when the approved binding still holds; False: back to approval."""
        ...

    async def execute(self, request_id: str) -> str:
        """Run the steps; returns the final status."""
        ...

    async def finish(self, request_id: str, *, outcome: str) -> None:
        """Post the outcome and close the request (idempotent)."""
        ...


def build_flow(steps: FlowSteps, *, checkpointer: Any) -> Any:
    """Compile the approval graph.

    Args:
        steps: The node bodies.
        checkpointer: A LangGraph checkpointer (``AsyncSqliteSaver`` in production,
            ``InMemorySaver`` in tests; shared by every replica that drives requests).

    Returns:
        The compiled graph.
    """

    async def await_decision(state: FlowState) -> FlowState:
        request_id = state["request_id"]
        outcome = await steps.decided(request_id)
        if outcome is None:
            interrupt({"request_id": request_id, "waiting": "approval"})
            outcome = await steps.decided(request_id) or "pending"
        return {"outcome": outcome}

    async def recheck(state: FlowState) -> FlowState:
        same = await steps.recheck(state["request_id"])
        return {"outcome": "approved" if same else "changed"}

    async def execute(state: FlowState) -> FlowState:
        return {"outcome": await steps.execute(state["request_id"])}

    async def finish(state: FlowState) -> FlowState:
        await steps.finish(state["request_id"], outcome=state.get("outcome", ""))
        return {}

    def after_decision(state: FlowState) -> str:
        outcome = state.get("outcome")
        if outcome == "approved":
            return "recheck"
        if outcome == "pending":
            return "await_decision"
        return "finish"

    def after_recheck(state: FlowState) -> str:
        return "execute" if state.get("outcome") == "approved" else "await_decision"

    graph = StateGraph(FlowState)
    graph.add_node("await_decision", await_decision)
    graph.add_node("recheck", recheck)
    graph.add_node("execute", execute)
    graph.add_node("finish", finish)
    graph.add_edge(START, "await_decision")
    graph.add_conditional_edges(
        "await_decision", after_decision, ["recheck", "await_decision", "finish"]
    )
    graph.add_conditional_edges("recheck", after_recheck, ["execute", "await_decision"])
    graph.add_edge("execute", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)
