"""`SlackSurface`: Slack in, `Dispatcher` in the middle, Block Kit out.

Request path (HTTP ``POST /slack/events`` or a Socket Mode envelope)::

    verify signature on the raw body (HTTP only; 401 when bad or stale)
      -> parse -> spawn a task -> ack (empty 200 / envelope ack)

Task path (never in the request path)::

    dedupe (store.claim on event_id / trigger_id / action) -> resolve identity (users.info)
      -> rate limit (store.hit) -> audit slack.command|slack.mention|slack.click
      -> post "Looking up …" -> Dispatcher.handle -> chat.update with the answer's page 1
      (further pages stored behind a "More" button)

Clicks (``block_actions``): deduped per click, audited ``slack.click``; More pages a long
answer; ``runbook.*`` buttons go to the `agents.messages.ClickHandler` in their own task
(every click: the runbook service decides, the card changes only with its answer); other
buttons lose their buttons on the first click, then reach the handler.

Errors: nothing raises out of a task; Slack API errors are logged with a hint by
`bot.slack.poster.SlackPoster`, and a person waiting on a slash command hears about them
through the command's ``response_url``.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Coroutine
from datetime import UTC
from typing import Any, Final
from urllib.parse import parse_qs

import aiohttp
import structlog
from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import (
    Actor,
    ChatEvent,
    Click,
    ClickOutcome,
    Paragraph,
    Platform,
    Reply,
    Tone,
    is_runbook_action,
)
from bot.dispatch import Dispatcher
from bot.slack.blocks import (
    MORE_ACTION_ID,
    SlackMessage,
    decision_note,
    render_pages,
    with_more,
)
from bot.slack.commands import command_question
from bot.slack.escape import escape
from bot.slack.identity import IdentityResolver
from bot.slack.interactions import ClickHandler, decision_from_action
from bot.slack.poster import PostContext, SlackPoster, hint_for, response_url_origins
from bot.slack.socket_mode import SocketModeLink
from bot.slack.usergroups import SlackUserGroups
from bot.slack.verify import RequestVerifier
from bot.surface_audit import record_surface_event
from config.settings import Settings
from integrations.audit.sink import AuditSink
from integrations.store import Store, StoreError

__all__ = ["EVENTS_PATH", "SlackSurface", "slack_enabled"]

log = structlog.get_logger(__name__)

EVENTS_PATH: Final = "/slack/events"
DEDUPE_TTL_SECONDS: Final = 3600.0
PAGES_TTL_SECONDS: Final = 24 * 3600.0
RATE_LIMIT: Final = 20
RATE_WINDOW_SECONDS: Final = 60.0
# Answers worked on at once: bounds the load on TWS and keeps acks fast during bursts
# (queued work waits in the loop, not in Slack's request).
MAX_CONCURRENT_WORK: Final = 16
_DEFAULT_API: Final = "https://slack.com/api/"
_MENTION: Final = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CLICK_FAILED: Final = Reply(
    headline="I could not act on that click.",
    tone=Tone.ERROR,
    blocks=(Paragraph(text="The error is in the log; try again or ask an administrator."),),
)


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


class SlackSurface:
    """Resync's Slack adapter: HTTP events endpoint, Socket Mode, rendering and delivery."""

    def __init__(
        self,
        *,
        settings: Settings,
        dispatcher: Dispatcher,
        audit: AuditSink,
        store: Store,
        client: AsyncWebClient | None = None,
        on_decision: ClickHandler | None = None,
    ) -> None:
        """Create the surface (nothing listens until `mount` / `start`).

        Args:
            settings: The application settings (Slack tokens, command name, API URL).
            dispatcher: Answers questions.
            audit: The audit log.
            store: Dedupe, rate limits, identity cache, stored pages.
            client: Web API client; built from the settings when None.
            on_decision: Receives button clicks other than "More" (e.g. runbook approvals).
        """
        self._settings = settings
        self._dispatcher = dispatcher
        self._audit = audit
        self._store = store
        self._owns_client = client is None
        self._client = client or AsyncWebClient(
            token=_secret(settings.slack_bot_token) or None, base_url=api_base_url(settings)
        )
        self._session: aiohttp.ClientSession | None = None
        if not any(
            isinstance(h, AsyncRateLimitErrorRetryHandler) for h in self._client.retry_handlers
        ):
            self._client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self._poster = SlackPoster(
            client=self._client,
            audit=audit,
            response_hosts=response_url_origins(api_base_url(settings)),
        )
        self._identity = IdentityResolver(client=self._client, store=store)
        # Approval groups may name Slack user groups: resolved on the same client and cache.
        self.usergroups = SlackUserGroups(client=self._client, store=store, identity=self._identity)
        secret = _secret(settings.slack_signing_secret)
        self._verifier = RequestVerifier(signing_secret=secret) if secret else None
        self._on_decision = on_decision
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_WORK)
        self._socket: SocketModeLink | None = None
        self._bot_user_id: str | None = None

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
        """Open a pooled HTTP session for the Web API; connect Socket Mode when configured.

        Socket Mode is used when ``RESYNC_SLACK_APP_TOKEN`` is set.
        """
        if self._owns_client and self._client.session is None:
            # One pooled session instead of a new connection per Web API call.
            self._session = aiohttp.ClientSession()
            self._client.session = self._session
        app_token = _secret(self._settings.slack_app_token)
        if not app_token:
            return
        self._socket = SocketModeLink(
            app_token=app_token, api_base_url=self._client.base_url, handler=self._route
        )
        await self._socket.start()

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Disconnect and let answers in progress finish (then cancel what is left).

        Args:
            grace_seconds: How long in-flight work may take to finish.
        """
        if self._socket is not None:
            await self._socket.stop()
            self._socket = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._session is not None:
            self._client.session = None
            await self._session.close()
            self._session = None

    async def drain(self) -> None:
        """Wait until every spawned task is done (tests, benchmarks, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

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
                if data.get("type") == "event_callback":
                    await self._route("events_api", data, retry)
                return web.Response(status=200)
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            if "payload" in form:
                payload = json.loads(form["payload"])
                if not isinstance(payload, dict):
                    raise ValueError("payload not an object")
                await self._route("interactive", payload, retry)
            elif "command" in form:
                await self._route("slash_commands", dict(form), retry)
            return web.Response(status=200)
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("slack.request_malformed", error=str(exc)[:200])
            return web.Response(status=400, text="malformed Slack request")

    async def _route(self, kind: str, payload: dict[str, Any], retry: int) -> None:
        """Spawn the work for one delivery; returns at once (the caller acks)."""
        if kind == "events_api":
            self._spawn(self._on_event(payload, retry))
        elif kind == "slash_commands":
            self._spawn(self._on_command(payload))
        elif kind == "interactive" and payload.get("type") == "block_actions":
            self._spawn(self._on_actions(payload))

    def _spawn(self, work: Coroutine[Any, Any, None], *, bounded: bool = True) -> None:
        """Run ``work`` in a tracked task; ``bounded`` work waits for one of the slots."""
        guarded = self._guard(work) if bounded else self._unbounded(work)
        task = asyncio.get_running_loop().create_task(guarded)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unbounded(self, work: Coroutine[Any, Any, None]) -> None:
        """Like `_guard` without a slot: runbook decisions may run for minutes (wait steps)."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("slack.task_crashed")
        finally:
            work.close()

    async def _guard(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._slots:
                await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one delivery must not take the process down
            log.exception("slack.task_crashed")
        finally:
            work.close()  # no-op when it ran; silences "never awaited" when cancelled early

    # --- shared steps ----------------------------------------------------------------------

    async def _first(self, key: str) -> bool:
        try:
            return await self._store.claim(key, ttl_seconds=DEDUPE_TTL_SECONDS)
        except StoreError:
            log.warning("slack.dedupe_unavailable", key=key)
            return True  # better a rare double answer than none

    async def _admit(
        self, *, action: str, actor: Actor, context: PostContext, parameters: dict[str, object]
    ) -> float | None:
        """Apply the person's rate limit and record the request either way.

        Returns:
            None when the request may go on, else the seconds to wait.
        """
        wait = await self._allowed(actor)
        await self._record(
            action=action,
            outcome="accepted" if wait is None else "rate_limited",
            actor=actor,
            channel=context.channel,
            thread=context.thread,
            parameters=parameters,
            event_id=context.event_id,
        )
        return wait

    async def _allowed(self, actor: Actor) -> float | None:
        """None when allowed, else seconds to wait."""
        try:
            decision = await self._store.hit(
                f"rate:slack:{actor.user_id}", limit=RATE_LIMIT, window_seconds=RATE_WINDOW_SECONDS
            )
        except StoreError:
            return None
        return None if decision.allowed else max(decision.retry_after, 1.0)

    async def _record(
        self,
        *,
        action: str,
        outcome: str,
        actor: Actor | None,
        channel: str | None,
        thread: str | None,
        parameters: dict[str, object],
        event_id: str,
    ) -> None:
        await record_surface_event(
            self._audit,
            platform=Platform.SLACK,
            action=action,
            outcome=outcome,
            actor=actor,
            channel=channel,
            thread=thread,
            parameters=parameters,
            correlation={"event_id": event_id},
        )

    @staticmethod
    def _note(text: str, tone: Tone = Tone.INFO) -> SlackMessage:
        return render_pages(Reply(headline=text, tone=tone))[0]

    async def _answer(
        self, *, event: ChatEvent, placeholder_ts: str | None, context: PostContext
    ) -> tuple[Reply, bool]:
        """Ask the dispatcher, deliver the pages; returns the reply and whether it reached Slack."""
        reply = await self._dispatcher.handle(event)
        message = await self._paged(reply)
        if placeholder_ts is not None and await self._poster.update(
            channel=event.channel_id, ts=placeholder_ts, message=message, context=context
        ):
            return reply, True
        if placeholder_ts is None:
            return reply, False
        posted = await self._poster.post(
            channel=event.channel_id, message=message, thread_ts=event.thread_id, context=context
        )
        return reply, posted is not None

    async def _paged(self, reply: Reply) -> SlackMessage:
        """Page 1 of a reply; later pages go to the store behind a More button."""
        pages = render_pages(reply)
        if len(pages) == 1:
            return pages[0]
        pages_id = uuid.uuid4().hex
        stored = [{"text": p.text, "blocks": p.blocks} for p in pages]
        await self._store.put(
            f"slack:pages:{pages_id}", json.dumps(stored), ttl_seconds=PAGES_TTL_SECONDS
        )
        return with_more(pages[0], value=f"{pages_id}:1", remaining=len(pages) - 1)

    # --- slash commands --------------------------------------------------------------------

    async def _on_command(self, form: dict[str, Any]) -> None:
        trigger = str(form.get("trigger_id") or uuid.uuid4().hex)
        user_id = str(form.get("user_id", ""))
        channel = str(form.get("channel_id", ""))
        text = str(form.get("text", ""))
        response_url = self._poster.checked_response_url(str(form.get("response_url", "")))
        if not await self._first(f"slack:cmd:{trigger}"):
            log.info("slack.duplicate", kind="command", trigger_id=trigger)
            return
        actor = await self._identity.resolve(
            user_id=user_id, fallback_name=form.get("user_name") or None
        )
        context = PostContext(actor=actor, channel=channel, thread=None, event_id=trigger)
        question = command_question(text)
        params: dict[str, object] = {
            "command": form.get("command"),
            "text": text,
            "question": question,
        }
        wait = await self._admit(
            action="slack.command", actor=actor, context=context, parameters=params
        )
        if wait is not None:
            if response_url:
                await self._poster.respond(
                    response_url=response_url, message=self._rate_note(wait), context=context
                )
            return
        looking = self._note(f"Looking up “{question}” for {actor.display_name} …")
        ts = await self._poster.post(
            channel=channel, message=looking, thread_ts=None, context=context
        )
        event = ChatEvent(
            event_id=trigger, actor=actor, channel_id=channel, thread_id=ts, text=question
        )
        if ts is None:
            # Not allowed to post here (private channel, DM with someone else, not invited):
            # the person still gets the answer, privately, and learns how to fix it.
            error = self._poster.last_error or "unknown_error"
            reply = await self._dispatcher.handle(event)
            if response_url:
                await self._poster.respond(
                    response_url=response_url,
                    message=self._note(
                        f"I cannot post in this channel ({error}): {hint_for(error)} "
                        "Here is your answer, visible only to you.",
                        Tone.WARNING,
                    ),
                    context=context,
                )
                await self._poster.respond(
                    response_url=response_url, message=render_pages(reply)[0], context=context
                )
            return
        await self._answer(event=event, placeholder_ts=ts, context=context)

    @staticmethod
    def _rate_note(wait: float) -> SlackMessage:
        return SlackSurface._note(
            f"You asked more than {RATE_LIMIT} questions in a minute, so I am pausing for you: "
            f"try again in {round(wait)} s.",
            Tone.WARNING,
        )

    # --- mentions and DMs ------------------------------------------------------------------

    async def _bot_id(self, envelope: dict[str, Any]) -> str | None:
        for auth in envelope.get("authorizations") or ():
            if isinstance(auth, dict) and auth.get("is_bot") and auth.get("user_id"):
                return str(auth["user_id"])
        if self._bot_user_id is None:
            try:
                response = await self._client.auth_test()
                self._bot_user_id = str(response.get("user_id") or "") or None
            except Exception:  # unknown id: strip the leading mention instead
                log.warning("slack.auth_test_failed")
        return self._bot_user_id

    async def _on_event(self, envelope: dict[str, Any], retry: int) -> None:
        event = envelope.get("event")
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        is_dm = kind == "message" and event.get("channel_type") == "im"
        if kind != "app_mention" and not is_dm:
            return
        if event.get("bot_id") or event.get("subtype"):
            return  # our own posts and edits: never answer a bot
        bot_id = await self._bot_id(envelope)
        user_id = str(event.get("user", ""))
        if not user_id or user_id == bot_id:
            return
        event_id = str(envelope.get("event_id") or event.get("client_msg_id") or event.get("ts"))
        if not await self._first(f"slack:event:{event_id}"):
            log.info("slack.duplicate", kind="event", event_id=event_id, retry=retry)
            return
        channel = str(event.get("channel", ""))
        thread_ts = str(event.get("thread_ts") or event.get("ts") or "") or None
        text = self._strip_mention(str(event.get("text", "")), bot_id)
        actor = await self._identity.resolve(user_id=user_id)
        context = PostContext(actor=actor, channel=channel, thread=thread_ts, event_id=event_id)
        params: dict[str, object] = {"text": text, "dm": is_dm, "retry": retry}
        wait = await self._admit(
            action="slack.mention", actor=actor, context=context, parameters=params
        )
        if wait is not None:
            await self._poster.ephemeral(
                channel=channel,
                user=user_id,
                text=self._rate_note(wait).text,
                thread_ts=thread_ts,
                context=context,
            )
            return
        chat_event = ChatEvent(
            event_id=event_id,
            actor=actor,
            channel_id=channel,
            thread_id=thread_ts,
            text=text or "help",
        )
        looking = self._note(f"Looking up “{chat_event.text}” …")
        ts = await self._poster.post(
            channel=channel, message=looking, thread_ts=thread_ts, context=context
        )
        await self._answer(event=chat_event, placeholder_ts=ts, context=context)

    @staticmethod
    def _strip_mention(text: str, bot_id: str | None) -> str:
        if bot_id:
            text = re.sub(rf"<@{re.escape(bot_id)}(?:\|[^>]*)?>", " ", text)
        else:
            text = _MENTION.sub(" ", text, count=1) if text.lstrip().startswith("<@") else text
        return " ".join(text.split())

    # --- interactivity ---------------------------------------------------------------------

    async def _on_actions(self, payload: dict[str, Any]) -> None:
        user: dict[str, Any] = payload.get("user") or {}
        user_id = str(user.get("id", ""))
        trigger = str(payload.get("trigger_id", ""))
        message: dict[str, Any] = payload.get("message") or {}
        container: dict[str, Any] = payload.get("container") or {}
        channel = str((payload.get("channel") or {}).get("id") or container.get("channel_id") or "")
        message_ts = message.get("ts") or container.get("message_ts")
        thread_ts = message.get("thread_ts") or message_ts
        for action in payload.get("actions") or ():
            if not isinstance(action, dict):
                continue
            action_id = str(action.get("action_id", ""))
            event_id = f"{trigger}:{action_id}:{action.get('action_ts', '')}"
            if not await self._first(f"slack:click:{event_id}"):
                log.info("slack.duplicate", kind="click", event_id=event_id)
                continue
            actor = await self._identity.resolve(
                user_id=user_id, fallback_name=user.get("name") or user.get("username")
            )
            context = PostContext(actor=actor, channel=channel, thread=thread_ts, event_id=event_id)
            params: dict[str, object] = {
                "action_id": action_id,
                "value": str(action.get("value", ""))[:200],
            }
            wait = await self._allowed(actor)
            outcome = "rate_limited" if wait is not None else "accepted"
            await self._record(
                action="slack.click",
                outcome=outcome,
                actor=actor,
                channel=channel,
                thread=thread_ts,
                parameters=params,
                event_id=event_id,
            )
            if wait is not None:
                await self._poster.ephemeral(
                    channel=channel,
                    user=user_id,
                    text=self._rate_note(wait).text,
                    thread_ts=thread_ts,
                    context=context,
                )
                continue
            if action_id == MORE_ACTION_ID:
                await self._more(
                    value=str(action.get("value", "")),
                    actor=actor,
                    channel=channel,
                    thread_ts=thread_ts,
                    message=message,
                    context=context,
                )
                continue
            decision = decision_from_action(payload=payload, action=action, actor=actor)
            if is_runbook_action(action_id):
                # Not "first click wins": every click goes to the handler, which decides;
                # the approval that completes the policy runs the steps (minutes, at worst).
                self._spawn(self._runbook_click(decision, context), bounded=False)
                continue
            note = (
                f"{decision.label or decision.verb} — by {actor.display_name}"
                f" at {decision.decided_at.astimezone(UTC):%H:%M} UTC"
            )
            if message_ts and isinstance(message.get("blocks"), list):
                await self._poster.update(
                    channel=channel,
                    ts=str(message_ts),
                    message=SlackMessage(
                        text=escape(note), blocks=decision_note(blocks=message["blocks"], note=note)
                    ),
                    context=context,
                )
            if self._on_decision is not None:
                try:
                    answer = await self._on_decision(decision)
                except Exception:
                    log.exception("slack.decision_failed", action_id=action_id, event_id=event_id)
                    answer = ClickOutcome(thread_reply=_CLICK_FAILED)
                if answer is not None:
                    await self._deliver(decision, answer, context)

    async def _runbook_click(self, decision: Click, context: PostContext) -> None:
        """One click on a runbook card: the handler decides, the card changes only if it says so."""
        if self._on_decision is None:
            outcome: ClickOutcome | None = ClickOutcome(
                reply_for_clicker=Reply(
                    headline="Approvals are not enabled on this Resync; nothing was done.",
                    tone=Tone.WARNING,
                )
            )
        else:
            try:
                outcome = await self._on_decision(decision)
            except Exception:
                log.exception(
                    "slack.decision_failed",
                    action_id=decision.action_id,
                    event_id=context.event_id,
                )
                outcome = ClickOutcome(reply_for_clicker=_CLICK_FAILED)
        if outcome is not None:
            await self._deliver(decision, outcome, context)

    async def _deliver(self, decision: Click, outcome: ClickOutcome, context: PostContext) -> None:
        """Show a decision's outcome: card for everyone, private note, thread reply."""
        channel, thread_ts = decision.channel_id, decision.thread_id
        if outcome.updated_message is not None and decision.message_id:
            await self._poster.update(
                channel=channel,
                ts=decision.message_id,
                message=await self._paged(outcome.updated_message),
                context=context,
            )
        if outcome.reply_for_clicker is not None:
            note = render_pages(outcome.reply_for_clicker)[0]
            await self._poster.ephemeral(
                channel=channel,
                user=decision.actor.user_id,
                text=note.text,
                blocks=note.blocks,
                thread_ts=thread_ts,
                context=context,
            )
        if outcome.thread_reply is not None:
            await self._poster.post(
                channel=channel,
                message=await self._paged(outcome.thread_reply),
                thread_ts=thread_ts,
                context=context,
            )

    # --- progress --------------------------------------------------------------------------

    async def post_in_thread(
        self, reply: Reply, *, request_id: str, channel: str | None, thread: str | None
    ) -> None:
        """Post a reply into a channel's thread (a `bot.progress.ThreadPoster` for Slack).

        Runbook progress and outcomes arrive here through `bot.progress.ProgressRouter`.

        Args:
            reply: What to post (rendered as Block Kit; long replies get a More button).
            request_id: The runbook request (audit correlation).
            channel: Channel id; nothing is posted without one.
            thread: Thread root ``ts``; None posts at top level.
        """
        if not channel:
            log.warning("slack.progress_without_channel", request_id=request_id)
            return
        context = PostContext(
            actor=None, channel=channel, thread=thread, event_id=f"runbook:{request_id}"
        )
        await self._poster.post(
            channel=channel, message=await self._paged(reply), thread_ts=thread, context=context
        )

    async def _more(
        self,
        *,
        value: str,
        actor: Actor,
        channel: str,
        thread_ts: str | None,
        message: dict[str, Any],
        context: PostContext,
    ) -> None:
        pages_id, _, number = value.partition(":")
        stored = await self._store.get(f"slack:pages:{pages_id}") if pages_id else None
        pages: list[dict[str, Any]] = json.loads(stored) if stored else []
        index = int(number) if number.isdigit() else -1
        if not 0 < index < len(pages):
            await self._poster.ephemeral(
                channel=channel,
                user=actor.user_id,
                text=escape("Those results have expired (they are kept for a day): ask again."),
                thread_ts=thread_ts,
                context=context,
            )
            return
        if not await self._first(f"slack:pages-shown:{pages_id}:{index}"):
            return  # this page is already in the thread
        page = SlackMessage(text=str(pages[index]["text"]), blocks=list(pages[index]["blocks"]))
        if index + 1 < len(pages):
            page = with_more(
                page, value=f"{pages_id}:{index + 1}", remaining=len(pages) - index - 1
            )
        message_ts = message.get("ts")
        if message_ts and isinstance(message.get("blocks"), list):
            note = f"Page {index + 1} shown below (asked by {actor.display_name})."
            await self._poster.update(
                channel=channel,
                ts=str(message_ts),
                message=SlackMessage(
                    text=str(message.get("text") or escape(note)),
                    blocks=decision_note(blocks=message["blocks"], note=note),
                ),
                context=context,
            )
        await self._poster.post(channel=channel, message=page, thread_ts=thread_ts, context=context)
