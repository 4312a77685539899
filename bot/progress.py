"""Routing runbook progress to the chat platform a request came from.

The runbook service is platform-neutral: it hands each progress reply to one sink with the
requester's platform. Each surface registers its `bot.core.port.ChatPort` when it starts;
the reply is posted in the request's thread through `bot.core.ChatCore.post` (paged and
audited as ``chat.post``). A reply for a platform with no port (the surface is not
configured on this replica) is logged, never lost silently.

The sink also replaces a request's approval card (`ProgressRouter.replace_card`) on the
platform the card is on, through `bot.core.ChatCore.replace_card` and `ChatPort.replace`:
the replica that finishes a run (a recovered one included) shows the final card, and the
card's version keeps a late or retried replacement from showing an older state.
"""

from __future__ import annotations

import structlog

from agents.messages import Reply
from agents.runbooks.journal import CardPlace
from bot.core.conversation import ChatCore
from bot.core.port import ChatPort, Posted

__all__ = ["ProgressRouter"]

log = structlog.get_logger(__name__)


class ProgressRouter:
    """A runbook progress sink that forwards to the requester's platform."""

    def __init__(self) -> None:
        """Create a router with no platforms yet (see `use` and `register`)."""
        self._ports: dict[str, ChatPort] = {}
        self._core: ChatCore | None = None

    def use(self, core: ChatCore) -> None:
        """Post through ``core`` (built after the runbook service, which needs this router).

        Args:
            core: The chat core.
        """
        self._core = core

    def register(self, port: ChatPort) -> None:
        """Route a platform's progress to ``port``.

        Args:
            port: The platform's port.
        """
        self._ports[port.platform.value] = port

    def _route(self, platform: str, request_id: str, headline: str) -> ChatPort | None:
        port = self._ports.get(platform)
        if port is None or self._core is None:
            log.warning(
                "runbook.progress_unrouted",
                request_id=request_id,
                platform=platform,
                headline=headline,
                hint="that platform is not enabled on this replica (or not started yet)",
            )
            return None
        return port

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        """Forward one progress reply to the requester's thread."""
        port = self._route(platform, request_id, reply.headline)
        if port is None or self._core is None:
            return
        await self._core.post(
            port,
            channel=channel,
            thread=thread,
            reply=reply,
            correlation={"request_id": request_id},
        )

    async def replace_card(
        self, reply: Reply, *, request_id: str, card: CardPlace, version: int
    ) -> bool:
        """Replace the request's approval card for everyone, unless it shows a newer state.

        Args:
            reply: The card as it stands now.
            request_id: The request (log correlation).
            card: Where the card is.
            version: The request's revision the card shows.

        Returns:
            True when the card shows this state (or a newer one) now.
        """
        port = self._route(card.platform, request_id, reply.headline)
        if port is None or self._core is None:
            return False
        message = Posted(channel=card.channel, message_id=card.message_id, thread=card.thread)
        return await self._core.replace_card(
            port,
            message=message,
            reply=reply,
            version=version,
            correlation={"request_id": request_id},
        )
