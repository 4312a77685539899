"""The platform-neutral message model: what comes in (`ChatEvent`) and what goes out (`Reply`).

Adapters translate Slack, Teams and terminal input into `ChatEvent` and render `Reply` back
(house rule 1). A `Reply` holds plain text only, never markup: every renderer escapes for
its surface, so a job name or a log line can never smuggle a mention or a link.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RUNBOOK_ACTION_PREFIX",
    "Actions",
    "Actor",
    "Block",
    "Button",
    "ChatEvent",
    "Click",
    "ClickHandler",
    "ClickOutcome",
    "Context",
    "Fields",
    "Image",
    "Paragraph",
    "Platform",
    "Preformatted",
    "Reply",
    "Table",
    "Tone",
    "is_runbook_action",
]


class Platform(StrEnum):
    """Where a conversation happens."""

    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Actor(_Model):
    """A person talking to Resync.

    Attributes:
        platform: Where they talk from.
        user_id: Their id on that platform (Slack ``U...``, Teams AAD object id).
        display_name: What to call them.
        email: Their e-mail or UPN, when the platform told it.
    """

    platform: Platform
    user_id: str
    display_name: str
    email: str | None = None

    @property
    def identity(self) -> str:
        """The resolved identity that audit and approvals use: e-mail, else platform:user."""
        return self.email.lower() if self.email else f"{self.platform.value}:{self.user_id}"


class ChatEvent(_Model):
    """One message from a person.

    Attributes:
        event_id: The platform's id of the delivery (dedupe key).
        actor: Who wrote it.
        channel_id: Channel, chat or DM id.
        thread_id: Thread (Slack ``thread_ts``, Teams reply chain); None at top level.
        text: What they wrote, mentions of the bot removed.
        received_at: Server clock at arrival.
    """

    event_id: str
    actor: Actor
    channel_id: str
    thread_id: str | None = None
    text: str
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def conversation_key(self) -> str:
        """``platform:channel:thread``: one agent thread per conversation."""
        return f"{self.actor.platform.value}:{self.channel_id}:{self.thread_id or '-'}"


class Tone(StrEnum):
    """How a reply should look: neutral, good news, needs attention, failed."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class Paragraph(_Model):
    """Plain text; newlines are kept."""

    kind: Literal["paragraph"] = "paragraph"
    text: str


class Fields(_Model):
    """Label/value pairs shown side by side."""

    kind: Literal["fields"] = "fields"
    items: tuple[tuple[str, str], ...]


class Table(_Model):
    """A compact table.

    Attributes:
        columns: Column headings.
        rows: Cells as text, one tuple per row, each as long as ``columns``.
        total: How many rows exist in all, when ``rows`` is one page of more.
    """

    kind: Literal["table"] = "table"
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int | None = None


class Preformatted(_Model):
    """Monospaced text, e.g. lines of a job log."""

    kind: Literal["preformatted"] = "preformatted"
    text: str


class Context(_Model):
    """Small print: as-of time, data source."""

    kind: Literal["context"] = "context"
    items: tuple[str, ...]


class Button(_Model):
    """A button whose click comes back as a decision.

    Attributes:
        action_id: What the click means (e.g. ``approval.approve``).
        label: What the button says.
        value: Opaque payload the handler checks (never trusted as-is).
        style: ``primary``, ``danger`` or None.
    """

    action_id: str
    label: str
    value: str
    style: Literal["primary", "danger"] | None = None


class Actions(_Model):
    """A row of buttons."""

    kind: Literal["actions"] = "actions"
    buttons: tuple[Button, ...]


