"""What tests of a real `resync serve` process share: a free port, a Teams activity, a Connector."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def activity(text: str, service_url: str, activity_id: str) -> dict[str, Any]:
    """A Teams message from Alice in a personal chat (local unauthenticated mode)."""
    return {
        "type": "message",
        "id": activity_id,
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": "29:alice", "name": "Alice"},
        "conversation": {"id": "a:personal-chat", "conversationType": "personal"},
        "recipient": {"id": "28:resync", "name": "Resync"},
        "text": text,
        "textFormat": "plain",
    }


class FakeConnector:
    """A Bot Connector that accepts every activity (after ``delay_seconds``) and keeps it.

    Attributes:
        started: Set when the first answer (not a typing indicator) arrives.
        delivered: The answers accepted, in order.
        url: Its service URL, once entered.
    """

    def __init__(self, *, delay_seconds: float = 0.0) -> None:
        self.started = asyncio.Event()
        self.delivered: list[dict[str, Any]] = []
        self.url = ""
        self._delay = delay_seconds
        self._runner: web.AppRunner | None = None

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("type") == "typing":
            return web.json_response({})
        self.started.set()
        await asyncio.sleep(self._delay)
        self.delivered.append(body)
        return web.json_response({"id": f"act-{len(self.delivered)}"})

    async def __aenter__(self) -> FakeConnector:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
