"""Socket Mode: receive Slack's envelopes over a WebSocket instead of HTTP.

With ``RESYNC_SLACK_APP_TOKEN`` set, `SocketModeLink` opens a connection with
``apps.connections.open`` (through `slack_sdk.socket_mode.aiohttp.SocketModeClient`), hands
each envelope's payload to the same routing the HTTP endpoint uses, and acks it with its
``envelope_id`` once that routing returned. The routing returns as soon as the message is in
the durable inbox (`bot.core.inbox`), well inside Slack's 3 s, exactly as the HTTP endpoint
answers 200 only then: a replica killed between the two leaves either an un-acked envelope,
which Slack sends again, or an inbox entry another replica answers; acking first would lose
the message in that window. When the routing fails, the envelope is not acked and Slack
sends it again. Signatures do not apply: the app token authenticates the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["ROUTE_SECONDS", "EnvelopeHandler", "SocketModeLink"]

log = structlog.get_logger(__name__)

ROUTE_SECONDS: Final = 2.5
"""How long routing may take before the envelope is left unacknowledged (Slack wants 3 s)."""

EnvelopeHandler = Callable[[str, dict[str, Any], int], Awaitable[None]]
"""Takes (kind, payload, retry number); kind is ``events_api``, ``slash_commands`` or ``interactive``."""


class SocketModeLink:
    """One Socket Mode connection: routing first, the ack once the message is kept."""

    def __init__(self, *, app_token: str, api_base_url: str, handler: EnvelopeHandler) -> None:
        """Configure the link (nothing connects until `start`).

        Args:
            app_token: The app-level token (``xapp-...``).
            api_base_url: Web API base URL for ``apps.connections.open``.
            handler: Routes an envelope's payload; the ack is sent when it returns.
        """
        self._app_token = app_token
        self._api_base_url = api_base_url
        self._handler = handler
        self._client: SocketModeClient | None = None

    async def start(self) -> None:
        """Open the connection (the client must be created inside the running loop)."""
        client = SocketModeClient(
            app_token=self._app_token,
            web_client=AsyncWebClient(base_url=self._api_base_url),
        )
        client.socket_mode_request_listeners.append(self._on_request)
        self._client = client
        await client.connect()  # type: ignore[no-untyped-call]
        log.info("slack.socket_mode_connected")

    async def stop(self) -> None:
        """Close the connection."""
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
            self._client = None

    async def _on_request(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        if request.type in ("events_api", "slash_commands", "interactive"):
            retry = int(request.retry_attempt or 0)
            try:
                async with asyncio.timeout(ROUTE_SECONDS):
                    await self._handler(request.type, dict(request.payload), retry)
            except Exception:  # whatever failed or hung (a black-holed store), Slack must
                log.exception("slack.socket_mode_delivery_failed", envelope_type=request.type)
                return  # send it again: no ack (a re-delivery is deduplicated by its id)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
