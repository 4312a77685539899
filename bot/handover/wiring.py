"""Wiring the handover into a process: the desk chat asks, and the scheduled poster.

``bot.app`` builds the desk once (`build_handover_desk`) and hands it to the `Assistant`
(``handover=``); ``bot.background`` starts the poster (`start_handover`) when shift times
and a handover channel are set (``RESYNC_HANDOVER_TIMES``, ``RESYNC_HANDOVER_SLACK_CHANNEL``,
``RESYNC_HANDOVER_TEAMS_CHANNEL``). Every replica runs the poster; the store decides which
one posts each shift change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import structlog

from agents.answers.watch import WatchDesk
from agents.handover import AuditReader, HandoverDesk, OpenIncidents, RequestBook
from agents.messages import Platform
from bot.core.port import ChatPort
from bot.handover.poster import HandoverPoster, Poster
from config.handover_settings import HandoverSettings
from integrations.audit.sink import AuditSink
from integrations.store import Store
from integrations.tws.scheduler import Scheduler

__all__ = ["build_handover_desk", "start_handover"]

log = structlog.get_logger(__name__)


def build_handover_desk(
    settings: HandoverSettings,
    *,
    scheduler: Scheduler,
    zone: ZoneInfo,
    watch: WatchDesk | None,
    incidents: OpenIncidents | None,
    requests: RequestBook | None,
    audit: AuditReader | None,
) -> HandoverDesk:
    """The desk over the process's parts.

    Args:
        settings: The handover settings (shift times).
        scheduler: The engine.
        zone: The display time zone (``RESYNC_TIMEZONE``).
        watch: The watcher's desk (deadlines at risk).
        incidents: The incident service.
        requests: The runbook journal (``RunbookService.journal``).
        audit: The audit log (runbook runs of the shift).

    Returns:
        The desk.
    """
    return HandoverDesk(
        scheduler=scheduler,
        zone=zone,
        shift_times=settings.shift_times,
        watch=watch,
        incidents=incidents,
        requests=requests,
        audit=audit,
    )


def start_handover(
    settings: HandoverSettings,
    *,
    desk: HandoverDesk,
    core: Poster,
    store: Store,
    audit: AuditSink | None,
    ports: Iterable[ChatPort],
    watched: bool,
) -> asyncio.Task[None] | None:
    """Start the scheduled handover posts, when configured.

    Args:
        settings: The handover settings.
        desk: Gathers the handover.
        core: Posts it (the chat core).
        store: Shared by the replicas.
        audit: The audit log.
        ports: The started surfaces' ports.
        watched: Whether the desk reads a watcher.

    Returns:
        The running task, or None when no handover is posted.
    """
    if not settings.handover_posting:
        return None
    channels: dict[Platform, str] = {}
    if settings.handover_slack_channel:
        channels[Platform.SLACK] = settings.handover_slack_channel
    if settings.handover_teams_channel:
        channels[Platform.TEAMS] = settings.handover_teams_channel
    poster = HandoverPoster(
        desk=desk,
        core=core,
        store=store,
        channels=channels,
        times=settings.shift_times,
        zone=desk.zone,
        audit=audit,
        watched=watched,
    )
    for port in ports:
        poster.attach(port)
    if not poster.ports:
        log.info("handover.off", hint="no surface for the handover channels")
        return None
    log.info("handover.scheduled", platforms=[p.value for p in poster.ports])
    return asyncio.create_task(poster.run(), name="handover")
