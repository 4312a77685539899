"""Shared pieces of the Slack tests: a mock Slack (Web API, response_url, Socket Mode) on
loopback, signed requests, a fake agent, and a harness that runs Resync's aiohttp server.

Imported by name (tests have no packages): ``from slack_support import ...``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
from aiohttp import web
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import ChatEvent, ClickHandler, Reply
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.slack import SlackSurface
from bot.slack.verify import sign
from config.settings import Settings
from integrations.store import MemoryStore

SECRET = "test-signing-secret"
BOT_USER = "UBOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class MockSlack:
    """Slack's Web API, response_url and Socket Mode, played on loopback."""

    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=dict
    )
    envelopes: deque[dict[str, Any]] = field(default_factory=deque)
    acks: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    # Slack user groups: id -> member user ids (usergroups.users.list); others: no_such_subteam.
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` answer with an error."""
        queue = self.failures.setdefault(method, deque())
        for _ in range(times):
            queue.append((status, body or {"ok": False, "error": "fatal_error"}, headers or {}))

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response)
        app.router.add_get("/link", self._socket)
        return app

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        self.calls.append(Call(method, args))
        queue = self.failures.get(method)
        if queue:
            status, body, headers = queue.popleft()
            return web.json_response(body, status=status, headers=headers)
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": "B1",
                "team_id": "T1",
                "user": "resync",
            }
        if method == "users.info":
            user = args.get("user", "U?")
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": f"name-{user}",
                    "real_name": f"Real {user}",
                    "profile": {
                        "display_name": f"Person {user}",
                        "email": f"{user.lower()}@example.com",
                    },
                },
            }
        if method == "chat.postMessage":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": f"1700000000.{next(self._ts):06d}",
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "usergroups.users.list":
            members = self.usergroups.get(str(args.get("usergroup")))
            if members is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": members}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/link"}
        return {"ok": True}

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})

        async def feed() -> None:
            while not ws.closed:
                while self.envelopes:
                    await ws.send_json(self.envelopes.popleft())
                await asyncio.sleep(0.01)

        feeder = asyncio.create_task(feed())
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            feeder.cancel()
        return ws


class EchoAsker:
    """A fake agent: answers "You asked: <text>" unless ``answer`` says otherwise."""

    def __init__(self, answer: Callable[[ChatEvent], Reply] | None = None) -> None:
        self.events: list[ChatEvent] = []
        self._answer = answer

    async def ask(self, event: ChatEvent) -> Reply:
        self.events.append(event)
        if self._answer is not None:
            return self._answer(event)
        return Reply(headline=f"You asked: {event.text}")


class RecordingAudit:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def record(self, **fields: Any) -> None:
        self.records.append(fields)

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


def signed_headers(
    body: bytes, *, secret: str = SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(signing_secret=secret, timestamp=ts, body=body),
    }


def command_body(
    text: str,
    *,
    team: str = "T1",
    user: str = "U1",
    channel: str = "C1",
    trigger: str = "trig-1",
    response_url: str = "",
    command: str = "/tws",
) -> bytes:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": team,
            "channel_id": channel,
            "user_id": user,
            "user_name": f"name-{user}",
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger,
        }
    ).encode()


def mention_envelope(
    text: str,
    *,
    event_id: str = "Ev1",
    user: str = "U1",
    channel: str = "C1",
    ts: str = "1690000000.000100",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        "event": event,
    }


def click_body(
    *,
    action_id: str,
    value: str,
    message: dict[str, Any],
    user: str = "U1",
    channel: str = "C1",
    trigger: str = "click-trig",
    action_ts: str = "1700000001.1",
    user_team: str = "T1",
) -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "example"},
        "user": {"id": user, "name": f"name-{user}", "team_id": user_team},
        "trigger_id": trigger,
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message.get("ts"), "channel_id": channel},
        "message": message,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "value": value,
                "action_ts": action_ts,
                "text": {"type": "plain_text", "text": "Approve"},
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Check a message's blocks with slack_sdk's Block Kit models and the 50-block limit."""
    assert 0 < len(blocks) <= 50
    parsed = Block.parse_all(blocks)
    assert len(parsed) == len(blocks)
    for block in parsed:
        block.validate_json()
    for raw in blocks:
        for element in raw.get("elements", ()):
            if element.get("type") == "button":
                assert len(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255


@dataclass
class Harness:
    url: str
    mock: MockSlack
    surface: SlackSurface
    audit: RecordingAudit
    store: MemoryStore
    asker: EchoAsker
    session: aiohttp.ClientSession
    core: ChatCore

    async def post(
        self,
        body: bytes,
        *,
        content_type: str,
        headers: dict[str, str] | None = None,
        secret: str = SECRET,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        all_headers = {
            "Content-Type": content_type,
            **signed_headers(body, secret=secret, timestamp=timestamp),
        }
        all_headers.update(headers or {})
        async with self.session.post(
            self.url + "/slack/events", data=body, headers=all_headers
        ) as response:
            return response.status, await response.text()

    async def command(self, text: str, **kwargs: Any) -> tuple[int, str]:
        kwargs.setdefault("response_url", self.mock.url + "/response/r1")
        return await self.post(
            command_body(text, **kwargs), content_type="application/x-www-form-urlencoded"
        )

    async def event(
        self, envelope: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        return await self.post(
            json.dumps(envelope).encode(), content_type="application/json", headers=headers
        )

    async def click(self, **kwargs: Any) -> tuple[int, str]:
        return await self.post(
            click_body(**kwargs), content_type="application/x-www-form-urlencoded"
        )

    async def settle(self) -> None:
        await self.surface.drain()


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def slack_harness(
    *,
    asker: EchoAsker | None = None,
    dispatcher: Dispatcher | None = None,
    on_decision: ClickHandler | None = None,
    app_token: str | None = None,
    signing_secret: str | None = SECRET,
    inject_client: bool = True,
    audit: Any | None = None,
    allowed_workspaces: str | None = None,
    auth_test_fails: bool = False,
    store: MemoryStore | None = None,
) -> AsyncIterator[Harness]:
    """Resync's Slack surface on loopback, on the real chat core, with Slack played by a mock.

    ``allowed_workspaces``: ``RESYNC_SLACK_ALLOWED_WORKSPACES`` (unset: the workspace the
    mock's ``auth.test`` reports, ``T1``). ``auth_test_fails``: the start's ``auth.test``
    answers an error. ``store``: the store (default: a fresh `MemoryStore`).
    """
    mock = MockSlack()
    if auth_test_fails:
        mock.fail("auth.test", body={"ok": False, "error": "invalid_auth"})
    async with serve(mock.app()) as mock_url:
        mock.url = mock_url
        asker = asker or EchoAsker()
        recording = RecordingAudit()
        store = store or MemoryStore()
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=signing_secret,
            slack_app_token=app_token,
            slack_api_url=mock_url + "/api",
            slack_allowed_workspaces=allowed_workspaces,
            _env_file=None,  # type: ignore[call-arg]
        )
        client = AsyncWebClient(token="xoxb-test-token", base_url=mock_url + "/api/")
        sink = recording if audit is None else audit
        dispatcher = dispatcher or Dispatcher(assistant=asker, audit=sink)
        if on_decision is not None:
            dispatcher.route_clicks("runbook.", on_decision)
        core = ChatCore(dispatcher=dispatcher, store=store, audit=sink)
        surface = SlackSurface(
            settings=settings,
            core=core,
            store=store,
            client=client if inject_client else None,
        )
        app = web.Application()
        surface.mount(app)
        async with serve(app) as url, aiohttp.ClientSession() as session:
            await surface.start()
            try:
                yield Harness(url, mock, surface, recording, store, asker, session, core)
            finally:
                await core.tasks.stop()
                await surface.stop()
