"""``GET /metrics``: the process's Prometheus metrics (`integrations.metrics`).

Open by default, like most exporters, because it shows counts only: labels are kinds,
outcomes and platforms, never a job, a person, a channel or a secret. Set
``RESYNC_METRICS_TOKEN`` and scrapers must send ``Authorization: Bearer <token>``
(Prometheus: ``authorization: {credentials: ...}`` in the scrape config).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from integrations import metrics

__all__ = ["metrics_handler"]


def metrics_handler(token: str | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``/metrics`` handler, guarded by ``token`` when one is set.

    Args:
        token: The bearer token scrapers must send; None serves everyone.

    Returns:
        An aiohttp handler.
    """

    async def serve(request: web.Request) -> web.Response:
        if token is not None:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
        )

    return serve
