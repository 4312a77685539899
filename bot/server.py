"""The one aiohttp server of ``resync serve``: health, Slack, Teams.

``GET /healthz`` reports liveness and the engine circuit's state (for the Dockerfile's
HEALTHCHECK and load balancers). The chat surfaces that are configured mount their routes
on the same application: Slack on ``POST /slack/events`` (or Socket Mode, no route), Teams
on ``POST /api/messages``.

Both surfaces hand every delivery to ``runtime.core`` (the conversation core: admission,
dispatch, clicks, paging); ``runbook.*`` clicks reach the runbook service through the
dispatcher. Each surface registers its `ChatPort` with ``runtime.progress`` (step progress and
outcomes go to the requester's thread), Slack registers its user groups with
``runtime.directory`` (approval groups may name ``slack-usergroup:S…``), and a background task calls
``runtime.runbooks.recover()`` every `RECOVER_INTERVAL_SECONDS` (expiry of pending requests,
takeover of runs whose replica died).

Teams without an app id (``RESYNC_TEAMS_ALLOW_UNAUTHENTICATED``, local testing) accepts
unsigned requests: it is served only when ``settings.host`` is a loopback address, its
clicks never reach the runbook decisions (approvals are off), and it says so loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, Protocol

import structlog
from aiohttp import web

from agents.runbooks.policy import SLACK_USERGROUP_PREFIX
from agents.runbooks.service import RunbookService
from bot.app import Runtime
from bot.slack import SlackSurface, slack_enabled
from bot.teams import TeamsSurface, teams_enabled
from config.settings import ConfigurationError, Settings

__all__ = [
    "RECOVER_INTERVAL_SECONDS",
    "RUNTIME_KEY",
    "build_web_app",
    "check_unauthenticated_teams",
    "recover_periodically",
    "serving",
]

log = structlog.get_logger(__name__)

RECOVER_INTERVAL_SECONDS: Final = 60.0

RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
SURFACES_KEY: web.AppKey[list[str]] = web.AppKey("surfaces", list)


class _Surface(Protocol):
    async def stop(self) -> None: ...


def _is_loopback_host(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _teams_unauthenticated(settings: Settings) -> bool:
    """Whether Teams would run without token checks (no app id, local mode on)."""
    return not settings.teams_app_id and bool(settings.teams_allow_unauthenticated)


def check_unauthenticated_teams(settings: Settings) -> None:
    """Refuse unauthenticated Teams on anything but a loopback listen address.

    Args:
        settings: The effective configuration.

    Raises:
        ConfigurationError: Teams would accept unsigned requests on a non-loopback address.
    """
    if _teams_unauthenticated(settings) and not _is_loopback_host(settings.host):
        raise ConfigurationError(
            [
                f"teams_allow_unauthenticated (RESYNC_TEAMS_ALLOW_UNAUTHENTICATED): Teams "
                f"without an app id accepts unsigned requests, so it is served only on a "
                f"loopback address, not host={settings.host!r} (RESYNC_HOST). Set "
                f"RESYNC_TEAMS_APP_ID (and RESYNC_TEAMS_APP_PASSWORD), or RESYNC_HOST=127.0.0.1."
            ]
        )


async def _healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    body = {
        "status": "ok",
        "tws": {"source": runtime.scheduler.source, "circuit": runtime.scheduler.breaker_state},
        "simulator": runtime.simulator is not None,
        "surfaces": request.app[SURFACES_KEY],
    }
    # The process is healthy even when the engine is down: answers say so to the user.
    return web.json_response(body)


def build_web_app(runtime: Runtime) -> web.Application:
    """Build the HTTP application with the health route only.

    Args:
        runtime: The running parts the routes use.

    Returns:
        The application, ready for an ``AppRunner``.
    """
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME_KEY] = runtime
    app[SURFACES_KEY] = []
    app.router.add_get("/healthz", _healthz)
    return app


async def recover_periodically(
    runbooks: RunbookService, *, interval_seconds: float = RECOVER_INTERVAL_SECONDS
) -> None:
    """Call ``runbooks.recover()`` now and then every ``interval_seconds``, until cancelled.

    Expiry of pending requests and takeover of stalled runs depend on it. A failing round is
    logged and the next one tried.

    Args:
        runbooks: The runbook service.
        interval_seconds: Pause between rounds.
    """
    while True:
        try:
            driven = await runbooks.recover()
            if driven:
                log.info("runbooks.recovered", requests=driven)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("runbooks.recover_failed")
        await asyncio.sleep(interval_seconds)


@asynccontextmanager
async def serving(
    runtime: Runtime, *, recover_interval_seconds: float = RECOVER_INTERVAL_SECONDS
) -> AsyncIterator[web.Application]:
    """The application with every configured chat surface mounted and started.

    Args:
        runtime: The running parts.
        recover_interval_seconds: Pause between ``runtime.runbooks.recover()`` rounds.

    Yields:
        The application; surfaces stop (letting answers in progress finish) and the
        recovery task is cancelled on exit.

    Raises:
        ConfigurationError: Unauthenticated Teams on a non-loopback ``settings.host``.
    """
    settings = runtime.settings
    check_unauthenticated_teams(settings)
    app = build_web_app(runtime)
    surfaces: list[_Surface] = []
    recovery: asyncio.Task[None] | None = None
    try:
        if slack_enabled(settings):
            slack = SlackSurface(settings=settings, core=runtime.core, store=runtime.store)
            slack.mount(app)
            await slack.start()
            surfaces.append(slack)
            runtime.progress.register(slack.port)
            runtime.directory.register(SLACK_USERGROUP_PREFIX, slack.usergroups)
            app[SURFACES_KEY].append("slack")
        if teams_enabled(settings):
            unauthenticated = _teams_unauthenticated(settings)
            if unauthenticated:
                log.error(
                    "serve.TEAMS_UNAUTHENTICATED",
                    detail="Teams runs WITHOUT token checks (RESYNC_TEAMS_ALLOW_UNAUTHENTICATED, "
                    "no RESYNC_TEAMS_APP_ID): anyone who reaches /api/messages can talk to "
                    "Resync. Runbook approvals are OFF on Teams; senders are unverified "
                    "(teams:<from.id>). Local testing only.",
                    host=settings.host,
                )
            teams = TeamsSurface(
                settings=settings,
                core=runtime.core,
                store=runtime.store,
                openid_metadata_url=settings.teams_openid_metadata_url,
                # Unsigned clicks never approve anything: its port says it is not verified.
                allow_unauthenticated=settings.teams_allow_unauthenticated,
            )
            teams.mount(app)
            surfaces.append(teams)
            runtime.progress.register(teams.port)
            app[SURFACES_KEY].append("teams")
        if not surfaces:
            log.warning(
                "serve.no_surfaces",
                hint="set RESYNC_SLACK_* or RESYNC_TEAMS_* to answer in Slack or Teams",
            )
        # After the posters are registered: outcomes of recovered runs reach their threads.
        recovery = asyncio.create_task(
            recover_periodically(runtime.runbooks, interval_seconds=recover_interval_seconds),
            name="runbooks-recover",
        )
        yield app
    finally:
        if recovery is not None:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
        # Answers and clicks in progress get their grace while the surfaces can still post.
        await runtime.tasks.stop()
        for surface in reversed(surfaces):
            await surface.stop()
