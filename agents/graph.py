"""The agent graph: understand, then one answer node per question kind.

This module only wires; the parser lives in `agents.understand`, the answers in
`agents.answers`. One graph serves every conversation: the thread id (platform, channel,
thread) selects the checkpointed state, so follow-ups keep their context across restarts.

The focus rule (what "it" means in the next message), applied by `next_focus`:

- A question about a named subject (typed, or taken from the focus) moves the focus to
  what its answer is about: the one job or job stream it resolved to, or *nothing* when
  the name matched nothing, several things, or a workstation. A follow-up after such an
  answer then asks "Which job?" instead of silently answering about an older subject.
- A question about no subject (help, "what failed tonight?", "what is late?", workstation
  overview, not understood) keeps the focus, unless its answer is about exactly one job
  (a list of one), which becomes the focus.

Questions that need a job and name none ("why did it fail?" with nothing in focus) take
the object linked to the incident whose room the conversation is, when there is one (one
cheap lookup of the place, only then).

A question about several names ("what failed in A and B?", "status of A, B and C") is
answered once per name, each within its own call budget, and the answers are merged
(`agents.answers.common.merge_answers`); "what is running on it?" after "is AGT_LNX02 up?"
lists that workstation's jobs (the workstation is not the focus: a job's follow-ups never
take it for a job). A plain word taken as a name ("thingy") that names nothing is asked
back instead of "No job or job stream named THINGY".

Every answer node reads the engine through its own `agents.answers.budget.BudgetedScheduler`:
a question that needs more calls than its budget stops with an answer that says so, and the
calls each question made are logged (``answer.engine_calls``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import replace
from typing import Any, Protocol

import structlog
from langgraph.graph import END, START, StateGraph

from agents.answers.budget import (
    ENGINE_CALL_BUDGET,
    PLAN_WALK_CALL_BUDGET,
    BudgetedScheduler,
    CallBudgetExceededError,
    budget_answer,
    budget_for,
)
from agents.answers.changes import answer_changes
from agents.answers.common import Answer, AnswerContext, merge_answers
from agents.answers.counts import answer_count
from agents.answers.dependencies import answer_predecessors, answer_successors
from agents.answers.eta import answer_eta
from agents.answers.help import answer_help, answer_unknown
from agents.answers.incidents import Where, answer_incident, linked_subject
from agents.answers.knowledge import answer_knowledge_intent
from agents.answers.late import answer_late
from agents.answers.lists import answer_list
from agents.answers.runbook import answer_runbook
from agents.answers.smalltalk import answer_smalltalk
from agents.answers.status import answer_status
from agents.answers.why import answer_why
from agents.answers.workstations import answer_workstations
from agents.incidents.model import LinkedObject
from agents.intents import NEEDS_SUBJECT, Intent, IntentKind
from agents.messages import Actor, Paragraph, Reply, Tone
from agents.state import ConversationState
from agents.understand import LOOSE_SUBJECT, refers_to_place, understand
from integrations import metrics

__all__ = ["build_graph", "next_focus"]

log = structlog.get_logger(__name__)

Handler = Callable[[AnswerContext, Intent], Awaitable[Answer]]

HANDLERS: dict[IntentKind, Handler] = {
    IntentKind.HELP: answer_help,
    IntentKind.STATUS: answer_status,
    IntentKind.LIST: answer_list,
    IntentKind.WHY: answer_why,
    IntentKind.LATE: answer_late,
    IntentKind.SUCCESSORS: answer_successors,
    IntentKind.PREDECESSORS: answer_predecessors,
    IntentKind.WORKSTATIONS: answer_workstations,
    IntentKind.COUNT: answer_count,
    IntentKind.CHANGES: answer_changes,
    IntentKind.ETA: answer_eta,
    IntentKind.KNOWLEDGE: answer_knowledge_intent,
    IntentKind.SMALLTALK: answer_smalltalk,
    IntentKind.UNKNOWN: answer_unknown,
}
# RUNBOOK and INCIDENT are answered by their own nodes: they need who asks and where, not
# only the intent.


class _Node(Protocol):
    async def __call__(self, state: ConversationState) -> dict[str, Any]: ...


Understander = Callable[[str, str | None, IntentKind | None], Awaitable[Intent]]


async def deterministic_understander(
    text: str, focus: str | None, last_kind: IntentKind | None
) -> Intent:
    """The default understand step: the rule-based parser, no LLM.

    Args:
        text: The message.
        focus: The conversation's subject so far.
        last_kind: The previous question's kind.

    Returns:
        The intent.
    """
    return understand(text, focus=focus, last_kind=last_kind)


def next_focus(previous: str | None, intent: Intent, answer: Answer) -> str | None:
    """The conversation's focus after an answer (the rule is in the module docstring).

    Args:
        previous: The focus before the question.
        intent: The question.
        answer: Its answer.

    Returns:
        The new focus, None when there is none.
    """
    if intent.subject is not None:
        return answer.focus
    return answer.focus or previous


_EXAMPLES: dict[IntentKind, tuple[str, str]] = {
    IntentKind.STATUS: ("status {}", "PAYROLL_EXTRACT"),
    IntentKind.WHY: ("why did {} fail?", "PAYROLL_EXTRACT"),
    IntentKind.SUCCESSORS: ("what depends on {}?", "PAYROLL_EXTRACT"),
    IntentKind.PREDECESSORS: ("predecessors of {}", "PAYROLL_POST"),
    IntentKind.ETA: ("when will {} finish?", "GL_CLOSE"),
}


def _ask_which(kind: IntentKind) -> Answer:
    template, name = _EXAMPLES[kind]
    return Answer(
        reply=Reply(
            headline=f"Which job? Name it, e.g. '{template.format(name)}'.", tone=Tone.WARNING
        )
    )


def _ask_which_linked(kind: IntentKind, links: tuple[LinkedObject, ...]) -> Answer:
    """In an incident's room that links several objects: which of them?"""
    names = ", ".join(link.name for link in links[:8])
    example = _EXAMPLES[kind][0].format(links[0].name.split("#", 1)[-1])
    return Answer(
        reply=Reply(
            headline=f"Which one? This incident links {len(links)}: {names}.",
            tone=Tone.WARNING,
            blocks=(Paragraph(text=f"Name it, e.g. '{example}'."),),
        )
    )


