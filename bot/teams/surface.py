"""`TeamsSurface`: Microsoft Teams on ``POST /api/messages``, translated for the chat core.

Request path::

    size limit (413) -> bearer token (401; whenever an app id is configured)
      -> parse and shape (400, one log line) -> token bound to the activity's serviceUrl
      and channel (403) -> serviceUrl present (400; loopback only in local mode)
      -> tenant allowed (403) -> hand to `bot.core.ChatCore` -> 200

- ``message``: the conversation reference is refreshed, then `ChatCore.message` does the
  rest in the background (dedupe, who, rate limit, audit, answer, paging); `TeamsPort`
  replies with an Adaptive Card.
- A click: an ``adaptiveCard/action`` invoke (``Action.Execute``), or a ``message`` with a
  ``value`` (``Action.Submit`` from older clients). It counts only for a button on the
  stored card (`bot.teams.clicks`), with the stored value and label; then `ChatCore.decide`
  runs and the invoke waits up to ``decision_wait_seconds`` for the clicker's first note
  (the invoke response is the card with that note, private to the clicker). Anything else
  is answered `texts.BUTTON_NOT_HERE`.
- ``conversationUpdate`` / ``installationUpdate``: the reference is stored, so Resync can
  post in that conversation later (alerts, progress).

Tenants: only activities from an allowed tenant (``RESYNC_TEAMS_ALLOWED_TENANTS``, else
``RESYNC_TEAMS_TENANT_ID``) are answered; with neither set an authenticated surface answers
no tenant (fail closed, a warning at start says what to set). Others are refused (403, a
warning) before anything is stored or reaches the core.

Without an app id the surface runs only with ``allow_unauthenticated`` (local testing):
senders are ``teams:<from.id>`` (`resolve_sender`), the port is not ``verified``, so the
core refuses approvals (`texts.APPROVALS_NEED_AUTH`), and only loopback ``serviceUrl``
values are accepted, so an unsigned message cannot make Resync post to another host. The
tenant is checked only when one is configured (nothing in an unsigned body proves it).

The Bot Framework SDK is used only for conversation references and outbound credentials;
connector calls are plain HTTP (`ConnectorClient`), so moving to the Microsoft 365 Agents
SDK touches ``bot/teams`` only.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import structlog
from aiohttp import web

from agents.messages import ChatEvent, Reply
from bot.core.conversation import ChatCore
from bot.core.port import Posted
from bot.teams.activity import MalformedActivityError, parse_activity, tenant_of
from bot.teams.card_records import CardRecords
from bot.teams.cards import CARD_BUDGET_BYTES, CARD_CONTENT_TYPE
from bot.teams.clicks import Clicks, click_data
from bot.teams.connector import NO_TOKENS, BotFrameworkTokens, ConnectorClient, TokenSource
from bot.teams.identity import Sender, is_loopback_url, resolve_sender
from bot.teams.inbound import to_chat_event
from bot.teams.jwt_auth import (
    BOT_FRAMEWORK_OPENID_METADATA,
    AuthError,
    BotFrameworkAuthenticator,
    VerifiedToken,
    issuers_for,
)
from bot.teams.outbound import Outbound
from bot.teams.port import TeamsPort
from bot.teams.references import ConversationReferences
from config.settings import Settings
from integrations.store import Store, StoreError

__all__ = ["DECISION_WAIT_SECONDS", "TeamsSurface", "teams_enabled"]

log = structlog.get_logger(__name__)

_MAX_BODY: Final = 512 * 1024
DECISION_WAIT_SECONDS: Final = 5.0
"""Teams wants an invoke answered within ~10 s (15 s hard): the longest a click waits."""


def teams_enabled(settings: Settings) -> bool:
    """Whether ``resync serve`` should mount the Teams surface.

    Args:
        settings: The effective configuration.

    Returns:
        True when a Teams app id is configured, or when the explicit local mode setting
        (``RESYNC_TEAMS_ALLOW_UNAUTHENTICATED``) is on.
    """
    return bool(settings.teams_app_id) or bool(settings.teams_allow_unauthenticated)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _invoke_card(card: dict[str, Any]) -> web.Response:
    return web.json_response({"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card})


async def _body(request: web.Request) -> bytes | None:
    """The whole body, or None once it grows past the limit (chunked bodies have no length)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > _MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _allowed_tenants(settings: Settings, *, authenticated: bool) -> frozenset[str] | None:
    """The tenants answered; None: no check (local mode without a configured tenant)."""
    tenants = settings.teams_tenant_ids
    if tenants or not authenticated:
        return tenants or None
    log.warning(
        "teams.NO_TENANT_ALLOWED",
        detail="Neither RESYNC_TEAMS_ALLOWED_TENANTS nor RESYNC_TEAMS_TENANT_ID is set: every "
        "Teams activity is refused (403). Set RESYNC_TEAMS_ALLOWED_TENANTS to your tenant id.",
    )
    return frozenset()


