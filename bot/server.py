"""The one aiohttp server of ``resync serve``: health, readiness, Slack, Teams.

``GET /healthz`` is liveness (the process serves; the Dockerfile's HEALTHCHECK) and shows
the engine circuit's state. ``GET /readyz`` is readiness (load balancers, Kubernetes): 503
while the engine, the store or the database does not answer, or while draining. The chat
surfaces that are configured mount their routes on the same application: Slack on
``POST /slack/events`` (or Socket Mode, no route), Teams on ``POST /api/messages``.
On SIGTERM, `listening` drains: no new requests, work in progress gets a grace period.

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
from typing import Final, Protocol

import structlog
from aiohttp import web

from agents.runbooks.policy import SLACK_USERGROUP_PREFIX
from agents.runbooks.service import RunbookService
from bot.app import Runtime
from bot.errors import engine_failure
from bot.incidents import run_upkeep
from bot.logging import redact_text
from bot.metrics_route import metrics_handler
from bot.slack import SlackSurface, slack_enabled
from bot.teams import TeamsSurface, teams_enabled
from config.settings import ConfigurationError, Settings
from integrations.tws.errors import (
    TWSError,
    TWSNotFoundError,
    TWSProtocolError,
    TWSRequestError,
)

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

RECOVER_INTERVAL_SECONDS: Final = 60.0
READY_CHECK_SECONDS: Final = 10.0
"""Pause between two rounds of readiness checks."""
READY_PROBE_SECONDS: Final = 3.0
"""The longest one readiness check may take."""

RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
SURFACES_KEY: web.AppKey[list[str]] = web.AppKey("surfaces", list)


class _Surface(Protocol):
    async def stop(self) -> None: ...


class Readiness:
    """What ``/readyz`` reports: draining, and whether the engine, store and database answer.

    The checks run in the background every `READY_CHECK_SECONDS` (each bounded by
    `READY_PROBE_SECONDS`), so ``/readyz`` answers at once from the last results, and many
    load balancers probing cost the engine one call per period.
    """

    def __init__(self, runtime: Runtime) -> None:
        """Prepare the checks (nothing is probed until `run`).

        Args:
            runtime: The running parts.
        """
        self.draining = False
        """True once a stop was asked: not ready, whatever the parts say."""
        self._runtime = runtime
        self._last: dict[str, dict[str, object]] = {}

    def parts(self) -> dict[str, dict[str, object]]:
        """The last result of every check.

        Returns:
            ``{"engine": {"ok": ..., "detail": ...}, "store": ..., "database": ...}``.
        """
        unknown: dict[str, object] = {"ok": False, "detail": "not checked yet"}
        parts = {name: self._last.get(name, unknown) for name in ("engine", "store", "database")}
        scheduler = self._runtime.scheduler
        if scheduler.breaker_state == "open":  # known now, without waiting for the next check
            detail = f"{scheduler.source}: calls paused after repeated failures"
            parts["engine"] = {"ok": False, "detail": detail}
        return parts

    async def run(self) -> None:
        """Check every part now and then every `READY_CHECK_SECONDS`, until cancelled."""
        checks = {"engine": self._engine, "store": self._store, "database": self._database}
        while True:
            results = await asyncio.gather(*(self._check(c) for c in checks.values()))
            self._last = dict(zip(checks, results, strict=True))
            await asyncio.sleep(READY_CHECK_SECONDS)

    async def _check(self, check: Callable[[], Awaitable[str]]) -> dict[str, object]:
        try:
            async with asyncio.timeout(READY_PROBE_SECONDS):
                return {"ok": True, "detail": await check()}
        except TimeoutError:
            return {"ok": False, "detail": f"no answer within {READY_PROBE_SECONDS:g} s"}
        except TWSError as exc:
            return {
                "ok": False,
                "detail": f"{self._runtime.scheduler.source}: {engine_failure(exc)}",
            }
        except Exception as exc:  # a probe reports; it never takes the server down
            return {"ok": False, "detail": redact_text(str(exc)) or type(exc).__name__}

    async def _engine(self) -> str:
        scheduler = self._runtime.scheduler
        with contextlib.suppress(TWSRequestError, TWSNotFoundError, TWSProtocolError):
            await scheduler.engine_info()  # any answer but "unreachable" or "refused" will do
        return f"{scheduler.source}: answering"

    async def _store(self) -> str:
        await self._runtime.store.get("resync:readyz")
        return type(self._runtime.store).__name__

    async def _database(self) -> str:
        store = self._runtime.audit.store
        await store.ping()
        return store.description.split()[0]  # "SQLite" or "PostgreSQL", no path or schema


READINESS_KEY: web.AppKey[Readiness] = web.AppKey("readiness", Readiness)


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


async def _readyz(request: web.Request) -> web.Response:
    readiness = request.app[READINESS_KEY]
    if readiness.draining:
        return web.json_response({"status": "draining", "draining": True}, status=503)
    parts = readiness.parts()
    ready = all(part["ok"] for part in parts.values())
    body = {"status": "ready" if ready else "not ready", "draining": False, **parts}
    return web.json_response(body, status=200 if ready else 503)


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
    app.router.add_get("/readyz", _readyz)
    token = runtime.settings.metrics_token
    app.router.add_get("/metrics", metrics_handler(token.get_secret_value() if token else None))
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
    background: list[asyncio.Task[None]] = []
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
        # After the posters are registered: outcomes of recovered runs reach their threads.
        # Incident upkeep too: rooms left half-open converge, reminders go out once per interval.
        background += [
            asyncio.create_task(
                recover_periodically(runtime.runbooks, interval_seconds=recover_interval_seconds),
                name="runbooks-recover",
            ),
            asyncio.create_task(run_upkeep(runtime.incidents.service), name="incidents-upkeep"),
        ]
        yield app
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
        try:
            site = web.TCPSite(runner, settings.host, settings.port)
            await site.start()
            yield f"http://{settings.host}:{settings.port}"
            readiness.draining = True
            log.info(
                "serve.draining", grace_s=grace_seconds, work_in_progress=runtime.tasks.running
            )
            await _drain(runtime, grace_seconds=grace_seconds, forced=forced)
        finally:
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
