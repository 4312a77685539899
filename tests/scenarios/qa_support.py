"""Shared pieces of the end-to-end question tests (imported by name: tests have no packages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agents.messages import Actor, ChatEvent, Platform, Reply
from bot.core.dispatcher import Dispatcher

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
API_KEY = "test-api-key"

Ask = Callable[..., Awaitable[Reply]]


class RecordingAudit:
    """Keeps what the dispatcher records (the real log is tested in tests/integrations/audit)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def record(self, **fields: Any) -> None:
        self.records.append(fields)


async def no_sleep(_: float) -> None:
    return None


def make_asker(dispatcher: Dispatcher) -> Ask:
    actor = Actor(platform=Platform.SLACK, user_id="U123", display_name="Ops")

    async def ask(text: str, *, channel: str = "C1", thread: str | None = "t1") -> Reply:
        event = ChatEvent(
            event_id=f"e-{text}", actor=actor, channel_id=channel, thread_id=thread, text=text
        )
        return await dispatcher.handle(event)

    return ask