def _where(state: ConversationState) -> Where:
    """The conversation of the message being answered."""
    actor = Actor.model_validate(state["actor"])
    return Where(
        platform=actor.platform.value,
        channel=state.get("channel") or "-",
        thread=state.get("thread"),
        # Without the platform's id there is nothing to recognise a retry by: never share a key.
        event_id=state.get("event_id") or f"unknown-{uuid.uuid4().hex}",
    )


def _turn(
    state: ConversationState, kind: IntentKind, intent: Intent, answer: Answer
) -> dict[str, Any]:
    """The state update of one answered message."""
    return {
        "reply": answer.reply.model_dump(mode="json"),
        "last_kind": kind.value,
        "turns": [{"user": state["text"], "bot": answer.reply.headline}],
        "focus": next_focus(state.get("focus"), intent, answer),
    }


async def _within_budget(
    context: AnswerContext,
    kind: IntentKind,
    intent: Intent,
    answer: Callable[[AnswerContext], Awaitable[Answer]],
    *,
    budget: int,
) -> Answer:
    """Answer one question through its own call budget, and log the calls it made."""
    engine = BudgetedScheduler(context.scheduler, budget=budget)
    exhausted = False
    outcome = "error"  # until an answer comes back
    try:
        answered = await answer(replace(context, scheduler=engine))
        outcome = "answered"
        return answered
    except CallBudgetExceededError:
        exhausted = True
        outcome = "budget_exhausted"
        return budget_answer(intent, calls=engine.calls)
    finally:
        metrics.QUESTIONS.labels(kind=kind.value, outcome=outcome).inc()
        log.info(
            "answer.engine_calls",
            kind=kind.value,
            calls=engine.calls,
            budget=budget,
            exhausted=exhausted,
        )


def _workstation_asked_last(state: ConversationState) -> str | None:
    """The workstation the previous answer was about ("is AGT_LNX02 up?"), if it was found.

    It is not the conversation's focus (a job's follow-ups must not take a workstation for
    a job): only "on it" / "there" in a list or a count refers to it.
    """
    previous, reply = state.get("intent"), state.get("reply")
    if not previous or not reply or previous.get("kind") != IntentKind.WORKSTATIONS.value:
        return None
    # Not found is a warning; a workstation found is up (success) or down (error).
    if reply.get("tone") not in (Tone.SUCCESS.value, Tone.ERROR.value):
        return None
    subject = previous.get("subject")
    return str(subject) if subject else None


def _ask_back_if_unknown(intent: Intent, answer: Answer) -> Answer:
    """A plain word taken as a name ("thingy") that names nothing: ask what was meant.

    A name-shaped word (``PAYROLL_EXTRCT``) keeps the usual "No job or job stream named"
    answer with its suggestions; a plain word was probably never meant as a name.
    """
    word = intent.arguments.get(LOOSE_SUBJECT)
    if word is None or not answer.reply.headline.startswith("No job or job stream named"):
        return answer
    headline = (
        f"I could not find anything called '{word.lower()}' in the current plan. "
        "Which job or job stream did you mean?"
    )
    return Answer(reply=answer.reply.model_copy(update={"headline": headline}))


def _one_per_subject(intent: Intent) -> list[Intent]:
    """The intent for each name and workstation it asks about (itself when it names one)."""
    if intent.more_workstations and intent.workstation is not None:
        return [
            intent.model_copy(update={"workstation": name, "more_workstations": ()})
            for name in (intent.workstation, *intent.more_workstations)
        ]
    if not intent.more_subjects or intent.subject is None:
        return [intent]
    return [
        intent.model_copy(update={"subject": name, "more_subjects": ()})
        for name in (intent.subject, *intent.more_subjects)
    ]


