"""`Assistant`: the one entry the bot calls to get a reply for a message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from agents.answers.budget import ENGINE_CALL_BUDGET, PLAN_WALK_CALL_BUDGET
from agents.answers.common import AnswerContext, PersonLookup
from agents.answers.runbook import RunbookRequester
from agents.graph import Understander, build_graph, deterministic_understander
from agents.messages import ChatEvent, Reply
from agents.resolve import NameIndex
from agents.state import ConversationState
from integrations.tws.scheduler import Scheduler

if TYPE_CHECKING:
    from agents.incidents.service import IncidentService

__all__ = ["Assistant"]


class Assistant:
    """Answers questions about the plan, one LangGraph thread per conversation."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        checkpointer: BaseCheckpointSaver[Any],
        zone: ZoneInfo,
        understander: Understander = deterministic_understander,
        runbooks: RunbookRequester | None = None,
        incidents: IncidentService | None = None,
        people: PersonLookup | None = None,
        call_budget: int = ENGINE_CALL_BUDGET,
        plan_walk_call_budget: int = PLAN_WALK_CALL_BUDGET,
    ) -> None:
        """Build the graph over one engine.

        Args:
            scheduler: The engine (read only here).
            checkpointer: Where conversation threads are kept.
            zone: The time zone answers show times in.
            understander: The understand step (the parser, or the parser with an LLM).
            runbooks: Where requests to change the plan go; None: such requests are refused.
            incidents: The incident service (declare, list, change incidents from chat; the
                "Declare incident" button on failures); None: incident requests are answered
                with "not enabled" and no button is shown.
            people: Resolves a mentioned Slack user (``<@U123>``) to an `Actor`, for
                "incident lead @someone"; None: only people who took part in the incident
                (or the person asking) can be named.
            call_budget: Calls to the engine one question may make.
            plan_walk_call_budget: The same for the answers that walk the plan (what is late,
                what depends on a job).
        """
        context = AnswerContext(
            scheduler=scheduler,
            names=NameIndex(),
            zone=zone,
            runbooks=runbooks,
            incidents=incidents,
            people=people,
        )
        graph = build_graph(
            context=context,
            understander=understander,
            call_budget=call_budget,
            plan_walk_call_budget=plan_walk_call_budget,
        )
        self._graph = graph.compile(checkpointer=checkpointer)

    async def ask(self, event: ChatEvent) -> Reply:
        """Answer one message in its conversation's context.

        Args:
            event: The message.

        Returns:
            The reply.

        Raises:
            integrations.tws.errors.TWSError: The engine could not answer; the bot turns it
                into words for the person.
        """
        config: RunnableConfig = {"configurable": {"thread_id": event.conversation_key}}
        message: ConversationState = {
            "text": event.text,
            "actor": event.actor.model_dump(mode="json"),
            "channel": event.channel_id,
            "thread": event.thread_id,
            "event_id": event.event_id,
        }
        # Log lines written while answering (e.g. the engine calls it took) name the question.
        with structlog.contextvars.bound_contextvars(
            conversation=event.conversation_key, event_id=event.event_id
        ):
            state = await self._graph.ainvoke(message, config)
        return Reply.model_validate(state["reply"])
