"""A local aiohttp mock of the PagerDuty Events API v2 (and of any JSON webhook).

It records every request (path, headers, JSON body) and answers from a script: a list of
``(status, body, headers)`` consumed one per request, then 202 ``success`` for the rest.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    """One request the mock received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class EventsApi:
    """The mock's state: what it got, and what it will answer next."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    script: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)

    def fail(
        self,
        times: int,
        status: int = 500,
        *,
        body: str = "oops",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests."""
        self.script.extend([(status, body, headers or {})] * times)

    def bodies(self) -> list[dict[str, Any]]:
        return [s.body for s in self.seen]


@asynccontextmanager
async def events_api() -> AsyncIterator[EventsApi]:
    """Run the mock on a free loopback port."""
    state = EventsApi()

    async def enqueue(request: web.Request) -> web.Response:
        body = await request.json()
        state.seen.append(Seen(path=request.path, headers=dict(request.headers), body=body))
        if state.script:
            status, text, headers = state.script.pop(0)
            return web.Response(status=status, text=text, headers=headers)
        answer = {
            "status": "success",
            "message": "Event processed",
            "dedup_key": body.get("dedup_key"),
        }
        return web.Response(status=202, text=json.dumps(answer), content_type="application/json")

    app = web.Application()
    app.router.add_post("/v2/enqueue", enqueue)
    app.router.add_post("/hook", enqueue)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield state
    finally:
        await runner.cleanup()
