"""The one aiohttp server of ``resync serve``.

Today it serves ``GET /healthz`` (liveness and the engine circuit's state, for the
Dockerfile's HEALTHCHECK and load balancers); the Slack and Teams adapters mount their
routes on the same application.
"""

from __future__ import annotations

from aiohttp import web

from bot.app import Runtime

__all__ = ["RUNTIME_KEY", "build_web_app"]

RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


async def _healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    circuit = runtime.scheduler.breaker_state
    body = {
        "status": "ok",
        "tws": {"source": runtime.scheduler.source, "circuit": circuit},
        "simulator": runtime.simulator is not None,
    }
    # The process is healthy even when the engine is down: answers say so to the user.
    return web.json_response(body)


def build_web_app(runtime: Runtime) -> web.Application:
    """Build the HTTP application.

    Args:
        runtime: The running parts the routes use.

    Returns:
        The application, ready for an ``AppRunner``.
    """
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/healthz", _healthz)
    return app
