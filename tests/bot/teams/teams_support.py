"""Shared pieces of the Teams tests: a fake Bot Connector, a local OpenID/JWKS server, tokens,
activity builders, a fake asker and a harness running the bot on loopback.

Imported by name (``from teams_support import ...``): tests have no packages.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from agents.messages import (
    Actions,
    Button,
    ChatEvent,
    Click,
    ClickHandler,
    ClickOutcome,
    Context,
    Fields,
    Paragraph,
    Preformatted,
    Reply,
    Table,
    Tone,
)
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.teams import TeamsSurface
from bot.teams.connector import TokenSource
from config.settings import Settings
from integrations.store import MemoryStore

SCHEMA_PATH = Path(__file__).with_name("adaptive-card-1.5.schema.json")
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
BOT_ID = f"28:{APP_ID}"
TENANT = "tenant-1"
CHANNEL = "19:alerts@thread.tacv2"

_validator: jsonschema.Draft6Validator | None = None


def assert_valid_card(card: dict[str, Any]) -> None:
    """Fail the test when the card does not validate against Adaptive Cards 1.5."""
    global _validator
    if _validator is None:
        _validator = jsonschema.Draft6Validator(json.loads(SCHEMA_PATH.read_text()))
    errors = sorted(_validator.iter_errors(card), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
    assert card["version"] == "1.5"


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card of an outbound activity (validated on the way)."""
    attachments = activity["attachments"]
    assert len(attachments) == 1
    assert attachments[0]["contentType"] == CARD_TYPE
    card: dict[str, Any] = attachments[0]["content"]
    assert_valid_card(card)
    return card


def texts(card: dict[str, Any]) -> list[str]:
    """Every ``text``/``title``/``value`` string in a card, depth first."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "title", "value") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body", []))
    return found


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute in the card body."""
    return [
        action
        for element in card["body"]
        if element.get("type") == "ActionSet"
        for action in element["actions"]
    ]


async def eventually(check: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Wait until ``check()`` is true (background work finishes after the reply is caught)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# --- fake connector ------------------------------------------------------------------------


@dataclass
class Call:
    """One request the fake connector received."""

    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None
    body: dict[str, Any]
    authorization: str | None


@dataclass
class FakeConnector:
    """A Bot Connector on loopback: records calls, answers like the real one."""

    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    fail_status: int | None = None  # answer every send with this error status
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    async def _note(self, request: web.Request, body: dict[str, Any]) -> None:
        async with self._changed:
            self.calls.append(
                Call(
                    method=request.method,
                    path=request.path,
                    conversation_id=request.match_info.get("conversation"),
                    activity_id=request.match_info.get("activity"),
                    body=body,
                    authorization=request.headers.get("Authorization"),
                )
            )
            self._changed.notify_all()

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._note(request, body)
        if body.get("type") == "typing":
            return web.json_response({})
        if self.fail_status is not None:
            return web.json_response({"error": {"code": "ServiceError"}}, status=self.fail_status)
        return web.json_response({"id": f"act-{next(self._ids)}"})

    async def _update(self, request: web.Request) -> web.Response:
        await self._note(request, await request.json())
        return web.json_response({"id": request.match_info["activity"]})

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._note(request, body)
        if self.fail_status is not None:
            return web.json_response({"error": {"code": "ServiceError"}}, status=self.fail_status)
        message_id = str(next(self._ids))
        channel = body["channelData"]["channel"]["id"]
        return web.json_response(
            {"id": f"{channel};messageid={message_id}", "activityId": message_id}
        )

    async def _member(self, request: web.Request) -> web.Response:
        await self._note(request, {})
        member = self.members.get(request.match_info["user"])
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFound"}}, status=404)
        return web.json_response(member)

    async def start(self) -> None:
        app = web.Application()
        base = "/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._send)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_get(base + "/{conversation}/members/{user}", self._member)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def activities(self, method: str = "POST") -> list[Call]:
        """Calls that carried a message (sends and replies, or updates with PUT); no typing."""
        return [
            c
            for c in self.calls
            if c.method == method and "/activities" in c.path and c.body.get("type") != "typing"
        ]

    def typing(self) -> list[Call]:
        """The "typing…" indicators sent."""
        return [c for c in self.calls if c.body.get("type") == "typing"]

    async def wait_for(
        self, count: int, *, method: str = "POST", timeout: float = 5.0
    ) -> list[Call]:
        """Wait until ``count`` activity calls of ``method`` arrived; return them."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.activities(method)) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.activities(method)


# --- identity provider ---------------------------------------------------------------------

_key: rsa.RSAPrivateKey | None = None


def _test_key() -> rsa.RSAPrivateKey:
    """One RSA key for the harnesses' own identity providers (generating one is slow)."""
    global _key
    if _key is None:
        _key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _key


@dataclass
class OpenIdServer:
    """Serves an OpenID metadata document and its JWKS from a local RSA test key."""

    url: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = "test-key-1"
    fetches: int = 0
    _runner: web.AppRunner | None = None

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    async def _metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"issuer": "https://api.botframework.com", "jwks_uri": f"{self.url}/keys"}
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.fetches += 1
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "endorsements": ["msteams"]})
        return web.json_response({"keys": [jwk]})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/keys", self._keys)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def token(
        self,
        *,
        service_url: str,
        audience: str = APP_ID,
        issuer: str = "https://api.botframework.com",
        expires_in: float = 3600,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": int(now + expires_in),
        }
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


