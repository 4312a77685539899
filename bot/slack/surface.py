"""`SlackSurface`: Slack payloads in, the chat core in the middle, Block Kit out.

Request path (HTTP ``POST /slack/events`` or a Socket Mode envelope)::

    verify the signature on the raw body (HTTP only; 401 when bad or stale)
      -> parse and check the shape (400 when malformed, one log line, no traceback)
      -> workspace allowed (`bot.slack.workspaces`; else dropped with a warning)
      -> hand to `bot.core.ChatCore` -> ack (empty 200)

Everything else (dedupe, identity, rate limit, audit, answer, paging, clicks) happens in
the core's background work; this module only translates: a slash command, a mention or a
DM becomes a `ChatEvent`, a ``block_actions`` action a `Click`, and `SlackPort` turns the
core's replies into Web API calls.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Final
from urllib.parse import parse_qs

import aiohttp
import structlog
from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import ChatEvent, Click
from bot.core.conversation import ChatCore
from bot.slack.commands import command_question
from bot.slack.identity import IdentityResolver
from bot.slack.interactions import decision_from_action
from bot.slack.payloads import malformed
from bot.slack.port import SlackPort
from bot.slack.poster import SlackPoster, response_url_origins
from bot.slack.socket_mode import SocketModeLink
from bot.slack.usergroups import SlackUserGroups
from bot.slack.verify import RequestVerifier
from bot.slack.workspaces import WorkspaceGate
from config.settings import Settings
from integrations.store import Store

__all__ = ["EVENTS_PATH", "SlackSurface", "api_base_url", "slack_enabled"]

log = structlog.get_logger(__name__)

EVENTS_PATH: Final = "/slack/events"
_DEFAULT_API: Final = "https://slack.com/api/"
_MENTION: Final = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def slack_enabled(settings: Settings) -> bool:
    """Whether Slack is configured.

    Args:
        settings: The application settings.

    Returns:
        True with a bot token and either a signing secret (HTTP) or an app token (Socket Mode).
    """
    return settings.slack_bot_token is not None and (
        settings.slack_signing_secret is not None or settings.slack_app_token is not None
    )


def api_base_url(settings: Settings) -> str:
    """The Web API base URL: ``RESYNC_SLACK_API_URL`` (with ``/api``) or Slack's own.

    Args:
        settings: The application settings.

    Returns:
        A URL ending in ``/``, as `AsyncWebClient` expects.
    """
    return _DEFAULT_API if settings.slack_api_url is None else settings.slack_api_url + "/"


def _retry_number(header: str | None) -> int:
    """``X-Slack-Retry-Num`` as a number; it is not signed, so anything odd counts as a retry."""
    if not header:
        return 0
    value = header.strip()
    if value.isascii() and value.isdigit() and len(value) <= 6:
        return int(value)
    log.warning("slack.retry_header_malformed", value=value[:40])
    return 1


def _secret(value: Any) -> str:
    return "" if value is None else str(value.get_secret_value())


def strip_mention(text: str, bot_id: str | None) -> str:
    """The text of a mention without the mention of the bot, whitespace collapsed.

    Args:
        text: The message text.
        bot_id: The bot's user id, when known (else a leading mention is removed).

    Returns:
        What the person asked.
    """
    if bot_id:
        text = re.sub(rf"<@{re.escape(bot_id)}(?:\|[^>]*)?>", " ", text)
    elif text.lstrip().startswith("<@"):
        text = _MENTION.sub(" ", text, count=1)
    return " ".join(text.split())


class SlackSurface:
    """Resync's Slack adapter: HTTP events endpoint, Socket Mode, translation."""

    def __init__(
        self,
        *,
        settings: Settings,
        core: ChatCore,
        store: Store,
        client: AsyncWebClient | None = None,
    ) -> None:
        """Create the surface (nothing listens until `mount` / `start`).

        Args:
            settings: The application settings (Slack tokens, API URL).
            core: Admission, answers, clicks and delivery.
            store: The identity and user-group caches.
            client: Web API client; built from the settings when None.
        """
        self._settings = settings
        self._core = core
        self._owns_client = client is None
        self._client = client or AsyncWebClient(
            token=_secret(settings.slack_bot_token) or None, base_url=api_base_url(settings)
        )
        if not any(
            isinstance(h, AsyncRateLimitErrorRetryHandler) for h in self._client.retry_handlers
        ):
            self._client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self._session: aiohttp.ClientSession | None = None
        poster = SlackPoster(
            client=self._client, response_hosts=response_url_origins(api_base_url(settings))
        )
        self.port = SlackPort(poster=poster, client=self._client)
        self._identity = IdentityResolver(client=self._client, store=store)
        # Approval groups may name Slack user groups: resolved on the same client and cache.
        self.usergroups = SlackUserGroups(client=self._client, store=store, identity=self._identity)
        secret = _secret(settings.slack_signing_secret)
        self._verifier = RequestVerifier(signing_secret=secret) if secret else None
        self._gate = WorkspaceGate(client=self._client, allowed=settings.slack_workspace_ids)
        self._socket: SocketModeLink | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        """Serve ``POST /slack/events`` (events, slash commands, interactivity) on ``app``.

        Args:
            app: The process's aiohttp application.
        """
        if self._verifier is None:
            log.info("slack.http_disabled", reason="no RESYNC_SLACK_SIGNING_SECRET")
            return
        app.router.add_post(EVENTS_PATH, self._http)

    async def start(self) -> None:
        """Open a pooled HTTP session, ask ``auth.test``; connect Socket Mode when configured."""
        if self._owns_client and self._client.session is None:
            self._session = aiohttp.ClientSession()  # one pool instead of a connection per call
            self._client.session = self._session
        await self._gate.start()  # the bot's user id and, by default, its workspace
        app_token = _secret(self._settings.slack_app_token)
        if app_token:
            self._socket = SocketModeLink(
                app_token=app_token, api_base_url=self._client.base_url, handler=self._route
            )
            await self._socket.start()

    async def stop(self) -> None:
        """Disconnect and close the HTTP session (the process drains the core's work first)."""
        if self._socket is not None:
            await self._socket.stop()
            self._socket = None
        if self._session is not None:
            self._client.session = None
            await self._session.close()
            self._session = None

    async def drain(self) -> None:
        """Wait until the work of every delivery so far is done (tests, benchmarks)."""
        await self._core.tasks.drain()

    # --- request path ----------------------------------------------------------------------

    async def _http(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        assert self._verifier is not None  # mounted only with a signing secret
        problem = self._verifier.verify(body=body, headers=request.headers)
        if problem is not None:
            log.warning("slack.request_refused", reason=problem, remote=request.remote)
            return web.Response(status=401, text="invalid Slack request")
        retry = _retry_number(request.headers.get("X-Slack-Retry-Num"))
        try:
            if request.content_type == "application/json":
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                if data.get("type") == "url_verification":
                    return web.json_response({"challenge": str(data.get("challenge", ""))})
                if data.get("type") != "event_callback":
                    return web.Response(status=200)
                kind, payload = "events_api", data
            else:
                form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                if "payload" in form:
                    kind, payload = "interactive", json.loads(form["payload"])
                    if not isinstance(payload, dict):
                        raise ValueError("payload not an object")
                elif "command" in form:
                    kind, payload = "slash_commands", dict(form)
                else:
                    return web.Response(status=200)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            log.warning("slack.request_malformed", error=str(exc)[:200])
            return web.Response(status=400, text="malformed Slack request")
        if not await self._deliver(kind, payload, retry):
            return web.Response(status=400, text="malformed Slack request")
        return web.Response(status=200)

    async def _route(self, kind: str, payload: dict[str, Any], retry: int) -> None:
        """Socket Mode's handler (the envelope is acked when this returns)."""
        await self._deliver(kind, payload, retry)

    async def _deliver(self, kind: str, payload: dict[str, Any], retry: int) -> bool:
        """Hand one delivery to the core; returns at once (the caller acks).

        Returns:
            False when the payload is malformed; a delivery from a workspace that is not
            allowed counts as handled (dropped, logged), so Slack does not send it again.
        """
        problem = malformed(kind, payload)
        if problem is not None:
            log.warning("slack.request_malformed", kind=kind, error=problem)
            return False
        if not await self._gate.admits(kind, payload):
            return True
        if kind == "events_api":
            await self._on_event(payload, retry)
        elif kind == "slash_commands":
            await self._on_command(payload)
        elif kind == "interactive" and payload.get("type") == "block_actions":
            self._on_actions(payload)
        return True

    # --- translation -----------------------------------------------------------------------

    async def _on_command(self, form: dict[str, Any]) -> None:
        trigger = str(form.get("trigger_id") or uuid.uuid4().hex)
        text = str(form.get("text", ""))
        question = command_question(text)
        port = self.port.for_command(
            response_url=str(form.get("response_url", "")), delivery_id=trigger
        )

        async def event() -> ChatEvent:
            actor = await self._identity.resolve(
                user_id=str(form.get("user_id", "")), fallback_name=form.get("user_name") or None
            )
            channel = str(form.get("channel_id", ""))
            return ChatEvent(event_id=trigger, actor=actor, channel_id=channel, text=question)

        details: dict[str, object] = {
            "kind": "command",
            "command": form.get("command"),
            "typed": text,
        }
        await self._core.receive(port, trigger, event, details)

    async def _bot_id(self, envelope: dict[str, Any]) -> str | None:
        for auth in envelope.get("authorizations") or ():
            if isinstance(auth, dict) and auth.get("is_bot") and auth.get("user_id"):
                return str(auth["user_id"])
        return await self._gate.bot_user_id()  # None: the leading mention is stripped instead

    async def _on_event(self, envelope: dict[str, Any], retry: int) -> None:
        raw = envelope.get("event")
        if not isinstance(raw, dict):
            return
        kind = raw.get("type")
        is_dm = kind == "message" and raw.get("channel_type") == "im"
        if kind != "app_mention" and not is_dm:
            return
        if raw.get("bot_id") or raw.get("subtype"):
            return  # our own posts and edits: never answer a bot
        event_id = str(envelope.get("event_id") or raw.get("client_msg_id") or raw.get("ts"))

        async def event() -> ChatEvent | None:
            bot_id = await self._bot_id(envelope)
            user_id = str(raw.get("user", ""))
            if not user_id or user_id == bot_id:
                return None
            actor = await self._identity.resolve(user_id=user_id)
            text = strip_mention(str(raw.get("text", "")), bot_id)
            return ChatEvent(
                event_id=event_id,
                actor=actor,
                channel_id=str(raw.get("channel", "")),
                thread_id=str(raw.get("thread_ts") or raw.get("ts") or "") or None,
                text=text or "help",
            )

        details: dict[str, object] = {"kind": "dm" if is_dm else "mention", "retry": retry}
        await self._core.receive(self.port, event_id, event, details)

    def _on_actions(self, payload: dict[str, Any]) -> None:
        user: dict[str, Any] = payload.get("user") or {}
        trigger = str(payload.get("trigger_id", ""))
        for action in payload.get("actions") or ():
            if not isinstance(action, dict):
                continue
            delivery = f"{trigger}:{action.get('action_id', '')}:{action.get('action_ts', '')}"

            async def click(action: dict[str, Any] = action) -> Click:
                actor = await self._identity.resolve(
                    user_id=str(user.get("id", "")),
                    fallback_name=user.get("name") or user.get("username"),
                )
                return decision_from_action(payload=payload, action=action, actor=actor)

            self._core.click(port=self.port, delivery_id=delivery, click=click)
