"""Runbook progress that happens in an incident's room goes on the incident's timeline too.

The runbook service reports progress to one sink with the request's platform, channel and
thread (`bot.progress.ProgressRouter`). This sink forwards every reply there first, then,
when that place is an incident's room (its Slack channel, or its Teams thread), appends the
reply's headline to that incident's timeline, so nobody types it twice. A timeline failure
is logged and never stops a run.
"""

from __future__ import annotations

import hashlib

import structlog

from agents.incidents import IncidentService
from agents.messages import Reply
from agents.runbooks.journal import CardPlace
from agents.runbooks.ports import ProgressSink

__all__ = ["IncidentProgress"]

log = structlog.get_logger(__name__)


class IncidentProgress:
    """A progress sink: the chat first, then the timeline of the incident in that room."""

    def __init__(self, sink: ProgressSink, service: IncidentService) -> None:
        """Wrap ``sink``.

        Args:
            sink: Posts progress in the request's thread.
            service: Finds the incident of a place and records the event.
        """
        self._sink = sink
        self._service = service

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        """Post the reply, then note it on the incident whose room this is, if any."""
        await self._sink(
            reply, request_id=request_id, platform=platform, channel=channel, thread=thread
        )
        if not channel:
            return
        try:
            incident = await self._service.find_by_place(
                platform=platform, channel=channel, thread=thread
            )
            if incident is None and thread is not None:
                # Slack rooms are whole channels: a request's thread lies inside one.
                incident = await self._service.find_by_place(platform=platform, channel=channel)
            if incident is None:
                return
            # One timeline entry per distinct message of a request, however often it is sent.
            digest = hashlib.sha256(reply.headline.encode()).hexdigest()[:16]
            await self._service.record_event(
                incident.id,
                kind="runbook",
                text=reply.headline,
                data={"request_id": request_id},
                key=f"runbook:{request_id}:{digest}",
            )
        except Exception:  # the run goes on; the timeline gap is in the log
            log.exception("incidents.timeline_failed", request_id=request_id)

    async def replace_card(
        self, reply: Reply, *, request_id: str, card: CardPlace, version: int
    ) -> bool:
        """Replace the request's approval card (passed through unchanged)."""
        return await self._sink.replace_card(
            reply, request_id=request_id, card=card, version=version
        )
