"""The one aiohttp server of ``resync serve``: health, Slack, Teams.

``GET /healthz`` reports liveness and the engine circuit's state (for the Dockerfile's
HEALTHCHECK and load balancers). The chat surfaces that are configured mount their routes
on the same application: Slack on ``POST /slack/events`` (or Socket Mode, no route), Teams
on ``POST /api/messages``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import structlog
from aiohttp import web

from bot.app import Runtime
from bot.slack import SlackSurface, slack_enabled
from bot.teams import TeamsSurface, teams_enabled

__all__ = ["RUNTIME_KEY", "build_web_app", "serving"]

log = structlog.get_logger(__name__)

RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
SURFACES_KEY: web.AppKey[list[str]] = web.AppKey("surfaces", list)


class _Surface(Protocol):
    async def stop(self) -> None: ...


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


@asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[web.Application]:
    """The application with every configured chat surface mounted and started.

    Args:
        runtime: The running parts.

    Yields:
        The application; surfaces stop (letting answers in progress finish) on exit.
    """
    app = build_web_app(runtime)
    surfaces: list[_Surface] = []
    settings = runtime.settings
    try:
        if slack_enabled(settings):
            slack = SlackSurface(
                settings=settings,
                dispatcher=runtime.dispatcher,
                audit=runtime.audit,
                store=runtime.store,
            )
            slack.mount(app)
            await slack.start()
            surfaces.append(slack)
            app[SURFACES_KEY].append("slack")
        if teams_enabled(settings):
            teams = TeamsSurface(
                settings=settings,
                dispatcher=runtime.dispatcher,
                audit=runtime.audit,
                store=runtime.store,
                openid_metadata_url=settings.teams_openid_metadata_url,
                allow_unauthenticated=settings.teams_allow_unauthenticated,
            )
            teams.mount(app)
            surfaces.append(teams)
            app[SURFACES_KEY].append("teams")
        if not surfaces:
            log.warning(
                "serve.no_surfaces",
                hint="set RESYNC_SLACK_* or RESYNC_TEAMS_* to answer in Slack or Teams",
            )
        yield app
    finally:
        for surface in reversed(surfaces):
            await surface.stop()
