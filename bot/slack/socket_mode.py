"""Socket Mode: receive Slack's envelopes over a WebSocket instead of HTTP.

With ``RESYNC_SLACK_APP_TOKEN`` set, `SocketModeLink` opens a connection with
``apps.connections.open`` (through `slack_sdk.socket_mode.aiohttp.SocketModeClient`), acks
every envelope at once with its ``envelope_id`` and hands the payload to the same routing the
HTTP endpoint uses. Signatures do not apply: the app token authenticates the connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["EnvelopeHandler", "SocketModeLink"]

log = structlog.get_logger(__name__)

EnvelopeHandler = Callable[[str, dict[str, Any], int], Awaitable[None]]
"""Takes (kind, payload, retry number); kind is ``events_api``, ``slash_commands`` or ``interactive``."""


class SocketModeLink:
    """One Socket Mode connection, acking first and routing second."""

    def __init__(self, *, app_token: str, api_base_url: str, handler: EnvelopeHandler) -> None:
        """Configure the link (nothing connects until `start`).

        Args:
            app_token: The app-level token (``xapp-...``).
            api_base_url: Web API base URL for ``apps.connections.open``.
            handler: Routes an envelope's payload (called after the ack is sent).
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
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type not in ("events_api", "slash_commands", "interactive"):
            return
        await self._handler(request.type, dict(request.payload), int(request.retry_attempt or 0))