def build_graph(
    *,
    context: AnswerContext,
    understander: Understander = deterministic_understander,
    call_budget: int = ENGINE_CALL_BUDGET,
    plan_walk_call_budget: int = PLAN_WALK_CALL_BUDGET,
    open_question: Handler | None = None,
) -> StateGraph[ConversationState]:
    """Wire the graph (uncompiled: the caller compiles it with its checkpointer).

    Args:
        context: What the answer nodes use (scheduler, name cache, time zone).
        understander: The understand step; the rule-based parser unless an LLM is configured.
        call_budget: Calls to the engine one question may make.
        plan_walk_call_budget: The same for the answers that walk the plan (late, successors).
        open_question: Answers UNKNOWN questions instead of `answer_unknown` (the LLM agent).

    Returns:
        The graph.
    """
    graph: StateGraph[ConversationState] = StateGraph(ConversationState)

    def budget(kind: IntentKind) -> int:
        return budget_for(kind, default=call_budget, plan_walk=plan_walk_call_budget)

    async def understand_node(state: ConversationState) -> dict[str, Any]:
        last = state.get("last_kind")
        intent = await understander(
            state["text"], state.get("focus"), IntentKind(last) if last else None
        )
        place = _workstation_asked_last(state)
        if (
            place is not None
            and intent.kind in (IntentKind.LIST, IntentKind.COUNT)
            and intent.workstation is None
            and refers_to_place(state["text"])
        ):
            # "is AGT_LNX02 up?" then "what is running on it?": the jobs on that workstation.
            intent = intent.model_copy(update={"workstation": place})
        return {"intent": intent.model_dump(mode="json")}

    async def _answer_each(intent: Intent, kind: IntentKind, handler: Handler) -> Answer:
        """The answer, or one per name when the question names several ("A and B")."""
        answers = []
        for one in _one_per_subject(intent):

            async def run(ctx: AnswerContext, one: Intent = one) -> Answer:
                return _ask_back_if_unknown(one, await handler(ctx, one))

            answers.append(await _within_budget(context, kind, one, run, budget=budget(kind)))
        return merge_answers(answers)

    def make_answer_node(kind: IntentKind, handler: Handler) -> _Node:
        async def answer_node(state: ConversationState) -> dict[str, Any]:
            intent = Intent.model_validate(state["intent"])
            answer: Answer | None = None
            if kind in NEEDS_SUBJECT and intent.subject is None:
                # In an incident's room, the object it links is what "it" means.
                links = await linked_subject(context, _where(state))
                jobs = tuple(link for link in links or () if link.kind == "job") or links or ()
                if len(jobs) == 1:
                    intent = intent.model_copy(update={"subject": jobs[0].name, "follow_up": True})
                else:
                    answer = _ask_which_linked(kind, jobs) if jobs else _ask_which(kind)
            if answer is None:
                answer = await _answer_each(intent, kind, handler)
            return _turn(state, kind, intent, answer)

        answer_node.__name__ = f"answer_{kind.value}"
        return answer_node

    async def runbook_node(state: ConversationState) -> dict[str, Any]:
        intent = Intent.model_validate(state["intent"])
        # Who asks is required: a request with an unknown requester could be approved by
        # anyone (the requester is the one person who may not approve it).
        actor = Actor.model_validate(state["actor"])
        answer = await _within_budget(
            context,
            IntentKind.RUNBOOK,
            intent,
            lambda ctx: answer_runbook(
                ctx,
                intent,
                actor=actor,
                channel=state.get("channel") or "-",
                thread=state.get("thread"),
            ),
            budget=budget(IntentKind.RUNBOOK),
        )
        return _turn(state, IntentKind.RUNBOOK, intent, answer)

    async def incident_node(state: ConversationState) -> dict[str, Any]:
        intent = Intent.model_validate(state["intent"])
        actor = Actor.model_validate(state["actor"])
        answer = await _within_budget(
            context,
            IntentKind.INCIDENT,
            intent,
            lambda ctx: answer_incident(ctx, intent, actor=actor, where=_where(state)),
            budget=budget(IntentKind.INCIDENT),
        )
        return _turn(state, IntentKind.INCIDENT, intent, answer)

    graph.add_node("understand", understand_node)
    for kind, handler in HANDLERS.items():
        chosen = open_question if open_question and kind is IntentKind.UNKNOWN else handler
        graph.add_node(kind.value, make_answer_node(kind, chosen))
        graph.add_edge(kind.value, END)
    graph.add_node(IntentKind.RUNBOOK.value, runbook_node)
    graph.add_edge(IntentKind.RUNBOOK.value, END)
    graph.add_node(IntentKind.INCIDENT.value, incident_node)
    graph.add_edge(IntentKind.INCIDENT.value, END)
    graph.add_edge(START, "understand")

    def route(state: ConversationState) -> str:
        return str(state["intent"]["kind"])

    routes: dict[Hashable, str] = {
        kind.value: kind.value for kind in (*HANDLERS, IntentKind.RUNBOOK, IntentKind.INCIDENT)
    }
    graph.add_conditional_edges("understand", route, routes)
    return graph
