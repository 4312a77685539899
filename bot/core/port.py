"""`ChatPort`: what the chat core, incidents and alerts need from a chat platform.

Each platform adapter implements it once (`bot.slack.port.SlackPort`, `bot.teams.port.TeamsPort`);
everything above the adapters (the core, runbook progress, incidents, alerts) talks to a
platform only through it, so Slack and Teams get every feature at once. Every method takes
and returns neutral types: a `Reply` in, a `Posted` reference out. Delivery failures are
the adapter's to log with a hint; methods return None/False instead of raising, except
where the caller must know (creating a channel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from agents.messages import Actor, ChatEvent, Platform, Reply

if TYPE_CHECKING:
    from bot.core.cards import CardVersion

__all__ = ["ChatPort", "ChatPortError", "Posted"]


class ChatPortError(Exception):
    """The platform refused an operation the caller cannot do without (the message says why)."""


@dataclass(frozen=True, slots=True)
class Posted:
    """A message Resync posted, or the place a conversation continues.

    Attributes:
        channel: Channel, chat or conversation id.
        message_id: The message (Slack ``ts``, Teams activity id).
        thread: The thread it is in (its root), None at top level.
    """

    channel: str
    message_id: str
    thread: str | None = None


class ChatPort(Protocol):
    """One chat platform, as the core sees it."""

    @property
    def platform(self) -> Platform:
        """Which platform this is."""
        ...

    @property
    def verified(self) -> bool:
        """Whether senders are authenticated (False: Teams local mode; no approvals then)."""
        ...

    async def acknowledge(self, event: ChatEvent) -> Posted | None:
        """Show that an answer is coming (Slack: a "Looking up…" message to replace)."""
        ...

    async def reply(
        self, event: ChatEvent, reply: Reply, *, placeholder: Posted | None
    ) -> Posted | None:
        """Answer a message where it was asked (replacing the placeholder when there is one).

        Returns:
            Where the answer is (``message_id`` "" when it went privately, e.g. through a
            Slack ``response_url``), or None when it could not be delivered.
        """
        ...

    async def replace(
        self, message: Posted, reply: Reply, *, version: CardVersion | None = None
    ) -> bool:
        """Replace a posted message for everyone (e.g. an approval card after a click).

        Args:
            message: The message.
            reply: What it shows from now on.
            version: When given, the replacement is sent (and every retry of it) only while
                no equal or newer version is shown (`bot.core.cards`).

        Returns:
            True when the message shows this reply, or a newer version of it, now.
        """
        ...

    async def whisper(
        self, *, actor: Actor, channel: str, thread: str | None, reply: Reply
    ) -> None:
        """Tell one person something only they see (Slack ephemeral; Teams: the click's card)."""
        ...

    async def post_in_thread(
        self, *, channel: str, thread: str | None, reply: Reply
    ) -> Posted | None:
        """Post for everyone in a thread (top level when ``thread`` is None)."""
        ...

    async def post_to_channel(self, *, channel: str, reply: Reply) -> Posted | None:
        """Start a new top-level post in a channel (proactive: alerts, announcements)."""
        ...

    async def create_channel(
        self, *, name: str, topic: str, members: Sequence[str], parent: str | None
    ) -> Posted:
        """Create a place for an incident (Slack: a channel; Teams: a thread in ``parent``).

        Raises:
            ChatPortError: The platform refused (name taken, missing scope, no reference).
        """
        ...

    async def upload_image(
        self, *, channel: str, thread: str | None, png: bytes, title: str
    ) -> Posted | None:
        """Show a PNG (a chart) in a thread."""
        ...
