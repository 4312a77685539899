"""A slow users.info must not hold a Slack acknowledgement: the resolver falls back in time."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.identity import LOOKUP_TIMEOUT_SECONDS, IdentityResolver
from integrations.store import MemoryStore


async def test_a_slow_users_info_falls_back_within_the_timeout_and_is_not_cached() -> None:
    calls: list[float] = []

    async def users_info(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "user": {"profile": {"display_name": "ana"}}})

    app = web.Application()
    app.router.add_route("*", "/api/users.info", users_info)
    async with TestServer(app) as server:
        client = AsyncWebClient(token="xoxb-test", base_url=str(server.make_url("/api/")))
        resolver = IdentityResolver(client=client, store=MemoryStore())
        started = time.monotonic()
        actor = await resolver.resolve(user_id="U0ANA", fallback_name="ana.payload")
        took = time.monotonic() - started
        again = await resolver.resolve(user_id="U0ANA", fallback_name="ana.payload")
    assert took < LOOKUP_TIMEOUT_SECONDS + 1.0
    assert (actor.user_id, actor.display_name, actor.email) == ("U0ANA", "ana.payload", None)
    assert again.display_name == "ana.payload"
    assert len(calls) == 2  # the fallback was not cached: Slack is asked again


async def test_an_unreachable_web_api_falls_back_to_the_payloads_name() -> None:
    # A port nothing listens on: the connection is refused (aiohttp.ClientConnectorError).
    async with TestServer(web.Application()) as server:
        dead = str(server.make_url("/api/"))
    client = AsyncWebClient(token="xoxb-test", base_url=dead)
    resolver = IdentityResolver(client=client, store=MemoryStore())
    actor = await resolver.resolve(user_id="U0BEA", fallback_name="bea.payload")
    assert (actor.user_id, actor.display_name, actor.email) == ("U0BEA", "bea.payload", None)
