"""What tests of a real `resync serve` process share: starting it, a Teams activity, a Connector."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


RESYNC = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def resync_serve(
    tmp_path: Path, *args: str, stderr: int = asyncio.subprocess.PIPE, **settings: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A real ``resync serve ARGS`` process on a free port, once it listens; killed on exit.

    Args:
        tmp_path: Its data directory goes under here.
        args: E.g. ``--demo``.
        stderr: Where its log goes (a pipe by default, for tests that read it).
        settings: ``RESYNC_*`` variables; none from the caller's environment leak in.

    Yields:
        The process and its base URL.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
    env.update(RESYNC_DATA_DIR=str(tmp_path / "data"), RESYNC_PORT=str(port), **settings)
    process = await asyncio.create_subprocess_exec(
        *RESYNC, "serve", *args, stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert b"listening on" in line, line
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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
