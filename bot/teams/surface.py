"""`TeamsSurface`: Microsoft Teams on ``POST /api/messages`` of the one aiohttp server.

What happens to a request, in order:

1. The bearer token is validated (`BotFrameworkAuthenticator`) whenever an app id is
   configured; a request without a valid token gets 401/403 before anything else. Without
   an app id the surface runs only with ``allow_unauthenticated`` (local testing), and
   says so loudly at start; then no click reaches a decision handler (it is answered
   `APPROVALS_NEED_AUTH`) and senders are ``teams:<from.id>`` only (`resolve_actor`).
2. Re-deliveries are dropped: ``store.claim("teams:activity:{id}")``.
3. ``message``: answered in a background task (acknowledged at once with 200): the sender
   is resolved to an `Actor`, the `Dispatcher` answers, the reply goes back through the
   connector at the activity's ``serviceUrl`` as an Adaptive Card.
4. ``invoke`` ``adaptiveCard/action`` (``Action.Execute``) and ``message`` with a
   ``value`` (``Action.Submit`` fallback): a button click. It becomes a
   `agents.messages.Click`. ``runbook.*`` buttons: every click goes to the handler (only
   re-deliveries are dropped), whose `ClickOutcome` is the clicker's view (invoke
   response; "working…" when it takes longer than ``decision_wait_seconds``) and the card
   for everyone (PUT). Other buttons: once per card (double clicks show who decided first),
   the card is updated in place for everyone and shows who decided what. "More" pages a
   long table.
5. Every message, click and proactive post is recorded in the audit log.

The Bot Framework SDK is used only for conversation-reference (de)serialization and the
outbound app credentials; requests are handled here and connector calls are plain HTTP
(`ConnectorClient`), so swapping to the Microsoft 365 Agents SDK touches ``bot/teams`` only.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from aiohttp import web

from agents.messages import (
    Actions,
    Actor,
    Button,
    Click,
    ClickHandler,
    ClickOutcome,
    Platform,
    Reply,
    Tone,
    is_runbook_action,
)
from bot.dispatch import Dispatcher
from bot.surface_audit import record_surface_event
from bot.teams.cards import (
    CARD_BUDGET_BYTES,
    CARD_CONTENT_TYPE,
    DATA_MARKER,
    MORE_VERB,
    render_card,
)
from bot.teams.connector import (
    NO_TOKENS,
    BotFrameworkTokens,
    ConnectorClient,
    ConnectorError,
    TokenSource,
)
from bot.teams.errors import NoConversationError
from bot.teams.escape import escape_markdown
from bot.teams.identity import resolve_actor
from bot.teams.inbound import conversation_of, to_chat_event
from bot.teams.jwt_auth import (
    BOT_FRAMEWORK_OPENID_METADATA,
    AuthError,
    BotFrameworkAuthenticator,
    issuers_for,
)
from bot.teams.references import ConversationReferences, split_conversation_id
from config.settings import Settings
from integrations.audit.sink import AuditSink
from integrations.store import Store

__all__ = ["APPROVALS_NEED_AUTH", "TeamsSurface", "teams_enabled"]

log = structlog.get_logger(__name__)

_DEDUPE_SECONDS: Final = 3600.0
_CARD_SECONDS: Final = 7 * 24 * 3600.0
_MAX_BODY: Final = 512 * 1024
_STOP_GRACE_SECONDS: Final = 5.0
# Teams wants an invoke answered within ~10 s (15 s hard): wait this long for the decision,
# then answer "working…" and update the card when the handler is done.
DECISION_WAIT_SECONDS: Final = 5.0
APPROVALS_NEED_AUTH: Final = (
    "Approvals need an authenticated Teams app (RESYNC_TEAMS_APP_ID); "
    "this Resync runs Teams unauthenticated, so nothing was done."
)
_CLICK_FAILED: Final = (
    "I could not act on that click; the error is in the log. Nothing else was done."
)


def teams_enabled(settings: Settings) -> bool:
    """Whether ``resync serve`` should mount the Teams surface.

    Args:
        settings: The effective configuration.

    Returns:
        True when a Teams app id is configured, or when an explicit local mode setting
        (``RESYNC_TEAMS_ALLOW_UNAUTHENTICATED``) is on.
    """
    return bool(settings.teams_app_id) or bool(settings.teams_allow_unauthenticated)


def _now() -> datetime:
    return datetime.now(UTC)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _buttons(reply: Reply) -> dict[str, Button]:
    return {
        button.action_id: button
        for block in reply.blocks
        if isinstance(block, Actions)
        for button in block.buttons
    }


def _attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def _invoke_card(card: dict[str, Any]) -> web.Response:
    return web.json_response({"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card})


class TeamsSurface:
    """Microsoft Teams for Resync: inbound activities, card clicks, proactive posts."""

    def __init__(
        self,
        *,
        settings: Settings,
        dispatcher: Dispatcher,
        audit: AuditSink,
        store: Store,
        openid_metadata_url: str | None = None,
        allow_unauthenticated: bool = False,
        token_source: TokenSource | None = None,
        decisions: ClickHandler | None = None,
        card_budget_bytes: int = CARD_BUDGET_BYTES,
        decision_wait_seconds: float = DECISION_WAIT_SECONDS,
    ) -> None:
        """Create the surface.

        Args:
            settings: App id, password, type and tenant come from here.
            dispatcher: Answers messages.
            audit: Where every message, click and post is recorded.
            store: Dedupe, conversation references, stored cards, member cache.
            openid_metadata_url: OpenID metadata with the signing keys (tests: a local one).
            allow_unauthenticated: Accept unsigned requests when no app id is configured
                (local testing only; logged as a warning at start).
            token_source: Outbound bearer tokens; default: botframework credentials from
                the settings when an app id is configured, none otherwise.
            decisions: Acts on button clicks (e.g. `bot.runbook_clicks.RunbookDecisions`);
                None: clicks are recorded and shown on the card only (``runbook.*`` clicks
                are refused). Ignored in unauthenticated mode: unsigned clicks never
                reach a handler.
            card_budget_bytes: Most bytes one card may take.
            decision_wait_seconds: How long an ``Action.Execute`` invoke waits for the
                handler of a ``runbook.*`` click before answering "working…".

        Raises:
            ValueError: No app id is configured and ``allow_unauthenticated`` is False.
        """
        self._settings = settings
        self._dispatcher = dispatcher
        self._audit = audit
        self._store = store
        self._decisions = decisions
        self._budget = card_budget_bytes
        self._decision_wait = decision_wait_seconds
        self._refs = ConversationReferences(store=store)
        self._tasks: set[asyncio.Task[Any]] = set()
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
            if decisions is not None:
                # Anyone who can reach /api/messages could click as anyone: never act on clicks.
                log.warning("teams.decisions_disabled", reason="unauthenticated mode")
                self._decisions = None
        else:
            raise ValueError(
                "Teams needs RESYNC_TEAMS_APP_ID (and RESYNC_TEAMS_APP_PASSWORD); "
                "without an app id it runs only in explicit local mode (allow_unauthenticated)."
            )
        if token_source is None:
            token_source = BotFrameworkTokens(settings=settings) if app_id else NO_TOKENS
        self._connector = ConnectorClient(tokens=token_source)

    # --- wiring -----------------------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """Whether inbound requests are checked (an app id is configured)."""
        return self._auth is not None

    async def drain(self) -> None:
        """Wait until every background task (replies, card updates, decisions) is done.

        Tasks spawned while waiting are waited for too. For tests and benchmarks: after
        ``drain()`` nothing more will be sent for the requests handled so far.
        """
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    def mount(self, app: web.Application) -> None:
        """Add ``POST /api/messages`` to the server.

        Args:
            app: The aiohttp application of ``resync serve``.
        """
        app.router.add_post("/api/messages", self._handle)

    async def stop(self) -> None:
        """Let in-flight replies finish (briefly), then close HTTP sessions."""
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=_STOP_GRACE_SECONDS)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        await self._connector.close()
        if self._auth is not None:
            await self._auth.close()

    def _spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:  # a background task has no caller to raise to
                log.exception("teams.task_crashed", task=name)

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- inbound ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > _MAX_BODY:
            return web.Response(status=413)
        raw = await request.content.read(_MAX_BODY + 1)
        if len(raw) > _MAX_BODY:
            return web.Response(status=413)
        try:
            activity = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(activity, dict):
            return web.Response(status=400, text="body is not an activity")
        service_url = _str(activity.get("serviceUrl"))
        if self._auth is not None:
            try:
                await self._auth.authenticate(
                    authorization=request.headers.get("Authorization"),
                    service_url=service_url or "",
                    channel_id=_str(activity.get("channelId")),
                )
            except AuthError as exc:
                log.warning(
                    "teams.auth_rejected",
                    status=exc.status,
                    reason=exc.reason,
                    remote=request.remote,
                )
                return web.Response(status=exc.status)
        if service_url is None or not service_url.startswith(("https://", "http://")):
            return web.Response(status=400, text="activity has no serviceUrl")
        kind = activity.get("type")
        activity_id = _str(activity.get("id"))
        if kind == "invoke":
            if activity.get("name") != "adaptiveCard/action":
                return web.Response(status=501)
            return await self._on_execute(activity)
        if kind == "message":
            if activity_id is None:
                return web.Response(status=400, text="activity has no id")
            if not await self._store.claim(
                f"teams:activity:{activity_id}", ttl_seconds=_DEDUPE_SECONDS
            ):
                log.info("teams.duplicate", activity_id=activity_id)
                return web.Response(status=200)
            await self._refs.remember(activity)
            value = activity.get("value")
            if isinstance(value, dict) and value.get(DATA_MARKER):
                self._spawn(self._on_submit(activity, value), name=f"teams-submit-{activity_id}")
            else:
                self._spawn(self._on_message(activity), name=f"teams-message-{activity_id}")
            return web.Response(status=200)
        if kind in ("conversationUpdate", "installationUpdate"):
            await self._refs.remember(activity)
        return web.Response(status=200)

    async def _on_message(self, activity: dict[str, Any]) -> None:
        activity_id = str(activity.get("id"))
        actor = await resolve_actor(
            activity=activity,
            connector=self._connector,
            store=self._store,
            authenticated=self._auth is not None,
        )
        event = to_chat_event(activity=activity, actor=actor)
        reply = await self._dispatcher.handle(event)
        conversation_id = str((activity.get("conversation") or {}).get("id"))
        outcome = "answered"
        reply_id: str | None = None
        try:
            reply_id = await self._send(
                service_url=str(activity["serviceUrl"]),
                conversation_id=conversation_id,
                reply=reply,
                reply_to=activity_id,
                bot=activity.get("recipient"),
            )
        except ConnectorError as exc:
            outcome = "failed"
            log.warning("teams.reply_failed", activity_id=activity_id, error=str(exc))
        await self._record(
            action="teams.message",
            outcome=outcome,
            actor=actor,
            channel=event.channel_id,
            thread=event.thread_id,
            parameters={"text": event.text, "answer": reply.headline, "reply_id": reply_id},
            activity_id=activity_id,
        )

    # --- outbound ---------------------------------------------------------------------------

    async def _send(
        self,
        *,
        service_url: str,
        conversation_id: str,
        reply: Reply,
        reply_to: str | None,
        bot: object = None,
    ) -> str:
        card_id = uuid.uuid4().hex
        page = render_card(reply, card_id=card_id, budget_bytes=self._budget)
        message: dict[str, Any] = {
            "type": "message",
            "summary": escape_markdown(reply.headline[:200]),
            "attachments": [_attachment(page.card)],
        }
        if isinstance(bot, dict) and bot.get("id"):
            message["from"] = {"id": bot["id"], "name": bot.get("name")}
        if reply_to:
            answer = await self._connector.reply_to_activity(
                service_url=service_url,
                conversation_id=conversation_id,
                activity_id=reply_to,
                activity=message,
            )
        else:
            answer = await self._connector.send_to_conversation(
                service_url=service_url, conversation_id=conversation_id, activity=message
            )
        sent_id = str(answer.get("id") or "")
        await self._save_card(
            card_id,
            {
                "reply": reply.model_dump(mode="json"),
                "service_url": service_url,
                "conversation_id": conversation_id,
                "activity_id": sent_id,
            },
        )
        return sent_id

    async def post_to_channel(
        self, *, conversation_id: str, reply: Reply, thread_id: str | None = None
    ) -> str:
        """Post proactively into a conversation, or into one of its threads.

        In a Teams channel without ``thread_id`` this starts a new post (a new reply chain);
        pass the returned id as ``thread_id`` to answer in that post's thread. In chats the
        message simply goes into the chat.

        Args:
            conversation_id: The channel or chat (its id without ``;messageid=``).
            reply: What to post.
            thread_id: Root message id of the thread to reply in, if any.

        Returns:
            The id of the posted activity.

        Raises:
            NoConversationError: The bot never received an activity from that conversation.
            ConnectorError: The connector refused or could not be reached.
        """
        reference = await self._refs.lookup(conversation_id)
        if reference is None or reference.conversation is None:
            await self._record(
                action="teams.post",
                outcome="no_conversation",
                actor=None,
                channel=conversation_id,
                thread=thread_id,
                parameters={"headline": reply.headline, "tone": reply.tone.value},
                activity_id="",
            )
            raise NoConversationError(
                f"No Teams conversation reference for {conversation_id!r}: install the Resync "
                "app in that team or chat (or @mention Resync there once), then retry."
            )
        base = str(reference.conversation.id)
        service_url = str(reference.service_url)
        bot = {"id": reference.bot.id, "name": reference.bot.name} if reference.bot else None
        outcome, posted = "posted", ""
        try:
            if thread_id:
                posted = await self._send(
                    service_url=service_url,
                    conversation_id=f"{base};messageid={thread_id}",
                    reply=reply,
                    reply_to=None,
                    bot=bot,
                )
            elif reference.conversation.conversation_type == "channel":
                posted = await self._new_channel_post(
                    service_url=service_url,
                    base=base,
                    tenant=reference.conversation.tenant_id,
                    reply=reply,
                    bot=bot,
                )
            else:
                posted = await self._send(
                    service_url=service_url,
                    conversation_id=base,
                    reply=reply,
                    reply_to=None,
                    bot=bot,
                )
        except ConnectorError:
            outcome = "failed"
            raise
        finally:
            await self._record(
                action="teams.post",
                outcome=outcome,
                actor=None,
                channel=base,
                thread=thread_id or posted or None,
                parameters={"headline": reply.headline, "tone": reply.tone.value},
                activity_id=posted,
            )
        return posted

    async def _new_channel_post(
        self,
        *,
        service_url: str,
        base: str,
        tenant: str | None,
        reply: Reply,
        bot: dict[str, Any] | None,
    ) -> str:
        card_id = uuid.uuid4().hex
        page = render_card(reply, card_id=card_id, budget_bytes=self._budget)
        parameters: dict[str, Any] = {
            "isGroup": True,
            "channelData": {"channel": {"id": base}},
            "activity": {
                "type": "message",
                "summary": escape_markdown(reply.headline[:200]),
                "attachments": [_attachment(page.card)],
            },
        }
        if bot:
            parameters["bot"] = bot
        if tenant:
            parameters["tenantId"] = tenant
            parameters["channelData"]["tenant"] = {"id": tenant}
        answer = await self._connector.create_conversation(
            service_url=service_url, parameters=parameters
        )
        thread_conversation = str(answer.get("id") or "")
        posted = _str(answer.get("activityId")) or split_conversation_id(thread_conversation)[1]
        posted = posted or ""
        await self._save_card(
            card_id,
            {
                "reply": reply.model_dump(mode="json"),
                "service_url": service_url,
                "conversation_id": thread_conversation or f"{base};messageid={posted}",
                "activity_id": posted,
            },
        )
        return posted

    async def _save_card(self, card_id: str, record: dict[str, Any]) -> None:
        await self._store.put(
            f"teams:card:{card_id}", json.dumps(record), ttl_seconds=_CARD_SECONDS
        )

    async def _load_card(self, card_id: str) -> dict[str, Any] | None:
        raw = await self._store.get(f"teams:card:{card_id}")
        loaded = json.loads(raw) if raw else None
        return loaded if isinstance(loaded, dict) else None

    # --- clicks -----------------------------------------------------------------------------

    async def _on_execute(self, activity: dict[str, Any]) -> web.StreamResponse:
        invoke = activity.get("value") or {}
        action = invoke.get("action") if isinstance(invoke, dict) else None
        if not isinstance(action, dict):
            return web.json_response(
                {"statusCode": 400, "type": "application/vnd.microsoft.error", "value": {}}
            )
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = _str(action.get("verb")) or ""
        card, updated = await self._click(activity, data=data or {}, verb=verb)
        if updated is not None:  # a decision: everyone's copy of the card changes too
            self._spawn(self._update_card(activity, updated), name="teams-update")
        return _invoke_card(card)

    async def _on_submit(self, activity: dict[str, Any], value: dict[str, Any]) -> None:
        verb = _str(value.get("verb")) or _str(value.get("action_id")) or ""
        if is_runbook_action(_str(value.get("action_id")) or verb):
            # No invoke to answer: the runbook path updates the card and tells the clicker.
            await self._click(activity, data=value, verb=verb, claimed=True, wait=None)
            return
        card, _ = await self._click(activity, data=value, verb=verb, claimed=True)
        await self._update_card(activity, card)

    async def _update_card(self, activity: dict[str, Any], card: dict[str, Any]) -> None:
        message_id = _str(activity.get("replyToId"))
        conversation_id = str((activity.get("conversation") or {}).get("id"))
        if message_id is None:
            return
        try:
            await self._connector.update_activity(
                service_url=str(activity["serviceUrl"]),
                conversation_id=conversation_id,
                activity_id=message_id,
                activity={"type": "message", "attachments": [_attachment(card)]},
            )
        except ConnectorError as exc:
            log.warning("teams.card_update_failed", activity_id=message_id, error=str(exc))

    async def _click(
        self,
        activity: dict[str, Any],
        *,
        data: dict[str, Any],
        verb: str,
        claimed: bool = False,
        wait: float | None = -1.0,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Handle one click; returns the card to show, and the card for everyone if changed.

        ``wait`` applies to ``runbook.*`` buttons only: seconds to wait for the handler
        before answering "working…" (negative: the surface's default; None: until done).
        """
        activity_id = str(activity.get("id") or "")
        first = claimed or (
            bool(activity_id)
            and await self._store.claim(
                f"teams:activity:{activity_id}", ttl_seconds=_DEDUPE_SECONDS
            )
        )
        card_id = _str(data.get("card"))
        record = await self._load_card(card_id) if card_id and data.get(DATA_MARKER) else None
        if record is None or card_id is None:
            return _notice("This card has expired. Ask again to get a fresh one."), None
        reply = Reply.model_validate(record["reply"])
        if verb == MORE_VERB:
            offset = data.get("offset")
            page = render_card(
                reply,
                card_id=card_id,
                offset=offset if isinstance(offset, int) and offset >= 0 else 0,
                footer=_decided_footer(record),
                show_buttons="decision" not in record,
                budget_bytes=self._budget,
            )
            return page.card, None
        actor = await resolve_actor(
            activity=activity,
            connector=self._connector,
            store=self._store,
            authenticated=self._auth is not None,
        )
        channel, thread = conversation_of(activity)
        button = _buttons(reply).get(_str(data.get("action_id")) or verb)
        if button is not None and is_runbook_action(button.action_id):
            card = await self._runbook_click(
                activity,
                first=first,
                record=record,
                card_id=card_id,
                button=button,
                actor=actor,
                wait=self._decision_wait if wait is not None and wait < 0 else wait,
            )
            return card, None
        outcome = "decided"
        if button is None:
            outcome = "rejected"
        elif self._auth is None:
            outcome = "unauthenticated"  # unsigned: nobody may decide anything, not even a card
        elif not first:
            outcome = "duplicate"
        elif not await self._store.claim(f"teams:decision:{card_id}", ttl_seconds=_CARD_SECONDS):
            outcome = "already_decided"
            record = await self._load_card(card_id) or record
        decision: Click | None = None
        if outcome == "decided" and button is not None:
            decision = Click(
                decision_id=activity_id,
                action_id=button.action_id,
                value=button.value,
                label=button.label,
                actor=actor,
                channel_id=channel,
                thread_id=thread,
                message_id=_str(record.get("activity_id")) or _str(activity.get("replyToId")),
                decided_at=_now(),
            )
            record["decision"] = {
                "action_id": button.action_id,
                "label": button.label,
                "name": actor.display_name,
                "identity": actor.identity,
                "at": decision.decided_at.isoformat(),
            }
            await self._save_card(card_id, record)
        await self._record(
            action="teams.click",
            outcome=outcome,
            actor=actor,
            channel=channel,
            thread=thread,
            parameters={
                "action_id": _str(data.get("action_id")) or verb,
                "card": card_id,
                "value": button.value if button else None,
            },
            activity_id=activity_id,
        )
        footer = _decided_footer(record)
        if outcome == "rejected":
            footer = (*footer, "That button is not on this card; nothing was done.")
        elif outcome == "unauthenticated":
            footer = (*footer, APPROVALS_NEED_AUTH)
        page = render_card(
            reply,
            card_id=card_id,
            footer=footer,
            show_buttons="decision" not in record,
            budget_bytes=self._budget,
        )
        if decision is not None and self._decisions is not None:
            self._spawn(
                self._follow_up(decision, record, activity, card_id),
                name=f"teams-decide-{card_id}",
            )
        return page.card, page.card if decision is not None else None

    async def _follow_up(
        self, decision: Click, record: dict[str, Any], activity: dict[str, Any], card_id: str
    ) -> None:
        assert self._decisions is not None
        try:
            outcome = await self._decisions(decision)
        except Exception:  # the person must still hear something; the trace goes to the log
            log.exception("teams.decision_crashed", card=card_id)
            outcome = ClickOutcome(
                thread_reply=Reply(
                    headline="Your choice was recorded, but acting on it failed. "
                    "Check the audit log and retry from a fresh card."
                )
            )
        if outcome is not None:
            await self._deliver(
                activity, record, card_id, outcome, clicker=decision.actor, update=True
            )

    # --- runbook clicks ---------------------------------------------------------------------

    async def _runbook_click(
        self,
        activity: dict[str, Any],
        *,
        first: bool,
        record: dict[str, Any],
        card_id: str,
        button: Button,
        actor: Actor,
        wait: float | None,
    ) -> dict[str, Any]:
        """A click on a runbook card: every click goes to the handler, which decides.

        Only an exact re-delivery (same activity id) is dropped. The clicker's card shows the
        handler's answer when it comes within ``wait`` seconds; otherwise "working…", and the
        card is updated for everyone (and the clicker told in the thread) when it is done.

        Returns:
            The card for the invoke response (the clicker's view).
        """
        activity_id = str(activity.get("id") or "")
        channel, thread = conversation_of(activity)
        reply = Reply.model_validate(record["reply"])
        outcome = "forwarded"
        if not first:
            outcome = "duplicate"
        elif self._auth is None:
            outcome = "unauthenticated"
        elif self._decisions is None:
            outcome = "no_handler"
        await self._record(
            action="teams.click",
            outcome=outcome,
            actor=actor,
            channel=channel,
            thread=thread,
            parameters={"action_id": button.action_id, "card": card_id, "value": button.value},
            activity_id=activity_id,
        )
        if outcome == "duplicate":
            return self._runbook_card(reply, card_id)
        if outcome == "unauthenticated":
            return self._runbook_card(reply, card_id, (APPROVALS_NEED_AUTH,))
        if self._decisions is None:
            return self._runbook_card(
                reply, card_id, ("Approvals are not enabled on this Resync; nothing was done.",)
            )
        decision = Click(
            decision_id=activity_id,
            action_id=button.action_id,
            value=button.value,
            label=button.label,
            actor=actor,
            channel_id=channel,
            thread_id=thread,
            message_id=_str(record.get("activity_id")) or _str(activity.get("replyToId")),
            decided_at=_now(),
        )
        task = asyncio.create_task(self._ask(decision), name=f"teams-runbook-{activity_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if wait is None:
            await self._deliver(activity, record, card_id, await task, clicker=actor, update=True)
            return self._runbook_card(reply, card_id)
        done, _ = await asyncio.wait({task}, timeout=wait)
        if task not in done:

            def later(finished: asyncio.Task[ClickOutcome | None]) -> None:
                if finished.cancelled():
                    return
                self._spawn(
                    self._deliver(
                        activity, record, card_id, finished.result(), clicker=actor, update=True
                    ),
                    name=f"teams-runbook-done-{activity_id}",
                )

            task.add_done_callback(later)
            return self._runbook_card(
                reply, card_id, (f"⏳ {button.label} by {actor.display_name}: working…",)
            )
        answer = task.result()
        if answer is None:
            return self._runbook_card(reply, card_id)
        shown = answer.updated_message or reply
        if answer.updated_message is not None or answer.thread_reply is not None:
            # Everyone's copy changes (PUT); the private note stays in the clicker's view only.
            self._spawn(
                self._deliver(
                    activity,
                    record,
                    card_id,
                    answer.model_copy(update={"reply_for_clicker": None}),
                    clicker=actor,
                    update=True,
                ),
                name=f"teams-runbook-update-{activity_id}",
            )
        note = _note_lines(answer.reply_for_clicker)
        return self._runbook_card(shown, card_id, note)

    async def _ask(self, decision: Click) -> ClickOutcome | None:
        """The handler's answer; a crash becomes a note for the clicker (trace in the log)."""
        assert self._decisions is not None
        try:
            return await self._decisions(decision)
        except Exception:
            log.exception("teams.decision_crashed", action_id=decision.action_id)
            return ClickOutcome(reply_for_clicker=Reply(headline=_CLICK_FAILED, tone=Tone.ERROR))

    def _runbook_card(
        self, reply: Reply, card_id: str, footer: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        return render_card(reply, card_id=card_id, footer=footer, budget_bytes=self._budget).card

    async def _deliver(
        self,
        activity: dict[str, Any],
        record: dict[str, Any],
        card_id: str,
        outcome: ClickOutcome | None,
        *,
        clicker: Actor,
        update: bool,
    ) -> None:
        """Show a handler's answer after the invoke was answered.

        The updated card replaces the clicked one for everyone (and is stored, so later clicks
        are checked against its buttons); the clicker's note, which can no longer be private,
        goes into the thread addressed to them; the thread reply follows.
        """
        if outcome is None:
            return
        if outcome.updated_message is not None and update:
            current = await self._load_card(card_id) or record
            current["reply"] = outcome.updated_message.model_dump(mode="json")
            await self._save_card(card_id, current)
            await self._update_card(activity, self._runbook_card(outcome.updated_message, card_id))
        replies: list[Reply] = []
        if outcome.reply_for_clicker is not None:
            note = outcome.reply_for_clicker
            replies.append(
                note.model_copy(update={"headline": f"{clicker.display_name}: {note.headline}"})
            )
        if outcome.thread_reply is not None:
            replies.append(outcome.thread_reply)
        conversation_id = str(
            record.get("conversation_id") or (activity.get("conversation") or {}).get("id")
        )
        for reply in replies:
            try:
                await self._send(
                    service_url=str(record.get("service_url") or activity["serviceUrl"]),
                    conversation_id=conversation_id,
                    reply=reply,
                    reply_to=_str(record.get("activity_id")) or _str(activity.get("replyToId")),
                    bot=activity.get("recipient"),
                )
            except ConnectorError as exc:
                log.warning("teams.decision_reply_failed", card=card_id, error=str(exc))

    # --- progress ---------------------------------------------------------------------------

    async def post_in_thread(
        self, reply: Reply, *, request_id: str, channel: str | None, thread: str | None
    ) -> None:
        """Post a reply into a conversation's thread (a `bot.progress.ThreadPoster` for Teams).

        Runbook progress and outcomes arrive here through `bot.progress.ProgressRouter`. In a
        channel the reply goes into the thread whose root is ``thread``; in chats (no threads)
        into the chat. Failures are logged: progress never stops a run.

        Args:
            reply: What to post.
            request_id: The runbook request (for the log).
            channel: The conversation id without ``;messageid=``; nothing is posted without one.
            thread: Root message id of the thread, if any.
        """
        if not channel:
            log.warning("teams.progress_without_channel", request_id=request_id)
            return
        reference = await self._refs.lookup(channel)
        in_channel = (
            reference is not None
            and reference.conversation is not None
            and reference.conversation.conversation_type == "channel"
        )
        try:
            await self.post_to_channel(
                conversation_id=channel, reply=reply, thread_id=thread if in_channel else None
            )
        except (NoConversationError, ConnectorError) as exc:
            log.warning("teams.progress_failed", request_id=request_id, error=str(exc))

    # --- audit ------------------------------------------------------------------------------

    async def _record(
        self,
        *,
        action: str,
        outcome: str,
        actor: Actor | None,
        channel: str | None,
        thread: str | None,
        parameters: dict[str, object],
        activity_id: str,
    ) -> None:
        await record_surface_event(
            self._audit,
            platform=Platform.TEAMS,
            action=action,
            outcome=outcome,
            actor=actor,
            channel=channel,
            thread=thread,
            parameters=parameters,
            correlation={"activity_id": activity_id},
        )


def _decided_footer(record: dict[str, Any]) -> tuple[str, ...]:
    decision = record.get("decision")
    if not isinstance(decision, dict):
        return ()
    at = str(decision.get("at", ""))[:16].replace("T", " ")
    return (
        f"✔ {decision.get('label')}: decided by {decision.get('name')} "
        f"({decision.get('identity')}) at {at} UTC",
    )


def _note_lines(note: Reply | None) -> tuple[str, ...]:
    if note is None:
        return ()
    marker = "⚠ " if note.tone in (Tone.WARNING, Tone.ERROR) else ""
    return (f"{marker}{note.headline}",)


def _notice(text: str) -> dict[str, Any]:
    return render_card(Reply(headline=text)).card
