"""`Dispatcher`: every surface (terminal, Slack, Teams) hands a `ChatEvent` here.

It asks the assistant under a time limit, turns failures into words (never a traceback
in the chat, never a hang), logs one structured line per question, and records the
question and the answer in the audit log.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import structlog

from agents.messages import ChatEvent, Reply
from bot.errors import reply_for_error
from integrations.audit.sink import AuditSink
from integrations.tws.errors import TWSError

__all__ = ["Asker", "Dispatcher"]

log = structlog.get_logger(__name__)


class Asker(Protocol):
    """Something that answers a chat event (the agent graph)."""

    async def ask(self, event: ChatEvent) -> Reply:
        """Answer one message."""
        ...


class Dispatcher:
    """Answers chat events for any surface, safely."""

    def __init__(
        self, *, assistant: Asker, audit: AuditSink | None, answer_timeout_seconds: float = 60.0
    ) -> None:
        self._assistant = assistant
        self._audit = audit
        self._timeout = answer_timeout_seconds

    async def handle(self, event: ChatEvent) -> Reply:
        """Answer one message; never raises for a failure a person should hear about.

        Args:
            event: The message.

        Returns:
            The answer, or a reply that says what went wrong and what to do.
        """
        started = time.perf_counter()
        outcome = "answered"
        try:
            async with asyncio.timeout(self._timeout):
                reply = await self._assistant.ask(event)
        except (TWSError, TimeoutError) as exc:
            outcome = "failed"
            log.warning(
                "question.failed",
                error=type(exc).__name__,
                detail=str(exc) or f"no answer within {self._timeout:g} s",
                conversation=event.conversation_key,
                event_id=event.event_id,
            )
            reply = reply_for_error(exc)
        except Exception as exc:  # a bug must still get a reply, and a log line with the trace
            outcome = "error"
            log.exception(
                "question.crashed", conversation=event.conversation_key, event_id=event.event_id
            )
            reply = reply_for_error(exc)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info(
            "question.answered",
            conversation=event.conversation_key,
            event_id=event.event_id,
            actor=event.actor.identity,
            outcome=outcome,
            ms=elapsed_ms,
        )
        if self._audit is not None:
            await self._audit.record(
                action="question",
                outcome=outcome,
                actor_id=event.actor.user_id,
                actor_identity=event.actor.identity,
                platform=event.actor.platform.value,
                channel=event.channel_id,
                thread=event.thread_id,
                parameters={"text": event.text, "answer": reply.headline, "ms": elapsed_ms},
                correlation={"event_id": event.event_id},
            )
        return reply
