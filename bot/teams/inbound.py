"""Translate an inbound Teams message activity into a `ChatEvent`.

In channels and group chats the bot is @mentioned: the mention's text (``<at>Resync</at>``)
is removed using the activity's ``mention`` entities; other people's mentions keep their
name as plain text. Conversation context: ``channel_id`` is the conversation id without
the ``;messageid=`` suffix and ``thread_id`` is the reply chain's root (the ``;messageid=``
value, else ``replyToId``), so each thread is its own conversation.
"""

from __future__ import annotations

import html
import re
from typing import Any, Final

from agents.messages import Actor, ChatEvent
from bot.teams.references import split_conversation_id

__all__ = ["conversation_of", "message_text", "to_chat_event"]

_AT: Final = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG: Final = re.compile(r"<[^>]+>")
_SPACES: Final = re.compile(r"[ \t\u00a0]+")


def message_text(activity: dict[str, Any]) -> str:
    """What the person wrote, without the mention of the bot.

    Args:
        activity: The inbound message activity JSON.

    Returns:
        The text, HTML entities decoded, whitespace collapsed.
    """
    text = str(activity.get("text") or "")
    bot_id = (activity.get("recipient") or {}).get("id")
    for entity in activity.get("entities") or []:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        mentioned = entity.get("mentioned") or {}
        mention_text = entity.get("text")
        if isinstance(mention_text, str) and mention_text and mentioned.get("id") == bot_id:
            text = text.replace(mention_text, " ")
    text = _AT.sub(lambda m: m.group(1), text)  # other people: keep their name
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def conversation_of(activity: dict[str, Any]) -> tuple[str, str | None]:
    """The conversation and thread an activity belongs to.

    Args:
        activity: The inbound activity JSON.

    Returns:
        ``(channel_id, thread_id)``: the conversation id without ``;messageid=``, and the
        reply chain root (``;messageid=`` value or ``replyToId``; None outside threads).
    """
    conversation_id = str((activity.get("conversation") or {}).get("id") or "")
    base, root = split_conversation_id(conversation_id)
    reply_to = activity.get("replyToId")
    thread = root or (reply_to if isinstance(reply_to, str) and reply_to else None)
    return base, thread


def to_chat_event(*, activity: dict[str, Any], actor: Actor) -> ChatEvent:
    """Build the platform-neutral event of a message activity.

    Args:
        activity: The inbound message activity JSON.
        actor: The resolved sender.

    Returns:
        The event (``event_id`` is the activity id).
    """
    channel_id, thread_id = conversation_of(activity)
    return ChatEvent(
        event_id=str(activity.get("id") or ""),
        actor=actor,
        channel_id=channel_id,
        thread_id=thread_id,
        text=message_text(activity),
    )
