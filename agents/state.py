"""The state one conversation thread keeps between messages (checkpointed by LangGraph).

Only JSON-ready values live here, so any checkpointer (SQLite, PostgreSQL) stores them
without custom serialisers.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

__all__ = ["MAX_TURNS", "ConversationState", "keep_recent"]

MAX_TURNS = 20


def keep_recent(
    old: list[dict[str, str]] | None, new: list[dict[str, str]] | None
) -> list[dict[str, str]]:
    """Reducer for ``turns``: append, keep the last `MAX_TURNS` (a thread can run all night).

    Args:
        old: Turns so far.
        new: Turns to add.

    Returns:
        The most recent turns.
    """
    return [*(old or []), *(new or [])][-MAX_TURNS:]


class ConversationState(TypedDict, total=False):
    """One thread's state.

    Attributes:
        text: The message being answered.
        intent: The parsed `Intent` (as JSON).
        focus: The job or job stream the conversation is about, for follow-ups.
        last_kind: The previous question's kind.
        reply: The `Reply` to send (as JSON).
        turns: Recent (question, headline) pairs.
        actor: Who wrote the message being answered (an `Actor` as JSON).
        channel: Where it was written.
        thread: Its thread, if any.
        event_id: The platform's id of the message (incident declarations are keyed on it,
            so a retried delivery declares nothing new).
    """

    text: str
    intent: dict[str, Any]
    focus: str | None
    last_kind: str | None
    reply: dict[str, Any]
    turns: Annotated[list[dict[str, str]], keep_recent]
    actor: dict[str, Any]
    channel: str
    thread: str | None
    event_id: str
