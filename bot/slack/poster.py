"""Everything Resync says in Slack goes through `SlackPoster`: one place for Web API errors.

What is said is audited once, by the chat core, the same way on every platform. Slack API
errors become one clear log line with what to do (`hint_for`); they never escape to the
caller, who gets None/False and decides whether a waiting person must be told another way
(``response_url``). A 429 is retried after ``Retry-After`` by the client's handler, except
for ``chat.update``: a blind retry could put back a card replaced meanwhile, so `update`
waits and retries itself, asking the card's version (`bot.core.cards`) before each try.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from agents.messages import Actor
from bot.core.cards import CardVersion
from bot.slack.blocks import SlackMessage

__all__ = ["SLACK_HOOKS_ORIGIN", "PostContext", "SlackPoster", "hint_for", "response_url_origins"]

log = structlog.get_logger(__name__)

_HINTS: Final = {
    "ratelimited": "Slack rate-limited Resync even after waiting Retry-After; the message was dropped.",
    "channel_not_found": "The channel does not exist or is private: invite the app (/invite @resync).",
    "not_in_channel": "Resync is not a member of the channel: invite it with /invite @resync.",
    "is_archived": "The channel is archived.",
    "token_revoked": "The bot token was revoked: reinstall the app and update RESYNC_SLACK_BOT_TOKEN.",
    "invalid_auth": "The bot token is not valid: check RESYNC_SLACK_BOT_TOKEN.",
    "not_authed": "No bot token was sent: set RESYNC_SLACK_BOT_TOKEN.",
    "account_inactive": "The bot user was deactivated: reinstall the app.",
    "missing_scope": "The app lacks a scope: compare its scopes with the manifest in docs/slack.md.",
    "message_not_found": "The message to update no longer exists.",
    "msg_too_long": "The message was too long for Slack (a rendering bug: please report it).",
    "invalid_blocks": "Slack refused the blocks (a rendering bug: please report it).",
}


SLACK_HOOKS_ORIGIN: Final = "https://hooks.slack.com"
UPDATE_TRIES: Final = 3  # like the rate-limit handler: one try and two retries
_RETRY_AFTER_MAX: Final = 60.0


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds Slack asked to wait (``Retry-After``; 1 when missing or unreadable)."""
    raw = next((v for k, v in (headers or {}).items() if str(k).lower() == "retry-after"), 1)
    try:
        return min(max(float(raw), 0.0), _RETRY_AFTER_MAX)
    except (TypeError, ValueError):
        return 1.0


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; None when it has no http(s) host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password is not None:
        return None
    default = 443 if parts.scheme == "https" else 80
    suffix = "" if port is None or port == default else f":{port}"
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def _host_for_log(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "?")[:100]
    except ValueError:
        return "?"


def response_url_origins(api_base_url: str) -> frozenset[str]:
    """Where a ``response_url`` may point: Slack's hooks host and the Web API's own host.

    Args:
        api_base_url: The Web API base URL in use (``RESYNC_SLACK_API_URL`` or Slack's).

    Returns:
        The allowed ``scheme://host[:port]`` origins.
    """
    origins = {SLACK_HOOKS_ORIGIN}
    api = _origin(api_base_url)
    if api is not None:
        origins.add(api)
    return frozenset(origins)


def hint_for(error: str) -> str:
    """What to do about a Slack API error code.

    Args:
        error: The ``error`` field of Slack's answer.

    Returns:
        One sentence for the log or for a person.
    """
    return _HINTS.get(error, "Slack refused the call; see the error code in Slack's API docs.")


@dataclass(frozen=True, slots=True)
class PostContext:
    """Who and what a post is for (log correlation).

    Attributes:
        actor: The person being answered, when there is one.
        channel: Channel id.
        thread: Thread root ts.
        event_id: The delivery that caused the post.
    """

    actor: Actor | None
    channel: str | None
    thread: str | None
    event_id: str


