"""`Dispatcher`: the one door into the agents, for messages and for clicks, on every surface.

It asks under a time limit, turns failures into words (never a traceback in the chat,
never a hang), logs one structured line per question or click, and records it in the
audit log. The audit policy (`bot.core.audit`): a failed audit write never loses the
person's answer; it raises an alarm instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Final, Protocol

import structlog

from agents.messages import (
    Actions,
    Actor,
    ChatEvent,
    Click,
    ClickHandler,
    ClickOutcome,
    Platform,
    Reply,
    is_runbook_action,
)
from bot.core import texts
from bot.core.audit import record_chat_event
from bot.core.cards import CardWatcher
from bot.core.port import Posted
from bot.errors import reply_for_error
from integrations import metrics
from integrations.audit.sink import AuditSink
from integrations.tws.errors import TWSError

__all__ = ["ANSWER_TIMEOUT_SECONDS", "CLICK_TIMEOUT_SECONDS", "Asker", "Dispatcher"]

log = structlog.get_logger(__name__)

ANSWER_TIMEOUT_SECONDS: Final = 60.0
CLICK_TIMEOUT_SECONDS: Final = 60.0


class Asker(Protocol):
    """Something that answers a chat event (the agent graph)."""

    async def ask(self, event: ChatEvent) -> Reply:
        """Answer one message."""
        ...


class Dispatcher:
    """Answers chat events and decides clicks for any surface, safely."""

    def __init__(
        self,
        *,
        assistant: Asker,
        audit: AuditSink | None,
        clicks: Mapping[str, ClickHandler] | None = None,
        answer_timeout_seconds: float = ANSWER_TIMEOUT_SECONDS,
        click_timeout_seconds: float = CLICK_TIMEOUT_SECONDS,
    ) -> None:
        """Create the dispatcher.

        Args:
            assistant: Answers questions.
            audit: Where every question and click is recorded.
            clicks: Click handlers by action-id prefix (e.g. ``runbook.``).
            answer_timeout_seconds: Longest a question may take.
            click_timeout_seconds: Longest deciding a click may take (a runbook's execution
                runs in its own supervised task, not inside the click).
        """
        self._assistant = assistant
        self._audit = audit
        self._clicks: dict[str, ClickHandler] = dict(clicks or {})
        self._timeout = answer_timeout_seconds
        self._click_timeout = click_timeout_seconds

    def route_clicks(self, prefix: str, handler: ClickHandler) -> None:
        """Send clicks whose action id starts with ``prefix`` to ``handler``.

        Args:
            prefix: E.g. ``runbook.``.
            handler: Decides such clicks.
        """
        self._clicks[prefix] = handler

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
        except asyncio.CancelledError:
            # Ctrl-C in the terminal, or a shutdown past its grace: no answer, but the
            # question was asked and is recorded like any other (then the cancel goes on).
            await self._cancelled(event, started)
            raise
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
        metrics.ANSWER_SECONDS.labels(platform=event.actor.platform.value, outcome=outcome).observe(
            time.perf_counter() - started
        )
        await self._done(
            "question",
            outcome=outcome,
            started=started,
            actor=event.actor,
            place=(event.channel_id, event.thread_id),
            parameters={"text": event.text, "answer": reply.headline},
            correlation={"event_id": event.event_id},
            logged={"conversation": event.conversation_key},
        )
        return reply

    async def _cancelled(self, event: ChatEvent, started: float) -> None:
        """The log line and audit record of a question cancelled before its answer."""
        metrics.ANSWER_SECONDS.labels(
            platform=event.actor.platform.value, outcome="cancelled"
        ).observe(time.perf_counter() - started)
        # Shielded: the record is written even when the cancel is repeated meanwhile.
        await asyncio.shield(
            self._done(
                "question",
                outcome="cancelled",
                started=started,
                actor=event.actor,
                place=(event.channel_id, event.thread_id),
                parameters={"text": event.text, "answer": None},
                correlation={"event_id": event.event_id},
                logged={"conversation": event.conversation_key},
            )
        )

    def _handler(self, action_id: str) -> ClickHandler | None:
        for prefix, handler in self._clicks.items():
            if action_id.startswith(prefix):
                return handler
        return None

    async def card_posted(self, *, platform: Platform, reply: Reply, posted: Posted) -> None:
        """Tell the handlers of a posted reply's buttons where it is (`CardWatcher`).

        A runbook request learns where its approval card is this way, so the replica that
        finishes the run can replace it. A watcher's failure is logged, never raised: the
        reply is delivered already.

        Args:
            platform: Where it was posted.
            reply: The reply (its buttons name the handlers).
            posted: Where it is.
        """
        told: set[int] = set()
        for block in reply.blocks:
            if not isinstance(block, Actions):
                continue
            for button in block.buttons:
                handler = self._handler(button.action_id)
                if not isinstance(handler, CardWatcher) or id(handler) in told:
                    continue
                told.add(id(handler))
                try:
                    await handler.card_posted(platform=platform, reply=reply, posted=posted)
                except Exception:  # the card is posted; only its later updates may suffer
                    log.exception("chat.card_watcher_failed", action_id=button.action_id)

    async def handle_click(self, click: Click) -> ClickOutcome:
        """Decide one click; never raises for a failure a person should hear about.

        Args:
            click: The click, as an adapter built it (its value is still untrusted).

        Returns:
            What to show: the clicker's note, the updated message, a thread reply.
        """
        started = time.perf_counter()
        handler = self._handler(click.action_id)
        outcome = "decided"
        shown: ClickOutcome | None
        if handler is None:
            outcome = "no_handler"
            refusal = texts.APPROVALS_DISABLED
            if not is_runbook_action(click.action_id):
                refusal = texts.BUTTON_NOT_HERE
            shown = ClickOutcome(reply_for_clicker=refusal)
        else:
            try:
                async with asyncio.timeout(self._click_timeout):
                    shown = await handler(click)
            except Exception:  # includes TimeoutError: the one crash text, trace in the log
                outcome = "error"
                log.exception(
                    "click.crashed", action_id=click.action_id, click_id=click.decision_id
                )
                shown = ClickOutcome(reply_for_clicker=texts.CLICK_FAILED)
        shown = shown or ClickOutcome()
        handler_name = click.action_id.split(".", 1)[0] if handler is not None else "none"
        metrics.CLICKS.labels(handler=handler_name, outcome=outcome).inc()
        note = shown.reply_for_clicker.headline if shown.reply_for_clicker else None
        await self._done(
            "click",
            outcome=outcome,
            started=started,
            actor=click.actor,
            place=(click.channel_id, click.thread_id),
            parameters={"action_id": click.action_id, "note": note},
            correlation={"click_id": click.decision_id},
            logged={"action_id": click.action_id},
        )
        return shown

    async def _done(
        self,
        action: str,
        *,
        outcome: str,
        started: float,
        actor: Actor,
        place: tuple[str, str | None],
        parameters: dict[str, object],
        correlation: dict[str, str],
        logged: dict[str, str],
    ) -> None:
        """One log line and one audit record for a question or a click, with its latency."""
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        # The log event names operators already filter on: question.answered, click.handled.
        event = "question.answered" if action == "question" else f"{action}.handled"
        log.info(
            event, actor=actor.identity, outcome=outcome, ms=elapsed_ms, **correlation, **logged
        )
        await record_chat_event(
            self._audit,
            action=action,
            outcome=outcome,
            platform=actor.platform.value,
            actor=actor,
            channel=place[0],
            thread=place[1],
            parameters={**parameters, "ms": elapsed_ms},
            correlation=correlation,
        )
