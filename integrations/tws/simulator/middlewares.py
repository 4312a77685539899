"""What wraps every simulator request: error answers, injected faults, auth, the Date header.

The server stacks them as errors → faults → auth, so a fault strikes before auth (as a
failing engine would) and anything a handler raises still leaves as an engine-style error.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from email.utils import format_datetime

from aiohttp import web
from aiohttp.typedefs import Middleware

from integrations.tws.simulator.engine import SimState
from integrations.tws.simulator.faults import Faults
from integrations.tws.simulator.http_errors import RequestFailedError, error_response

__all__ = ["Handler", "auth_middleware", "date_header", "errors_middleware", "faults_middleware"]

# The server's logger name, kept from before the split so log filters on it still match.
log = logging.getLogger("integrations.tws.simulator.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def errors_middleware() -> Middleware:
    """Turn whatever a handler raises into an engine-style error answer.

    Returns:
        The middleware: a `RequestFailedError` leaves as its answer, an HTTP error as an
        AWSJCO005E message, anything else as a 500 (logged).
    """

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except RequestFailedError as failed:
            return failed.response
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            text = f"AWSJCO005E {exc.reason}: {request.method} {request.path}"
            return error_response(exc.status, text)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:
            log.exception("simulator error on %s %s", request.method, request.path)
            return error_response(500, f"AWSJCO999E Internal error: {exc}", type(exc).__name__)

    return errors


def faults_middleware(faults: Faults) -> Middleware:
    """Inject latency and faults into engine API calls (never into ``/_sim``).

    Args:
        faults: The fault settings and their random draw.

    Returns:
        The middleware: a 503 burst, a 500, a dropped connection or a cut-off JSON body,
        as `Faults.decide` picks.
    """

    @web.middleware
    async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/twsd"):
            return await handler(request)
        settings = faults.settings
        if settings.latencyMs:
            await asyncio.sleep(settings.latencyMs / 1000)
        fault = faults.decide()
        if fault == "burst":
            return error_response(
                503, "AWSJCO503E The service is temporarily unavailable (simulated)."
            )
        if fault == "error":
            return error_response(
                500, "AWSJCO999E Internal server error (simulated).", "java.lang.RuntimeException"
            )
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=599)  # never reaches the client: the socket is gone
        if fault == "malformed":
            return web.Response(
                status=200, text='{"count": 3, "results": [{"id": ', content_type="application/json"
            )
        return await handler(request)

    return inject_faults


def auth_middleware(users: Mapping[str, str], api_keys: Collection[str]) -> Middleware:
    """Let in Basic-auth users and Bearer API keys; answer anyone else 401.

    Args:
        users: Accepted users and their passwords.
        api_keys: Accepted Bearer tokens.

    Returns:
        The middleware (comparisons in constant time).
    """

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        user = "?"
        if header.startswith("Bearer "):
            token = header[7:].strip()
            if any(hmac.compare_digest(token, key) for key in api_keys):
                return await handler(request)
            user = "api key"
        elif header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            name, _, password = decoded.partition(":")
            user = name or "?"
            expected = users.get(name)
            if expected is not None and hmac.compare_digest(password, expected):
                return await handler(request)
        response = error_response(
            401,
            f'AWSBEH021E The user "{user}" is not authorized to access the server.',
            "com.ibm.tws.conn.exception.NotAuthorizedException",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="TWS"'
        return response

    return authenticate


def date_header(
    state: SimState,
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """Stamp every answer with the simulated clock, as the engine's ``Date`` header.

    Args:
        state: The simulated plan, whose now is the engine's clock.

    Returns:
        An ``on_response_prepare`` signal handler.
    """

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Date"] = format_datetime(state.now(), usegmt=True)

    return stamp
