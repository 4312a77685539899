"""Greetings, thanks and goodbyes: a short, friendly answer that says what to ask."""

from __future__ import annotations

from agents.answers.common import Answer, AnswerContext
from agents.intents import Intent
from agents.messages import Reply

__all__ = ["answer_smalltalk"]

_SAY: dict[str, str] = {
    "hello": "Hello. Ask me about tonight's plan, e.g. 'what failed tonight?' or 'help'.",
    "thanks": "You're welcome.",
    "ok": "OK. Ask me anything about the plan when you need to.",
    "bye": "Bye. I'm here whenever you need the plan.",
}


async def answer_smalltalk(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer a greeting, thanks or goodbye in one line (nothing is read from the engine).

    Args:
        ctx: The answer context (unused).
        intent: A SMALLTALK intent (``arguments["say"]``).

    Returns:
        The answer.
    """
    del ctx
    return Answer(reply=Reply(headline=_SAY.get(intent.arguments.get("say", ""), _SAY["hello"])))