class SlackPoster:
    """Posts, updates and responds in Slack, logging every refused call with a hint."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        response_hosts: Iterable[str] | None = None,
    ) -> None:
        """Create a poster.

        Args:
            client: The Web API client.
            response_hosts: Origins (``scheme://host[:port]``) a ``response_url`` may point
                at; default: `response_url_origins` of the client's base URL.
        """
        self._client = client
        # chat.update must not be retried blindly: same settings, no retry handlers.
        self._updates = AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            headers=dict(client.headers),
            team_id=client.default_params.get("team_id"),
            retry_handlers=[],
        )
        self._response_hosts = frozenset(
            response_url_origins(client.base_url) if response_hosts is None else response_hosts
        )
        self.last_error: str | None = None

    async def post(
        self, *, channel: str, message: SlackMessage, thread_ts: str | None, context: PostContext
    ) -> str | None:
        """``chat.postMessage``.

        Args:
            channel: Channel id.
            message: What to post.
            thread_ts: Thread to answer in, or None for top level.
            context: Log correlation.

        Returns:
            The new message's ts, or None when Slack refused (see `last_error`).
        """
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
        }
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        result = await self.call("chat.postMessage", kwargs, context)
        return None if result is None else str(result.get("ts") or "") or None

    async def update(
        self,
        *,
        channel: str,
        ts: str,
        message: SlackMessage,
        context: PostContext,
        version: CardVersion | None = None,
    ) -> bool:
        """``chat.update``; a 429 is waited out (``Retry-After``) and retried here.

        Args:
            channel: Channel id.
            ts: The message to replace.
            message: Its new content.
            context: Log correlation.
            version: Asked before every try: once an equal or newer version is shown, this
                one is not sent, so a retry never puts back an older card.

        Returns:
            True when Slack accepted (or a newer version is shown already).
        """
        kwargs = {"channel": channel, "ts": ts, "text": message.text, "blocks": message.blocks}
        wait: float | None = None

        async def once() -> bool:
            nonlocal wait
            self._updates.session = self._client.session  # the pooled session, if any
            data, wait = await self._attempt("chat.update", kwargs, context, self._updates)
            return data is not None

        for attempt in range(1, UPDATE_TRIES + 1):
            sent = await (once() if version is None else version.send(once))
            if sent is None:
                return True  # a newer card is shown: nothing of this one is needed
            if sent or wait is None or attempt == UPDATE_TRIES:
                return sent
            log.info("slack.update_rate_limited", retry_after=wait, attempt=attempt, ts=ts)
            await asyncio.sleep(wait)
        return False  # pragma: no cover - the loop returns

    async def ephemeral(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None,
        context: PostContext,
        blocks: list[dict[str, Any]] | None = None,
    ) -> bool:
        """``chat.postEphemeral``: a note only ``user`` sees.

        Args:
            channel: Channel id.
            user: Who sees it.
            text: Escaped text (the notification text when ``blocks`` are given).
            thread_ts: Thread, or None.
            context: Log correlation.
            blocks: Block Kit blocks, optional.

        Returns:
            True when Slack accepted.
        """
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        return await self.call("chat.postEphemeral", kwargs, context) is not None

    def checked_response_url(self, response_url: str) -> str:
        """The ``response_url`` when it points at Slack (or the configured API host), else "".

        It comes from the request body: Resync only posts to ``https://hooks.slack.com/``
        and to the Web API base URL's host; anything else is ignored with a warning.

        Args:
            response_url: From the command or interaction payload.

        Returns:
            The URL, or "" when it is empty or not allowed.
        """
        if not response_url:
            return ""
        if _origin(response_url) in self._response_hosts:
            return response_url
        log.warning(
            "slack.response_url_refused",
            host=_host_for_log(response_url),
            allowed=sorted(self._response_hosts),
        )
        return ""

    async def respond(
        self, *, response_url: str, message: SlackMessage, context: PostContext
    ) -> bool:
        """Answer through a slash command's ``response_url`` (ephemeral, works without membership).

        Args:
            response_url: From the command payload.
            message: What to say.
            context: Log correlation.

        Returns:
            True when Slack accepted; False also when ``response_url`` is not allowed
            (`checked_response_url`), in which case nothing is sent.
        """
        if not self.checked_response_url(response_url):
            return False
        webhook = AsyncWebhookClient(url=response_url, timeout=10)
        outcome = "ok"
        try:
            response = await webhook.send(
                text=message.text, blocks=message.blocks or None, response_type="ephemeral"
            )
            if response.status_code != 200:
                outcome = f"http_{response.status_code}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = type(exc).__name__
        if outcome != "ok":
            log.warning("slack.respond_failed", outcome=outcome, event_id=context.event_id)
        return outcome == "ok"

    async def call(
        self, method: str, kwargs: dict[str, Any], context: PostContext
    ) -> dict[str, Any] | None:
        """Any Web API method, with the same error handling and hints (None when refused)."""
        return (await self._attempt(method, kwargs, context, self._client))[0]

    async def _attempt(
        self, method: str, kwargs: dict[str, Any], context: PostContext, client: AsyncWebClient
    ) -> tuple[dict[str, Any] | None, float | None]:
        """One call: (data or None when refused, seconds to wait when rate-limited)."""
        outcome = "ok"
        data: dict[str, Any] | None = None
        wait: float | None = None
        try:
            response = await client.api_call(method, json=kwargs)
            data = dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            outcome = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            if exc.response.status_code == 429:
                wait = _retry_after(exc.response.headers)
            log.warning(
                "slack.api_error",
                method=method,
                error=outcome,
                channel=kwargs.get("channel"),
                event_id=context.event_id,
                hint=hint_for(outcome),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = type(exc).__name__
            log.warning(
                "slack.unreachable",
                method=method,
                error=outcome,
                event_id=context.event_id,
                hint="Check the network path to Slack (or RESYNC_SLACK_API_URL).",
            )
        self.last_error = None if outcome == "ok" else outcome
        return data, wait
