"""The one aiohttp server of ``resync serve``: health, readiness, Slack, Teams.

``GET /healthz`` is liveness (the process serves; the Dockerfile's HEALTHCHECK) and shows
the engine circuit's state. ``GET /readyz`` is readiness (load balancers, Kubernetes): 503
while the engine, the store or the database does not answer, or while draining. The chat
surfaces that are configured mount their routes on the same application: Slack on
``POST /slack/events`` (or Socket Mode, no route), Teams on ``POST /api/messages``.
On SIGTERM, `listening` drains: no new requests, work in progress gets a grace period.
On SIGHUP, the runbooks, the approval policy and the watch rules are reloaded (`bot.reload`).

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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import structlog
from aiohttp import web

from agents.runbooks.policy import SLACK_USERGROUP_PREFIX
from bot.app import Runtime
from bot.background import (
    RECOVER_INTERVAL_SECONDS,
    Background,
    recover_periodically,
    start_background,
)
from bot.core.port import ChatPort
from bot.metrics_route import metrics_handler
from bot.readiness import READINESS_KEY, Readiness, readyz
from bot.slack import SlackSurface, slack_enabled
from bot.teams import TeamsSurface, teams_enabled
from config.settings import ConfigurationError, Settings

__all__ = [
    "READINESS_KEY",
    "RECOVER_INTERVAL_SECONDS",
    "RUNTIME_KEY",
    "build_web_app",
    "check_unauthenticated_teams",
    "listening",
    "recover_periodically",
    "serving",
]

log = structlog.get_logger(__name__)


RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
SURFACES_KEY: web.AppKey[list[str]] = web.AppKey("surfaces", list)


class _Surface(Protocol):
    @property
    def port(self) -> ChatPort: ...

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


@web.middleware
async def _refuse_while_draining(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # A stopping process takes no new work: Slack and Teams deliver again later (to a
    # replica that is ready), and the answers already accepted get the grace period.
    if request.app[READINESS_KEY].draining and request.path not in {"/healthz", "/readyz"}:
        return web.json_response(
            {"status": "draining"},
            status=503,
            headers={"Retry-After": "10", "Connection": "close"},
        )
    return await handler(request)


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
    """Build the HTTP application with the operations routes (health, readiness, metrics).

    Args:
        runtime: The running parts the routes use.

    Returns:
        The application, ready for an ``AppRunner``.
    """
    app = web.Application(client_max_size=1024 * 1024, middlewares=[_refuse_while_draining])
    app[RUNTIME_KEY] = runtime
    app[SURFACES_KEY] = []
    app[READINESS_KEY] = Readiness(runtime)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", readyz)
    token = runtime.settings.metrics_token
    app.router.add_get("/metrics", metrics_handler(token.get_secret_value() if token else None))
    return app


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
    background: Background | None = None
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
            runtime.incidents.attach(teams.port)  # incident threads in the Teams channel
            app[SURFACES_KEY].append("teams")
        if not surfaces:
            log.warning(
                "serve.no_surfaces",
                hint="set RESYNC_SLACK_* or RESYNC_TEAMS_* to answer in Slack or Teams",
            )
        # After the posters are registered: outcomes of recovered runs reach their threads,
        # alerts reach the surfaces' platforms (`bot.background`).
        background = start_background(
            runtime,
            [surface.port for surface in surfaces],
            recover_interval_seconds=recover_interval_seconds,
        )
        yield app
    finally:
        if background is not None:
            await background.stop()
        # Answers and clicks in progress get their grace while the surfaces can still post.
        await runtime.tasks.stop()
        for surface in reversed(surfaces):
            await surface.stop()


@asynccontextmanager
async def listening(
    runtime: Runtime, *, forced: asyncio.Event, grace_seconds: float
) -> AsyncIterator[str]:
    """Serve HTTP on ``settings.host:port``; on leaving, drain before anything stops.

    Draining: ``/readyz`` answers 503 and new requests get 503 (``/healthz`` stays 200),
    while answers and runbook runs in progress get ``grace_seconds`` to finish (a second
    signal cuts that short); then the listener closes, the surfaces stop, and the caller's
    `bot.app.runtime` closes the audit log.

    Args:
        runtime: The running parts.
        forced: Set (a second signal) to end the grace period early.
        grace_seconds: How long work in progress may take once a stop was asked.

    Yields:
        The URL listened on.
    """
    settings = runtime.settings
    async with serving(runtime) as app:
        readiness = app[READINESS_KEY]
        checks = asyncio.create_task(readiness.run(), name="readyz-checks")
        # Handlers only acknowledge (work runs in `runtime.tasks`): a short wait is enough.
        runner = web.AppRunner(app, shutdown_timeout=min(grace_seconds, 10.0))
        await runner.setup()
        reloading = False
        try:
            site = web.TCPSite(runner, settings.host, settings.port)
            await site.start()
            # SIGHUP re-reads the runbooks, the approval policy and the watch rules
            # (`bot.reload`); the pid file tells `resync reload` whom to signal.
            runtime.config.listen()
            reloading = True
            yield f"http://{settings.host}:{settings.port}"
            readiness.draining = True
            log.info(
                "serve.draining", grace_s=grace_seconds, work_in_progress=runtime.tasks.running
            )
            await _drain(runtime, grace_seconds=grace_seconds, forced=forced)
        finally:
            if reloading:
                await runtime.config.close()
            checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checks
            await runner.cleanup()


async def _drain(runtime: Runtime, *, grace_seconds: float, forced: asyncio.Event) -> None:
    stopping = asyncio.create_task(runtime.tasks.stop(grace_seconds=grace_seconds))
    cut_short = asyncio.create_task(forced.wait())
    done, _ = await asyncio.wait({stopping, cut_short}, return_when=asyncio.FIRST_COMPLETED)
    cut_short.cancel()
    if stopping not in done:
        log.warning("serve.drain_cut_short", work_in_progress=runtime.tasks.running)
        await runtime.tasks.stop(grace_seconds=0)
    await stopping