# --- activities ----------------------------------------------------------------------------

_activity_ids = itertools.count(1)


def message(
    text: str,
    *,
    service_url: str,
    conversation_id: str = "a:personal-chat",
    conversation_type: str = "personal",
    activity_id: str | None = None,
    user_id: str = "29:alice",
    aad: str = "aad-alice",
    name: str = "Alice",
    entities: list[dict[str, Any]] | None = None,
    reply_to: str | None = None,
    value: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Bot Framework message activity as Teams sends it."""
    activity: dict[str, Any] = {
        "type": "message",
        "id": activity_id or f"msg-{next(_activity_ids)}",
        "timestamp": "2026-11-23T16:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user_id, "name": name, "aadObjectId": aad},
        "conversation": {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": TENANT,
            "isGroup": conversation_type != "personal",
        },
        "recipient": {"id": BOT_ID, "name": "Resync"},
        "text": text,
        "textFormat": "plain",
        "channelData": {"tenant": {"id": TENANT}},
        "entities": entities or [],
    }
    if reply_to:
        activity["replyToId"] = reply_to
    if value is not None:
        activity["value"] = value
        activity.pop("text")
    return activity


def installed(service_url: str) -> dict[str, Any]:
    """What Teams sends when the app is added to a team's channel (`CHANNEL`)."""
    return {
        "type": "conversationUpdate",
        "id": "cu-1",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": "29:admin", "aadObjectId": "aad-admin"},
        "conversation": {
            "id": CHANNEL,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        },
        "recipient": {"id": BOT_ID, "name": "Resync"},
        "membersAdded": [{"id": BOT_ID}],
        "channelData": {
            "tenant": {"id": TENANT},
            "team": {"id": CHANNEL},
            "eventType": "teamMemberAdded",
        },
    }


def mention_of_bot() -> dict[str, Any]:
    return {
        "type": "mention",
        "text": "<at>Resync</at>",
        "mentioned": {"id": BOT_ID, "name": "Resync"},
    }


def execute(
    *,
    action: dict[str, Any],
    service_url: str,
    card_message_id: str,
    conversation_id: str = "a:personal-chat",
    user_id: str = "29:bob",
    aad: str = "aad-bob",
    name: str = "Bob",
    activity_id: str | None = None,
) -> dict[str, Any]:
    """The ``adaptiveCard/action`` invoke Teams sends when an Action.Execute is clicked."""
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": activity_id or f"inv-{next(_activity_ids)}",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user_id, "name": name, "aadObjectId": aad},
        "conversation": {"id": conversation_id, "tenantId": TENANT},
        "recipient": {"id": BOT_ID, "name": "Resync"},
        "replyToId": card_message_id,
        "value": {
            "action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
            "trigger": "manual",
        },
    }


