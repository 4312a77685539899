"""Routing runbook progress to the chat platform a request came from.

The runbook service is platform-neutral: it hands each progress reply to one sink with the
requester's platform. Each surface registers its `bot.core.port.ChatPort` when it starts;
the reply is posted in the request's thread through `bot.core.ChatCore.post` (paged and
audited as ``chat.post``). A reply for a platform with no port (the surface is not
configured on this replica) is logged, never lost silently.
"""

from __future__ import annotations

import structlog

from agents.messages import Reply
from bot.core.conversation import ChatCore
from bot.core.port import ChatPort

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
        port = self._ports.get(platform)
        if port is None or self._core is None:
            log.warning(
                "runbook.progress_unrouted",
                request_id=request_id,
                platform=platform,
                headline=reply.headline,
            )
            return
        await self._core.post(
            port,
            channel=channel,
            thread=thread,
            reply=reply,
            correlation={"request_id": request_id},
        )
