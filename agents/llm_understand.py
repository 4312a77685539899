"""The understand step with an LLM: the parser first, the LLM for what the parser cannot read.

"Cannot read" means: no question kind, or a kind that needs a job the parser found no name
for ("what went wrong with the payroll extraction?").

The deterministic parser answers the common questions in microseconds and never fails;
only a message it files as UNKNOWN goes to the LLM, whose JSON is validated into an
`Intent`. Any LLM failure (down, slow, nonsense) falls back to the parser's answer, so
configuring an LLM can only add understanding, never take it away.

With the open-question agent on (`agents.llm_agent.OpenQuestionAgent`, `open_question`),
a message the parser files as UNKNOWN goes straight to it, without the router's call: the
agent's tools give the exact answers the router could pick about the plan (status, why,
predecessors, successors, the forecast, workstations, recent changes; lists and counts
through ``find_jobs``), and its first step can choose one of them, which is then the reply;
greetings and thanks it answers in words. A router call before it would only add a round
trip (a median of 3 LLM calls per open question instead of 2). The intent
then carries the words (``arguments["question"]``). The router still reads what the parser
knew the kind of but found no job for ("what went wrong with the payroll extraction?"):
one call gives the exact answer. When the router files such a message, too, as UNKNOWN,
it goes on to the agent; when the router failed (the LLM is down or slow) it does not: the
agent would only wait for the same LLM again.
"""

from __future__ import annotations

import re

import structlog
from pydantic import ValidationError

from agents.intents import NEEDS_SUBJECT, Intent, IntentKind, ListFilter
from agents.llm_agent import FOCUS, QUESTION, AgentLimits, OpenQuestionAgent
from agents.understand import understand
from integrations.llm import LLMClient, LLMError

__all__ = ["LLMUnderstander"]

log = structlog.get_logger(__name__)

_NAME = re.compile(r"^[A-Z0-9_#.*?@-]{1,80}$")

SYSTEM_PROMPT = f"""You route questions about an HCL Workload Automation (TWS) plan.
Answer with one JSON object and nothing else:
{{"kind": one of {[k.value for k in IntentKind]},
  "subject": the job, job stream or workstation name in UPPER CASE (may contain *), or null,
  "list_filter": one of {[f.value for f in ListFilter]} or null (for kind "list" and "late"),
  "workstation": a workstation name the question narrows to, or null}}
Kinds: status (of a job or job stream), list (jobs by status), why (why a job failed or
what blocks it), late (what is late or at risk), successors (what depends on a job),
predecessors (what a job waits for), workstations, count (how many jobs), changes (what
changed recently), eta (when a job or job stream will finish), knowledge (what a message
code means or how to fix an error; subject: the code), smalltalk (greetings, thanks), help,
unknown (anything else: never invent an action). Never use ordinary words, times or
acronyms (SLA, ETA) as the subject.
If the message refers to "it" or "that job", use the conversation subject given."""


class LLMUnderstander:
    """An `agents.graph.Understander` that consults the LLM only when the parser gives up."""

    def __init__(
        self, *, llm: LLMClient, open_questions: bool = True, limits: AgentLimits | None = None
    ) -> None:
        """Wrap an LLM client.

        Args:
            llm: The configured LLM.
            open_questions: Answer what the router files as UNKNOWN with the agent.
            limits: The agent's bounds (default: `AgentLimits`).
        """
        self._llm = llm
        self._agent = OpenQuestionAgent(llm=llm, limits=limits) if open_questions else None

    @property
    def open_question(self) -> OpenQuestionAgent | None:
        """The agent for UNKNOWN questions (`agents.graph.build_graph`), None when off."""
        return self._agent

    async def __call__(self, text: str, focus: str | None, last_kind: IntentKind | None) -> Intent:
        """Understand one message.

        Args:
            text: The message.
            focus: The conversation's subject so far.
            last_kind: The previous question's kind.

        Returns:
            The parser's intent, or the LLM's when the parser found none.
        """
        parsed = understand(text, focus=focus, last_kind=last_kind)
        missing_subject = parsed.kind in NEEDS_SUBJECT and parsed.subject is None
        if parsed.kind is not IntentKind.UNKNOWN and not missing_subject:
            return parsed
        if parsed.kind is IntentKind.UNKNOWN and self._agent is not None:
            return _for_agent(parsed, parsed, text, focus)
        context = f"Conversation subject: {focus or 'none'}. Previous question kind: {last_kind or 'none'}."
        try:
            answer = await self._llm.complete_json(
                system=SYSTEM_PROMPT, user=f"{context}\nMessage: {text}"
            )
            intent = _to_intent(answer)
            if intent.kind is IntentKind.KNOWLEDGE:
                # The answer searches the corpus with the words asked, as the parser's does.
                intent = intent.model_copy(update={"arguments": {"query": text}})
        except (LLMError, ValidationError, ValueError) as exc:
            log.warning("llm.understand_failed", model=self._llm.model, error=str(exc)[:300])
            return parsed
        log.info("llm.understood", model=self._llm.model, kind=intent.kind.value)
        if intent.kind is IntentKind.UNKNOWN and parsed.kind is not IntentKind.UNKNOWN:
            # The parser knew the kind ("why did it fail?"): its "which job?" beats "unknown".
            return parsed
        if intent.kind is IntentKind.UNKNOWN and self._agent is not None:
            return _for_agent(intent, parsed, text, focus)
        return intent


def _for_agent(intent: Intent, parsed: Intent, text: str, focus: str | None) -> Intent:
    """The UNKNOWN `intent`, carrying the parser's arguments and the words the agent answers."""
    words = {QUESTION: text, **({FOCUS: focus} if focus else {})}
    return intent.model_copy(update={"arguments": {**parsed.arguments, **words}})


def _to_intent(answer: dict[str, object]) -> Intent:
    """Validate the LLM's JSON; names must look like TWS names (no free text passes through)."""
    subject = answer.get("subject")
    workstation = answer.get("workstation")
    for value in (subject, workstation):
        if value is not None and (not isinstance(value, str) or not _NAME.match(value.upper())):
            raise ValueError(f"not a TWS name: {value!r}")
    return Intent(
        kind=IntentKind(str(answer.get("kind", "unknown"))),
        subject=subject.upper() if isinstance(subject, str) else None,
        list_filter=ListFilter(str(answer["list_filter"])) if answer.get("list_filter") else None,
        workstation=workstation.upper() if isinstance(workstation, str) else None,
    )
