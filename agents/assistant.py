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
from agents.answers.watch import WatchDesk, answer_watch
from agents.graph import Handler, Understander, build_graph, deterministic_understander
from agents.handover import HandoverDesk, handover_reply
from agents.intents import IntentKind
from agents.messages import ChatEvent, Reply
from agents.resolve import NameIndex
from agents.runbooks.service import RunbookService
from agents.state import ConversationState
from agents.understand_handover import understand_handover
from agents.understand_watch import WatchAsk, WatchQuestion, understand_watch
from integrations import metrics
from integrations.tws.scheduler import Scheduler

if TYPE_CHECKING:
    from agents.incidents.service import IncidentService
    from agents.knowledge_memory import KnowledgeDesk

__all__ = ["Assistant"]

log = structlog.get_logger(__name__)


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
        watch: WatchDesk | None = None,
        handover: HandoverDesk | None = None,
        knowledge: KnowledgeDesk | None = None,
    ) -> None:
        """Build the graph over one engine.

        Args:
            scheduler: The engine (read only here).
            checkpointer: Where conversation threads are kept.
            zone: The time zone answers show times in.
            understander: The understand step (the parser, or the parser with an LLM); one
                with an ``open_question`` handler (`agents.llm_understand.LLMUnderstander`
                with its agent on) also answers the questions it cannot file.
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
            watch: The watcher's findings: "what's unusual tonight?", "which deadlines
                are at risk?", "why is GL_CLOSE at risk?" are answered from them; None:
                those questions go the usual way (the forecast answers "at risk").
            handover: Gathers "give me a handover" (`bot.handover.build_handover_desk`
                adds the shift times and the audit log's runbook runs); None: one over the
                parts given here (the last 8 hours, runs in progress only).
            knowledge: The knowledge base (operators' documents, past incidents) for
                knowledge questions and "this happened before" in why answers; None: the
                shipped corpus only.
        """
        self._watch = watch
        self._handover = handover or HandoverDesk(
            scheduler=scheduler,
            zone=zone,
            watch=watch,
            incidents=incidents,
            requests=runbooks.journal if isinstance(runbooks, RunbookService) else None,
        )
        self._zone = zone
        context = AnswerContext(
            scheduler=scheduler,
            names=NameIndex(),
            zone=zone,
            runbooks=runbooks,
            incidents=incidents,
            people=people,
            knowledge=knowledge,
        )
        graph = build_graph(
            context=context,
            understander=understander,
            call_budget=call_budget,
            plan_walk_call_budget=plan_walk_call_budget,
            open_question=_open_question(understander),
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
            reply = await self._ask_handover(event, config)
            if reply is None:
                reply = await self._ask_watch(event, config)
            if reply is not None:
                return reply
            state = await self._graph.ainvoke(message, config)
        return Reply.model_validate(state["reply"])

    async def _ask_watch(self, event: ChatEvent, config: RunnableConfig) -> Reply | None:
        """Answer a question for the watcher, or None when it is not one (or none runs).

        The turn is written to the conversation's thread like the graph's own answers, so
        the job asked about becomes the focus of follow-ups ("what does it wait for?").
        """
        question = understand_watch(event.text) if self._watch is not None else None
        if question is None or self._watch is None:
            return None
        if question.subject is None and question.ask in {WatchAsk.WHY_RISK, WatchAsk.BASELINE}:
            focus: str | None = (await self._graph.aget_state(config)).values.get("focus")
            if focus is None:
                return None  # "will it be late?" about nothing: the usual answer
            question = WatchQuestion(question.ask, focus)
        outcome = "error"  # until the answer comes back (the same counter as the graph's)
        try:
            reply = await answer_watch(self._watch, question, zone=self._zone)
            outcome = "answered"
        finally:
            metrics.QUESTIONS.labels(kind="watch", outcome=outcome).inc()
        log.info("answer.watch", ask=question.ask.value, subject=question.subject)
        await self._remember(event, config, reply, focus=question.subject)
        return reply

    async def _ask_handover(self, event: ChatEvent, config: RunnableConfig) -> Reply | None:
        """Answer "give me a handover", or None when the message is not that."""
        if not understand_handover(event.text):
            return None
        outcome = "error"
        try:
            handover = await self._handover.collect()
            reply = handover_reply(handover, zone=self._zone, watched=self._watch is not None)
            outcome = "answered"
        finally:
            metrics.QUESTIONS.labels(kind="handover", outcome=outcome).inc()
        log.info("answer.handover", failures=len(handover.failures), gaps=len(handover.gaps))
        await self._remember(event, config, reply, focus=None)
        return reply

    async def _remember(
        self, event: ChatEvent, config: RunnableConfig, reply: Reply, *, focus: str | None
    ) -> None:
        """Write a turn answered outside the graph to the conversation's thread.

        Follow-ups then see it like the graph's own answers; a named job becomes the focus.
        """
        turn: dict[str, Any] = {
            "text": event.text,
            "reply": reply.model_dump(mode="json"),
            "last_kind": IntentKind.UNKNOWN.value,
            "turns": [{"user": event.text, "bot": reply.headline}],
        }
        if focus is not None:
            turn["focus"] = focus
        await self._graph.aupdate_state(config, turn, as_node=IntentKind.UNKNOWN.value)


def _open_question(understander: Understander) -> Handler | None:
    """The LLM agent the understand step brings, if any.

    Read by attribute: importing `agents.llm_understand` here would load the LLM modules in
    every process, configured or not.
    """
    handler: Handler | None = getattr(understander, "open_question", None)
    return handler
