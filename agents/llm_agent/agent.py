"""`OpenQuestionAgent`: the answer to what neither the parser nor the LLM router could file.

Only with ``RESYNC_LLM_MODEL`` set, and only for UNKNOWN questions the router was asked
about and answered (`agents.llm_understand.LLMUnderstander` puts the words under
`QUESTION`): the agent runs its bounded tool loop (`agents.llm_agent.loop`) over read-only
tools and the checked draft becomes the reply (`agents.llm_agent.guard`).

An LLM that fails, times out or gives nothing usable leaves the answer a person would get
without it (`agents.answers.help.answer_unknown`): configuring an LLM never makes an
answer worse. Every question logs ``llm.agent`` (steps, tool calls, LLM calls, tokens).
"""

from __future__ import annotations

import asyncio
from typing import Final

import structlog

from agents.answers.common import Answer, AnswerContext
from agents.answers.help import answer_unknown
from agents.intents import Intent
from agents.llm_agent.guard import checked_reply
from agents.llm_agent.loop import AgentLimits, run_loop
from agents.llm_agent.tools import ToolBox
from agents.messages import Context
from integrations.llm import LLMClient, LLMError

__all__ = ["FOCUS", "QUESTION", "OpenQuestionAgent"]

log = structlog.get_logger(__name__)

QUESTION: Final = "question"
"""`Intent.arguments` key of an UNKNOWN intent: the words, when the agent may answer them."""
FOCUS: Final = "focus"
"""`Intent.arguments` key: the conversation's subject when the question was asked."""


class OpenQuestionAgent:
    """A `agents.graph.Handler` for UNKNOWN questions: the bounded LLM agent."""

    def __init__(
        self, *, llm: LLMClient, limits: AgentLimits | None = None, time_limit_seconds: float = 25.0
    ) -> None:
        """Configure the agent.

        Args:
            llm: The LLM.
            limits: The loop's bounds (defaults: `AgentLimits`).
            time_limit_seconds: The whole loop's time limit; past it, the usual answer. With
                the router's call (``RESYNC_LLM_TIMEOUT_SECONDS``) before it, it keeps the
                question inside the dispatcher's 60 s answer limit.
        """
        self._llm = llm
        self._limits = limits or AgentLimits()
        self._time_limit = time_limit_seconds

    @property
    def limits(self) -> AgentLimits:
        """The loop's bounds."""
        return self._limits

    async def __call__(self, ctx: AnswerContext, intent: Intent) -> Answer:
        """Answer an UNKNOWN question with the agent, or as without an LLM.

        Args:
            ctx: The question's context (its scheduler carries the call budget).
            intent: The UNKNOWN intent; without `QUESTION` the usual answer is given.

        Returns:
            The checked answer (no focus: it may name several subjects), or the one answer
            the model chose in its first step (with that answer's focus).
        """
        question = intent.arguments.get(QUESTION)
        if not question:
            return await answer_unknown(ctx, intent)
        toolbox = ToolBox(ctx)
        calls_before, tokens_before = self._llm.usage.calls, self._llm.usage.tokens
        try:
            async with asyncio.timeout(self._time_limit):
                outcome = await run_loop(
                    llm=self._llm,
                    toolbox=toolbox,
                    question=question,
                    focus=intent.arguments.get(FOCUS),
                    limits=self._limits,
                )
        except (LLMError, TimeoutError) as exc:
            log.warning(
                "llm.agent_failed", model=self._llm.model, error=str(exc)[:300] or "timeout"
            )
            return await answer_unknown(ctx, intent)
        if outcome.direct is not None:
            note = Context(items=(f"Question read by the LLM ({self._llm.model})",))
            reply = outcome.direct.reply.model_copy(
                update={"blocks": (*outcome.direct.reply.blocks, note)}
            )
            focus = outcome.direct.focus
        else:
            reply, focus = await checked_reply(toolbox.context, outcome.draft), None
        log.info(
            "llm.agent",
            model=self._llm.model,
            steps=outcome.steps,
            tool_calls=outcome.tool_calls,
            llm_calls=self._llm.usage.calls - calls_before,
            tokens=self._llm.usage.tokens - tokens_before,
            stopped=outcome.draft.stop_note is not None,
            planted=len(outcome.draft.planted),
            direct=outcome.direct is not None,
        )
        return Answer(reply=reply, focus=focus)