class Image(_Model):
    """A small PNG (a chart), kept as base64 so a reply stays JSON (stores, card records).

    Renderers that cannot show it inline (Slack blocks) skip it; the sender uploads it
    instead. Build one with `Image.of`.

    Attributes:
        data: The PNG, base64-encoded.
        alt: What it shows, for screen readers and text surfaces (untrusted: escaped).
    """

    kind: Literal["image"] = "image"
    data: str
    alt: str

    @classmethod
    def of(cls, png: bytes, *, alt: str) -> Image:
        """An image block of ``png`` bytes."""
        return cls(data=base64.b64encode(png).decode("ascii"), alt=alt)

    @property
    def png(self) -> bytes:
        """The PNG bytes."""
        return base64.b64decode(self.data)


Block = Annotated[
    Paragraph | Fields | Table | Preformatted | Context | Actions | Image,
    Field(discriminator="kind"),
]


class Reply(_Model):
    """What Resync says back, before rendering.

    Attributes:
        headline: One line that answers the question.
        tone: How it should look.
        blocks: The details, in order.
    """

    headline: str
    tone: Tone = Tone.INFO
    blocks: tuple[Block, ...] = ()

    def plain_text(self) -> str:
        """A plain-text fallback (notifications, Teams ``text``, logs of what was said)."""
        parts = [self.headline]
        for block in self.blocks:
            if isinstance(block, Paragraph | Preformatted):
                parts.append(block.text)
            elif isinstance(block, Fields):
                parts.append("\n".join(f"{label}: {value}" for label, value in block.items))
            elif isinstance(block, Table):
                parts.append(" | ".join(block.columns))
                parts.extend(" | ".join(row) for row in block.rows)
            elif isinstance(block, Context):
                parts.append(" · ".join(block.items))
        return "\n".join(parts)


RUNBOOK_ACTION_PREFIX: Final = "runbook."
"""Buttons whose action id starts with this are decided by the handler, click by click."""


def is_runbook_action(action_id: str) -> bool:
    """Whether a button belongs to the runbook approval flow.

    Such clicks are never "first click wins": every distinct click reaches the handler, and
    only the handler's answer changes the card.

    Args:
        action_id: The clicked button's action id.

    Returns:
        True for ``runbook.approve``, ``runbook.reject``, ``runbook.dry_run`` (and any other
        ``runbook.*`` id).
    """
    return action_id.startswith(RUNBOOK_ACTION_PREFIX)


class Click(BaseModel):
    """Someone clicked a button.

    Attributes:
        decision_id: The platform's id of the click (dedupe key: Slack trigger and action
            timestamp, Teams activity id).
        action_id: The button's action id (what the click means, e.g. ``runbook.approve``).
        value: The button's value (opaque; the handler checks it, never trusts it).
        label: What the button said.
        actor: Who clicked.
        channel_id: Where the message is (Teams: the conversation id without
            ``;messageid=``).
        thread_id: Thread of the message (its root), None at top level.
        message_id: The message that held the button (Slack ``ts``, Teams activity id).
        decided_at: When the click arrived (server clock).
    """

    model_config = ConfigDict(frozen=True)

    decision_id: str
    action_id: str
    value: str
    label: str
    actor: Actor
    channel_id: str
    thread_id: str | None = None
    message_id: str | None = None
    decided_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def verb(self) -> str:
        """The last dotted part of the action id: ``runbook.approve`` -> ``approve``."""
        return self.action_id.rsplit(".", 1)[-1]


class ClickOutcome(BaseModel):
    """What a surface shows after a click; every part is optional.

    Attributes:
        reply_for_clicker: A note only the clicker sees (Slack ephemeral message, Teams
            invoke response), e.g. "You cannot approve your own request".
        updated_message: Replaces the clicked card for everyone (Slack ``chat.update``,
            Teams invoke response and activity update).
        thread_reply: Posted in the card's thread for everyone.
    """

    model_config = ConfigDict(frozen=True)

    reply_for_clicker: Reply | None = None
    updated_message: Reply | None = None
    thread_reply: Reply | None = None


ClickHandler = Callable[[Click], Awaitable[ClickOutcome | None]]
"""Receives decisions; None means "nothing to show"."""