# --- the bot under test --------------------------------------------------------------------


class RecordingAudit:
    """Keeps what is recorded (the real log is tested in tests/integrations/audit)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def record(self, **fields: Any) -> None:
        self.records.append(fields)

    def of(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["action"] == action]


class EchoAsker:
    """Answers from the question itself, so tests can see what the bot understood."""

    def __init__(self) -> None:
        self.events: list[ChatEvent] = []

    async def ask(self, event: ChatEvent) -> Reply:
        self.events.append(event)
        text = event.text
        if text.startswith("rows "):
            count = int(text.split()[1])
            return Reply(
                headline=f"{count} jobs",
                blocks=(
                    Table(
                        columns=("Job", "Status", "Note"),
                        rows=tuple((f"JOB_{i:05d}", "ABEND", "x" * 40) for i in range(count)),
                        total=count,
                    ),
                ),
            )
        if text == "approve?":
            return Reply(
                headline="Rerun PAYROLL_EXTRACT?",
                tone=Tone.WARNING,
                blocks=(
                    Fields(items=(("Job", "PAYROLL_EXTRACT"), ("Runbook", "rerun"))),
                    Actions(
                        buttons=(
                            Button(
                                action_id="runbook.approve",
                                label="Approve",
                                value="rb-1",
                                style="primary",
                            ),
                            Button(
                                action_id="runbook.reject",
                                label="Reject",
                                value="rb-1",
                                style="danger",
                            ),
                        )
                    ),
                ),
            )
        return Reply(
            headline=f"You asked: {text}",
            tone=Tone.SUCCESS,
            blocks=(
                Paragraph(text=text),
                Preformatted(text=f"log line for {text}"),
                Context(items=(event.conversation_key, event.actor.identity)),
            ),
        )


class RecordingDecisions:
    """A ``runbook.`` click handler that remembers clicks and answers like the runbook service.

    The card is replaced for everyone by a card without buttons saying who decided
    (``replace=False``: the card stays); the clicker gets a private note; the thread hears
    what was done. ``delay``: seconds to take.
    """

    def __init__(self, *, delay: float = 0.0, replace: bool = True) -> None:
        self.decisions: list[Click] = []
        self.delay = delay
        self.replace = replace

    async def __call__(self, decision: Click) -> ClickOutcome | None:
        self.decisions.append(decision)
        if self.delay:
            await asyncio.sleep(self.delay)
        who = decision.actor.display_name
        return ClickOutcome(
            reply_for_clicker=Reply(headline=f"You chose {decision.label}.", tone=Tone.SUCCESS),
            updated_message=Reply(
                headline=f"{decision.label}: decided by {who} ({decision.actor.identity})",
                blocks=(Fields(items=(("Request", decision.value),)),),
            )
            if self.replace
            else None,
            thread_reply=Reply(headline=f"{decision.label} by {who}: done"),
        )


@dataclass
class Harness:
    """The bot on loopback, its fake connector and what it recorded.

    ``signer``: the identity provider the harness started itself (the default, authenticated
    bot); `post` then signs every request like the Bot Framework would, unless told otherwise.
    """

    url: str
    connector: FakeConnector
    audit: RecordingAudit
    asker: Any
    store: MemoryStore
    surface: TeamsSurface
    core: ChatCore
    session: aiohttp.ClientSession
    signer: OpenIdServer | None = None

    async def post(
        self,
        activity: dict[str, Any],
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        unsigned: bool = False,
    ) -> aiohttp.ClientResponse:
        sent = dict(headers or {})
        if token is None and self.signer is not None and not unsigned:
            token = self.signer.token(service_url=str(activity.get("serviceUrl") or ""))
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response = await self.session.post(f"{self.url}/api/messages", json=activity, headers=sent)
        await response.read()
        return response


def make_core(
    *,
    asker: Any,
    audit: Any | None,
    store: MemoryStore,
    decisions: ClickHandler | None = None,
    working_after_seconds: float | None = None,
) -> ChatCore:
    """The chat core as ``resync serve`` builds it, with ``decisions`` for ``runbook.`` clicks."""
    dispatcher = Dispatcher(
        assistant=asker,
        audit=audit,
        clicks={"runbook.": decisions} if decisions is not None else None,
        answer_timeout_seconds=10,
    )
    extra: dict[str, Any] = {}
    if working_after_seconds is not None:
        extra["working_after_seconds"] = working_after_seconds
    return ChatCore(dispatcher=dispatcher, store=store, audit=audit, **extra)


class StaticTokens:
    """Outbound token source for tests with an app id (no MSAL, no network)."""

    async def token(self) -> str | None:
        return "outbound-test-token"


@asynccontextmanager
async def running_bot(
    *,
    asker: Any | None = None,
    app_id: str | None = None,
    openid_metadata_url: str | None = None,
    token_source: TokenSource | None = None,
    decisions: ClickHandler | None = None,
    members: dict[str, dict[str, Any]] | None = None,
    card_budget_bytes: int | None = None,
    decision_wait_seconds: float | None = None,
    working_after_seconds: float | None = None,
    unauthenticated: bool = False,
    audit: Any | None = None,
    tenants: str | None = TENANT,
    tenant_id: str | None = None,
) -> AsyncIterator[Harness]:
    """Run the Teams surface on 127.0.0.1:0 with a fake connector beside it.

    The surface sits on the real chat core: ``Dispatcher(assistant=asker, audit=audit,
    clicks={"runbook.": decisions})`` and ``ChatCore`` over a `MemoryStore`.

    By default the bot is authenticated as in production: without ``app_id`` the harness
    starts its own identity provider and `Harness.post` signs each request.
    ``unauthenticated=True``: no app id, local mode (unsigned requests, approvals off).
    ``working_after_seconds``: when the core tells a slow click's clicker "working…".
    ``audit``: an audit sink instead of the recording one (e.g. one that fails).
    ``tenants``: ``RESYNC_TEAMS_ALLOWED_TENANTS`` (the activities' `TENANT` by default);
    ``tenant_id``: ``RESYNC_TEAMS_TENANT_ID``.
    """
    signer: OpenIdServer | None = None
    if app_id is None and not unauthenticated:
        signer = OpenIdServer(key=_test_key())
        await signer.start()
        app_id = APP_ID
        openid_metadata_url = signer.metadata_url
        token_source = token_source or StaticTokens()
    connector = FakeConnector(
        members=members
        if members is not None
        else {
            "29:alice": {
                "id": "29:alice",
                "name": "Alice Smith",
                "aadObjectId": "aad-alice",
                "userPrincipalName": "alice@contoso.com",
            },
            "29:bob": {
                "id": "29:bob",
                "name": "Bob Jones",
                "aadObjectId": "aad-bob",
                "userPrincipalName": "Bob@Contoso.com",
            },
        }
    )
    await connector.start()
    recording = RecordingAudit()
    asker = asker or EchoAsker()
    store = MemoryStore()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        teams_app_id=app_id,
        teams_app_password=None,
        teams_allowed_tenants=tenants,
        teams_tenant_id=tenant_id,
    )
    extra: dict[str, Any] = {}
    if card_budget_bytes is not None:
        extra["card_budget_bytes"] = card_budget_bytes
    if decision_wait_seconds is not None:
        extra["decision_wait_seconds"] = decision_wait_seconds
    core = make_core(
        asker=asker,
        audit=recording if audit is None else audit,
        store=store,
        decisions=decisions,
        working_after_seconds=working_after_seconds,
    )
    surface = TeamsSurface(
        settings=settings,
        core=core,
        store=store,
        openid_metadata_url=openid_metadata_url,
        allow_unauthenticated=app_id is None,
        token_source=token_source,
        **extra,
    )
    app = web.Application()
    surface.mount(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as session:
            yield Harness(url, connector, recording, asker, store, surface, core, session, signer)
    finally:
        await core.tasks.stop(grace_seconds=5)
        await surface.stop()
        await runner.cleanup()
        await connector.stop()
        if signer is not None:
            await signer.stop()
