"""Slack ack latency: Resync's /slack/events vs a bare slack-bolt AsyncApp that only acks.

Both run on aiohttp on loopback; N signed slash commands are sent at once to each and the
time to the HTTP answer (the ack) is measured per request. Resync does its real work after
the ack (dedupe, users.info, rate limit, audit, "Looking up…" post, Dispatcher, chat.update)
against a mock Slack Web API on loopback, so that work competes with the acks for the loop,
as in production.

Targets (issue 5): Resync p99 within 1.5x of the bare app and under 100 ms at 100 concurrent.

    .venv/bin/python benchmarks/slack_ack.py [-n 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import ChatEvent, Reply
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.slack import SlackSurface
from bot.slack.verify import sign
from config.settings import Settings
from integrations.store import MemoryStore

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"


class NullAudit:
    async def record(self, **fields: Any) -> None:
        return None


class EchoAsker:
    async def ask(self, event: ChatEvent) -> Reply:
        return Reply(headline=f"You asked: {event.text}")


def mock_slack() -> web.Application:
    counter = itertools.count(1)

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await request.read()
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user_id": "UBOT", "bot_id": "B1", "team_id": "T1"}
            )
        if method == "users.info":
            user = request.query.get("user", "U")
            return web.json_response(
                {"ok": True, "user": {"id": user, "profile": {"email": f"{user}@x"}}}
            )
        return web.json_response({"ok": True, "ts": f"1.{next(counter)}"})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", api)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def bare_bolt(api_url: str) -> web.Application:
    bolt = AsyncApp(
        token=TOKEN, signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api_url)
    )

    @bolt.command("/tws")
    async def _ack(ack: Any) -> None:
        await ack()

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    return app


def command(n: int, round_: int, label: str) -> bytes:
    return urlencode(
        {
            "command": "/tws",
            "text": "status PAYROLL*",
            "user_id": f"U{n}",
            "user_name": f"u{n}",
            "channel_id": "C1",
            "team_id": "T1",
            "trigger_id": f"{label}-{round_}-{n}",
            "response_url": "",
        }
    ).encode()


async def burst(
    session: aiohttp.ClientSession, url: str, n: int, round_: int, label: str
) -> list[float]:
    async def one(i: int) -> float:
        body = command(i, round_, label)
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(signing_secret=SECRET, timestamp=ts, body=body),
        }
        started = time.perf_counter()
        async with session.post(url + "/slack/events", data=body, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class Outside:
    """Slack's side (the mock Web API and the load generator) on its own thread and loop,
    so only the servers under test share the measured loop, as in production."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


async def main(n: int, rounds: int) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.disable(logging.WARNING)
    outside = Outside()
    mock_runner, mock_url = await asyncio.wrap_future(outside.run(serve(mock_slack())))
    api = mock_url + "/api/"
    slack_session = aiohttp.ClientSession()
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, _env_file=None)  # type: ignore[call-arg]
    store = MemoryStore()
    dispatcher = Dispatcher(assistant=EchoAsker(), audit=NullAudit())
    core = ChatCore(dispatcher=dispatcher, store=store, audit=NullAudit())
    surface = SlackSurface(
        settings=settings,
        core=core,
        store=store,
        client=AsyncWebClient(token=TOKEN, base_url=api, session=slack_session),
    )
    resync_app = web.Application()
    surface.mount(resync_app)
    resync_runner, resync_url = await serve(resync_app)
    bolt_runner, bolt_url = await serve(bare_bolt(api))
    results: dict[str, list[float]] = {"bare bolt": [], "resync": []}

    async def load(url: str, count: int, round_: int, label: str) -> list[float]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            return await burst(session, url, count, round_, label)

    async def measure(url: str, count: int, round_: int, label: str) -> list[float]:
        values: list[float] = await asyncio.wrap_future(
            outside.run(load(url, count, round_, label))
        )
        await surface.drain()
        return values

    for label, url in (("bare bolt", bolt_url), ("resync", resync_url)):
        await measure(url, 5, -1, label.replace(" ", ""))  # warm up (bolt's auth.test)
    for round_ in range(rounds):
        for label, url in (("bare bolt", bolt_url), ("resync", resync_url)):
            results[label] += await measure(url, n, round_, label.replace(" ", ""))
    for runner in (resync_runner, bolt_runner):
        await runner.cleanup()
    await slack_session.close()
    await asyncio.wrap_future(outside.run(mock_runner.cleanup()))
    outside.close()

    print(f"{n} concurrent signed slash commands x {rounds} rounds, aiohttp on loopback")
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, values in results.items():
        print(
            f"{label:10} {statistics.median(values):8.1f} {pct(values, 0.99):8.1f} {max(values):8.1f}"
        )
    bare99, ours99 = pct(results["bare bolt"], 0.99), pct(results["resync"], 0.99)
    ratio = ours99 / bare99 if bare99 else float("inf")
    print(
        f"p99 ratio resync / bare bolt: {ratio:.2f}x (target <= 1.5x); resync p99 {ours99:.1f} ms (target < 100 ms)"
    )
    ok = ratio <= 1.5 and ours99 < 100
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="concurrent requests per burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per server")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.n, args.rounds)))
