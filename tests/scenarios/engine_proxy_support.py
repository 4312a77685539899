"""The simulator behind a real HTTP proxy that counts reads and can drop ``dependencies``.

Imported by name (``from engine_proxy_support import ...``): pytest puts this folder on the
path. With ``strip`` the proxy plays an engine that says nothing about a job's predecessors
in its plan rows, so Resync must read ``/predecessors`` per job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from qa_support import API_KEY


class Proxy:
    """The simulator behind a proxy that counts reads, and with ``strip`` drops ``dependencies``.

    Without them an engine says nothing about a job's predecessors in the plan rows, so
    Resync must read ``/predecessors`` per job.
    """

    def __init__(self, sim_url: str, *, strip: bool) -> None:
        self.sim_url = sim_url
        self.strip = strip
        self.url = ""
        self.predecessor_reads = 0
        self.plan_reads = 0
        """First pages of job queries filtered by status only (the walk's plan read)."""

    async def handle(self, request: web.Request) -> web.Response:
        if request.path.endswith("/predecessors"):
            self.predecessor_reads += 1
        oql = request.query.get("oql", "")
        if oql.startswith("status IN") and request.query.get("offset", "0") == "0":
            self.plan_reads += 1
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as http,
            http.request(request.method, self.sim_url + request.path_qs) as response,
        ):
            date = response.headers["Date"]
            if response.content_type != "application/json":
                body = await response.read()
                return web.Response(body=body, status=response.status, headers={"Date": date})
            data: Any = await response.json()
        if isinstance(data, dict) and self.strip:
            for row in data.get("results", [data]):
                if isinstance(row, dict):
                    row.pop("dependencies", None)
        if isinstance(data, dict) and "next" in data:
            data["next"] = str(data["next"]).replace(self.sim_url, self.url)
        return web.json_response(data, status=response.status, headers={"Date": date})


@asynccontextmanager
async def proxied(sim_url: str, *, strip: bool) -> AsyncIterator[Proxy]:
    """A `Proxy` in front of the simulator at ``sim_url``, serving on loopback."""
    proxy = Proxy(sim_url, strip=strip)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield proxy
    finally:
        await runner.cleanup()
