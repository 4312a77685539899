"""Wiring incidents into a process: database, pager, policy, rooms, service, click handler.

``bot.app.runtime`` opens it once (`open_incidents`); ``bot.server.serving`` registers the
Teams port when its surface starts (`Incidents.attach`) and runs `run_upkeep` in the
background (``recover()`` and ``remind()`` every minute). Slack rooms are built here from
the bot token (their own Web API client), so they work before, and without, the Slack
surface (e.g. an incident declared in the terminal opens a Slack channel).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import structlog

from agents.incidents import IncidentError, IncidentPolicy, IncidentService
from agents.messages import Platform
from agents.runbooks.policy import ApprovalGroups, GroupDirectory
from bot.core.conversation import ChatCore
from bot.core.port import ChatPort
from bot.incidents.clicks import INCIDENT_ACTION_PREFIX, IncidentClicks
from bot.incidents.people import SlackPeople
from bot.incidents.rooms import RoomsRouter
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.rooms_teams import TeamsRooms
from bot.incidents.slack_api import SlackApi
from config.settings import ConfigurationError, Settings
from integrations.audit.sink import AuditSink
from integrations.db import Database, open_database
from integrations.pager import Pager, PagerDutyPager, WebhookPager
from integrations.store import Store
from integrations.tws.scheduler import Scheduler

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = [
    "UPKEEP_INTERVAL_SECONDS",
    "Incidents",
    "build_pager",
    "incident_policy",
    "open_incidents",
    "run_upkeep",
]

log = structlog.get_logger(__name__)

UPKEEP_INTERVAL_SECONDS: Final = 60.0

# Settings that, when set explicitly, win over the policy file.
_POLICY_SETTINGS: Final = {
    "incident_id_prefix": "id_prefix",
    "incident_manager_groups": "manager_groups",
    "incident_lease_seconds": "lease_seconds",
}


def incident_policy(settings: Settings) -> IncidentPolicy:
    """The policy: ``RESYNC_INCIDENT_POLICY_FILE`` (or the built-in one) and the settings.

    Raises:
        ConfigurationError: The file is unreadable or invalid (every problem listed).
    """
    base = IncidentPolicy()
    if settings.incident_policy_file is not None:
        try:
            base = IncidentPolicy.load(settings.incident_policy_file)
        except IncidentError as exc:
            raise ConfigurationError(
                [f"incident policy (RESYNC_INCIDENT_POLICY_FILE): {exc}"]
            ) from None
    explicit = settings.model_fields_set if settings.incident_policy_file is not None else None
    values: dict[str, Any] = {
        "incident_id_prefix": settings.incident_id_prefix,
        "incident_manager_groups": settings.incident_manager_group_names,
        "incident_lease_seconds": settings.incident_lease_seconds,
    }
    update = {
        field: values[name]
        for name, field in _POLICY_SETTINGS.items()
        if explicit is None or name in explicit
    }
    return IncidentPolicy.model_validate({**base.model_dump(), **update})


def build_pager(settings: Settings) -> Pager | None:
    """PagerDuty (routing key), a webhook (URL), or None: nobody is paged (rooms are told)."""
    if settings.pagerduty_routing_key is not None:
        return PagerDutyPager(
            routing_key=settings.pagerduty_routing_key.get_secret_value(),
            base_url=settings.pagerduty_events_url,
        )
    if settings.pager_webhook_url:
        secret = settings.pager_webhook_secret
        return WebhookPager(
            url=settings.pager_webhook_url,
            secret=secret.get_secret_value() if secret is not None else None,
        )
    return None


def slack_client(settings: Settings) -> AsyncWebClient | None:
    """A Web API client on the bot token (rate-limit retries on), or None without a token."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not token:
        return None
    # Imported only with a token: the Slack SDK is slow to import (start-up of `resync ask`).
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.surface import api_base_url

    client = AsyncWebClient(token=token, base_url=api_base_url(settings))
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


@dataclass(slots=True)
class Incidents:
    """The incident parts of a process.

    Attributes:
        service: Declares and changes incidents (what the agent side calls).
        rooms: The rooms of every registered platform.
        clicks: The ``incident.*`` click handler (routed by the dispatcher).
        db: The incident database.
        pager: The pager, if configured.
        people: Who a Slack mention is (``Assistant(people=...)``), when Slack is configured.
    """

    service: IncidentService
    rooms: RoomsRouter
    clicks: IncidentClicks
    db: Database
    pager: Pager | None
    _settings: Settings
    _store: Store
    people: SlackPeople | None = None

    def attach(self, port: ChatPort) -> None:
        """Open incident rooms on ``port``'s platform too (Teams: when its surface starts).

        Slack rooms come from the bot token (see the module docstring), so a Slack port
        changes nothing. Teams needs ``RESYNC_INCIDENTS_TEAMS_CHANNEL``; without it Teams
        is not registered (logged).

        Args:
            port: A surface's port.
        """
        if port.platform is not Platform.TEAMS:
            return
        channel = self._settings.incidents_teams_channel
        if not channel:
            log.info("incidents.teams_rooms_off", hint="set RESYNC_INCIDENTS_TEAMS_CHANNEL")
            return
        self.rooms.register(TeamsRooms(port=port, store=self._store, channel=channel))


