"""Routing runbook progress to the chat platform a request came from.

The runbook service is platform-neutral: it hands each progress reply to one sink with the
requester's platform. Surfaces register a poster for their platform when they start; a
reply for a platform with no poster (e.g. the surface is not configured on this replica)
is logged, never lost silently.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from agents.messages import Reply

__all__ = ["ProgressRouter", "ThreadPoster"]

log = structlog.get_logger(__name__)


class ThreadPoster(Protocol):
    """Posts a reply into a channel's thread on one platform."""

    async def __call__(
        self, reply: Reply, *, request_id: str, channel: str | None, thread: str | None
    ) -> None:
        """Post one reply."""
        ...


class ProgressRouter:
    """A runbook progress sink that forwards to the requester's platform."""

    def __init__(self) -> None:
        """Create a router with no platforms yet."""
        self._posters: dict[str, ThreadPoster] = {}

    def register(self, platform: str, poster: ThreadPoster) -> None:
        """Route a platform's progress to ``poster``.

        Args:
            platform: ``slack``, ``teams`` or ``console``.
            poster: Posts into that platform's threads.
        """
        self._posters[platform] = poster

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        """Forward one progress reply to the requester's platform."""
        poster = self._posters.get(platform)
        if poster is None:
            log.warning(
                "runbook.progress_unrouted",
                request_id=request_id,
                platform=platform,
                headline=reply.headline,
            )
            return
        await poster(reply, request_id=request_id, channel=channel, thread=thread)