class TeamsSurface:
    """Resync's Teams adapter: ``/api/messages`` in, `TeamsPort` out, the core in between."""

    def __init__(
        self,
        *,
        settings: Settings,
        core: ChatCore,
        store: Store,
        openid_metadata_url: str | None = None,
        allow_unauthenticated: bool = False,
        token_source: TokenSource | None = None,
        card_budget_bytes: int = CARD_BUDGET_BYTES,
        decision_wait_seconds: float = DECISION_WAIT_SECONDS,
    ) -> None:
        """Create the surface.

        Args:
            settings: App id, password, type and tenant come from here.
            core: Admission, answers, clicks, paging and audit.
            store: Conversation references, stored cards, member cache.
            openid_metadata_url: OpenID metadata with the signing keys (tests: a local one).
            allow_unauthenticated: Accept unsigned requests when no app id is configured
                (local testing only; logged as a warning; approvals are refused).
            token_source: Outbound bearer tokens; default: botframework credentials from
                the settings when an app id is configured, none otherwise.
            card_budget_bytes: Most bytes one card may take.
            decision_wait_seconds: Longest an ``Action.Execute`` invoke waits for the
                clicker's first note before answering with the card as it is.

        Raises:
            ValueError: No app id is configured and ``allow_unauthenticated`` is False.
        """
        self._core = core
        self._store = store
        self._refs = ConversationReferences(store=store)
        app_id = settings.teams_app_id
        self._auth: BotFrameworkAuthenticator | None = None
        if app_id:
            tenant = settings.teams_tenant_id if settings.teams_app_type != "MultiTenant" else None
            self._auth = BotFrameworkAuthenticator(
                app_id=app_id,
                openid_metadata_url=openid_metadata_url or BOT_FRAMEWORK_OPENID_METADATA,
                issuers=issuers_for(tenant_id=tenant),
            )
        elif allow_unauthenticated:
            log.warning(
                "teams.UNAUTHENTICATED",
                detail="No Teams app id: /api/messages accepts UNSIGNED requests from anyone. "
                "Local testing only; set RESYNC_TEAMS_APP_ID for any real use. Senders are "
                "teams:<from.id> (unverified), approvals are off.",
            )
        else:
            raise ValueError(
                "Teams needs RESYNC_TEAMS_APP_ID (and RESYNC_TEAMS_APP_PASSWORD); "
                "without an app id it runs only in explicit local mode (allow_unauthenticated)."
            )
        self._tenants = _allowed_tenants(settings, authenticated=self._auth is not None)
        if token_source is None:
            token_source = BotFrameworkTokens(settings=settings) if app_id else NO_TOKENS
        self._connector = ConnectorClient(tokens=token_source)
        outbound = Outbound(
            connector=self._connector,
            records=CardRecords(store=store),
            budget_bytes=card_budget_bytes,
        )
        self.port = TeamsPort(outbound=outbound, references=self._refs, verified=self.authenticated)
        self._clicks = Clicks(
            core=core,
            port=self.port,
            sender_of=self._sender,
            wait_seconds=decision_wait_seconds,
            budget_bytes=card_budget_bytes,
        )

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """Whether inbound requests are checked (an app id is configured)."""
        return self._auth is not None

    def mount(self, app: web.Application) -> None:
        """Serve ``POST /api/messages`` on ``app``.

        Args:
            app: The aiohttp application of ``resync serve``.
        """
        app.router.add_post("/api/messages", self._handle)

    async def stop(self) -> None:
        """Close the HTTP sessions (the process drains or stops the core's work first)."""
        await self._connector.close()
        if self._auth is not None:
            await self._auth.close()

    async def drain(self) -> None:
        """Wait until the work of every request so far is done (tests, benchmarks)."""
        await self._core.tasks.drain()

    # --- proactive ---------------------------------------------------------------------------

    async def post_to_channel(
        self,
        *,
        conversation_id: str,
        reply: Reply,
        thread_id: str | None = None,
        correlation: dict[str, str] | None = None,
    ) -> Posted | None:
        """Post proactively: a new post in a channel, a reply in its thread, or a chat message.

        Args:
            conversation_id: The channel or chat (its id without ``;messageid=``).
            reply: What to post (paged by the core).
            thread_id: Root message id of the thread to reply in; None starts a new post.
            correlation: Ids for the audit record (``chat.post``).

        Returns:
            The posted message (a new post's ``thread`` is its own id), or None when it
            could not be posted (no stored reference, connector failure: logged with a hint).
        """
        return await self._core.post(
            self.port,
            channel=conversation_id,
            thread=thread_id,
            reply=reply,
            correlation=correlation or {},
        )

    # --- request path ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > _MAX_BODY:
            return web.Response(status=413)
        token: VerifiedToken | None = None
        if self._auth is not None:
            try:
                token = await self._auth.verify(request.headers.get("Authorization"))
            except AuthError as exc:
                return self._refused(exc, request)
        raw = await _body(request)
        if raw is None:
            return web.Response(status=413)
        try:
            activity = parse_activity(raw)
        except MalformedActivityError as exc:
            log.warning("teams.activity_malformed", reason=str(exc), remote=request.remote)
            return web.Response(status=400, text="body is not a JSON activity")
        service_url = _str(activity.get("serviceUrl"))
        if token is not None:
            try:
                token.check(
                    service_url=service_url or "", channel_id=_str(activity.get("channelId"))
                )
            except AuthError as exc:
                return self._refused(exc, request)
        if service_url is None or not service_url.startswith(("https://", "http://")):
            return web.Response(status=400, text="activity has no serviceUrl")
        if self._auth is None and not is_loopback_url(service_url):
            # Unsigned: the serviceUrl is whatever the sender wrote, and answers go there.
            log.warning("teams.service_url_refused", service_url=service_url[:200])
            return web.Response(status=400, text="local mode accepts loopback serviceUrl only")
        if self._tenants is not None and tenant_of(activity) not in self._tenants:
            log.warning(
                "teams.tenant_refused",
                tenant=tenant_of(activity),
                conversation=str((activity.get("conversation") or {}).get("id"))[:200],
                hint="add the tenant to RESYNC_TEAMS_ALLOWED_TENANTS to answer it",
            )
            return web.Response(status=403)
        kind = activity.get("type")
        if kind == "invoke":
            activity_id = _str(activity.get("id"))
            if activity.get("name") != "adaptiveCard/action" or activity_id is None:
                return web.Response(status=501 if activity_id else 400)
            return _invoke_card(await self._clicks.invoke(activity, activity_id))
        if kind == "message":
            activity_id = _str(activity.get("id"))
            if activity_id is None:
                return web.Response(status=400, text="activity has no id")
            await self._remember(activity)
            if click_data(activity) is not None:
                self._clicks.submit(activity, activity_id)
            else:
                await self._core.receive(
                    self.port.answering(activity),
                    activity_id,
                    functools.partial(self._event, activity),
                    {"kind": "message"},
                )
        elif kind in ("conversationUpdate", "installationUpdate"):
            await self._remember(activity)
        return web.Response(status=200)

    @staticmethod
    def _refused(exc: AuthError, request: web.Request) -> web.Response:
        log.warning(
            "teams.auth_rejected", status=exc.status, reason=exc.reason, remote=request.remote
        )
        return web.Response(status=exc.status)

    async def _remember(self, activity: dict[str, Any]) -> None:
        try:
            await self._refs.remember(activity)
        except StoreError as exc:
            log.error("store.unavailable", use="teams_references", error=str(exc)[:200])

    async def _sender(self, activity: dict[str, Any]) -> Sender:
        return await resolve_sender(
            activity=activity,
            connector=self._connector,
            store=self._store,
            authenticated=self.authenticated,
        )

    async def _event(self, activity: dict[str, Any]) -> ChatEvent | None:
        return to_chat_event(activity=activity, actor=(await self._sender(activity)).actor)