@asynccontextmanager
async def open_incidents(
    *,
    settings: Settings,
    store: Store,
    audit: AuditSink,
    scheduler: Scheduler | None,
    groups: ApprovalGroups | None,
    directory: GroupDirectory | None,
    core: ChatCore | None = None,
    ports: Mapping[str, ChatPort] | None = None,
    slack: AsyncWebClient | None = None,
    source: str = "Resync",
) -> AsyncIterator[Incidents]:
    """Open the database, build pager, rooms and service; route ``incident.*`` clicks.

    Args:
        settings: The effective configuration.
        store: Leases, reminder claims, remembered rooms (shared by the replicas).
        audit: The audit log (the service audits every change).
        scheduler: The TWS client (evidence for postmortems, jobs of button declarations).
        groups: Approval groups (the manager groups live there).
        directory: Resolves group references (``slack-usergroup:S…``).
        core: The chat core: ``incident.`` clicks are routed to the handler through its
            dispatcher (None: the caller routes ``Incidents.clicks``).
        ports: Surfaces already started (see `Incidents.attach`).
        slack: The Slack Web API client; default: one on ``RESYNC_SLACK_BOT_TOKEN``.
        source: What pages name as affected (e.g. the engine's source).

    Yields:
        The parts; the database and the pager are closed on exit.

    Raises:
        ConfigurationError: The incident policy is invalid.
        DatabaseError: The database cannot be opened or migrated.
    """
    policy = incident_policy(settings)
    url = settings.database_url.get_secret_value() if settings.database_url else None
    # SQLite: engine and migration on first use (a one-shot `resync ask` needs neither).
    db = await open_database(url, data_dir=settings.data_dir, lazy=True)
    pager = build_pager(settings)
    owned = slack is None
    client = slack or slack_client(settings)
    try:
        router = RoomsRouter()
        service = IncidentService(
            db=db,
            rooms=router,
            audit=audit,
            store=store,
            pager=pager,
            policy=policy,
            groups=groups,
            directory=directory,
            scheduler=scheduler,
            zone=settings.zone,
            source=source,
        )
        if client is not None:
            router.register(
                SlackRooms(
                    api=SlackApi(client),
                    store=store,
                    announce_channel=settings.incidents_slack_channel,
                    template=settings.incident_channel_template,
                    zone=settings.zone,
                    lookup=service.get,
                )
            )
        clicks = IncidentClicks(service, rooms=router, scheduler=scheduler, zone=settings.zone)
        if core is not None:
            core.dispatcher.route_clicks(INCIDENT_ACTION_PREFIX, clicks)
        people = SlackPeople(client=client, store=store) if client is not None else None
        parts = Incidents(service, router, clicks, db, pager, settings, store, people)
        for port in (ports or {}).values():
            parts.attach(port)
        log.info("incidents.ready", database=db.description.split()[0], rooms=router.platforms)
        yield parts
    finally:
        if pager is not None:
            await pager.close()
        if owned and client is not None and client.session is not None:
            await client.session.close()
        await db.close()


async def run_upkeep(
    service: IncidentService, *, interval_seconds: float = UPKEEP_INTERVAL_SECONDS
) -> None:
    """Call ``recover()`` and ``remind()`` now and then every ``interval_seconds``, until cancelled.

    Pending rooms and pages of incidents whose process died, stale state messages, and
    status-update reminders depend on it. A failing round is logged and the next one tried.

    Args:
        service: The incident service.
        interval_seconds: Pause between rounds.
    """
    while True:
        try:
            report = await service.recover()
            if report.driven or report.refreshed:
                log.info(
                    "incidents.recovered",
                    driven=len(report.driven),
                    refreshed=len(report.refreshed),
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("incidents.recover_failed")
        try:
            reminded = await service.remind()
            if reminded:
                log.info("incidents.reminded", reminders=len(reminded))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("incidents.remind_failed")
        await asyncio.sleep(interval_seconds)
