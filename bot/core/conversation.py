"""`ChatCore`: the walk of a message and of a click, the same for every surface.

A message (adapters await `ChatCore.receive`, then acknowledge the delivery)::

    who (adapter resolves the person) -> inbox (`bot.core.inbox`; a replica's sweep re-runs
      orphans) -> dedupe -> rate limit + audit chat.message -> port.acknowledge
      -> Dispatcher.handle -> page 1 (rest behind More) -> port.reply -> out of the inbox

A click (`ChatCore.click`)::

    dedupe -> who -> rate limit + audit chat.click -> More: next page in the thread
      -> otherwise Dispatcher.handle_click ("working…" whispered after a few seconds)
      -> port.replace (card for everyone), port.whisper (clicker), port.post_in_thread

Proactive posts go through `ChatCore.post` (paged, audited ``chat.post``); a card that changes
later is replaced through `ChatCore.replace_card`, versioned (`bot.core.cards`) so a late
replacement never shows an older state; a click handler is told where its buttons went.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import structlog

from agents.messages import Actor, ChatEvent, Click, ClickOutcome, Context, Reply
from bot.core import texts
from bot.core.admission import RATE_LIMIT, Admission
from bot.core.audit import record_chat_event
from bot.core.cards import CardVersions, VersionedOutcome
from bot.core.dispatcher import Dispatcher
from bot.core.inbox import Inbox, InboxEntry
from bot.core.paging import MORE_ACTION_ID, Pager
from bot.core.port import ChatPort, Posted
from bot.core.tasks import TaskSupervisor
from integrations import metrics
from integrations.audit.sink import AuditSink
from integrations.store import Store

__all__ = ["WORKING_AFTER_SECONDS", "ChatCore"]

log = structlog.get_logger(__name__)

WORKING_AFTER_SECONDS: Final = 3.0

EventSource = Callable[[], Awaitable[ChatEvent | None]]
ClickSource = Callable[[], Awaitable[Click | None]]


class ChatCore:
    """Admission, dispatch, paging and delivery of every conversation."""

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        store: Store,
        audit: AuditSink | None,
        tasks: TaskSupervisor | None = None,
        rate_limit: int = RATE_LIMIT,
        working_after_seconds: float = WORKING_AFTER_SECONDS,
    ) -> None:
        """Create the core.

        Args:
            dispatcher: Answers messages and decides clicks.
            store: Dedupe, rate limits, stored pages.
            audit: Where admissions and posts are recorded.
            tasks: Runs the work off the request path (one per process).
            rate_limit: Requests per person per minute.
            working_after_seconds: When a slow click's clicker is told "working…".
        """
        self.dispatcher = dispatcher
        self.tasks = tasks or TaskSupervisor()
        self.admission = Admission(store=store, audit=audit, rate_limit=rate_limit)
        self.pager = Pager(store=store)
        self.inbox = Inbox(store)
        self.cards = CardVersions(store=store)
        self._audit = audit
        self._working_after = working_after_seconds

    # --- messages ---------------------------------------------------------------------------

    def message(
        self,
        *,
        port: ChatPort,
        delivery_id: str,
        event: EventSource,
        details: dict[str, object] | None = None,
    ) -> None:
        """Work on one message in the background (prefer `receive`: see there).

        Args:
            port: The platform it came from.
            delivery_id: The platform's id of the delivery (dedupe key).
            event: Builds the `ChatEvent` (resolves the person); None drops it.
            details: Extra audit parameters (e.g. ``kind``: command, mention, dm).
        """
        work = self.receive(port, delivery_id, event, details, walk=False)
        self.tasks.spawn(work, name=f"{port.platform.value}-message")

    async def receive(
        self,
        port: ChatPort,
        delivery_id: str,
        event: EventSource,
        details: dict[str, object] | None = None,
        *,
        walk: bool = True,
    ) -> None:
        """Keep the message in the inbox, then work on it (adapters acknowledge after this).

        A replica killed after acknowledging then leaves what another needs to answer it
        (`bot.core.inbox`); so the person is resolved here, on the request path.
        Arguments: see `message`; ``walk=False``: work on it in the current task.
        """
        if (chat_event := await event()) is None:
            return
        where = {"platform": port.platform.value, "delivery_id": delivery_id}
        entry = InboxEntry(**where, event=chat_event, details=details or {})
        await self.inbox.keep(entry)
        if walk:
            self.tasks.spawn(self.answer(port, entry), name=f"{port.platform.value}-message")
        else:
            await self.answer(port, entry)

    async def answer(self, port: ChatPort, entry: InboxEntry) -> None:
        """The whole walk of one message kept in the inbox, awaited (a re-run too)."""
        # Every log line of the walk names the delivery and the conversation.
        with structlog.contextvars.bound_contextvars(
            request_id=f"{port.platform.value}:message:{entry.delivery_id}",
            conversation=entry.event.conversation_key,
        ):
            if await self.admission.fresh(port.platform.value, "message", entry.delivery_id):
                await self.inbox.during(entry, self._answer(port, entry))

    async def _answer(self, port: ChatPort, entry: InboxEntry) -> None:
        chat_event, delivery_id = entry.event, entry.delivery_id
        if not entry.admitted:  # a re-run of an admitted message is not limited or audited again
            admitted = await self._admit(
                port,
                action="chat.message",
                actor=chat_event.actor,
                place=(chat_event.channel_id, chat_event.thread_id),
                parameters={"text": chat_event.text, **entry.details},
                delivery_id=delivery_id,
            )
            if not admitted:
                return
            await self.inbox.keep(entry.model_copy(update={"admitted": True}))
        placeholder = await port.acknowledge(chat_event)
        if placeholder is not None and chat_event.thread_id is None and placeholder.thread:
            # A top-level question (a slash command) continues in the thread of its answer.
            chat_event = chat_event.model_copy(update={"thread_id": placeholder.thread})
        reply = await self.dispatcher.handle(chat_event)
        page = await self.pager.first_page(reply)
        posted = await port.reply(chat_event, page, placeholder=placeholder)
        if posted is None:
            log.warning(
                "chat.reply_undelivered", platform=port.platform.value, delivery=delivery_id
            )
        elif posted.message_id:
            await self.dispatcher.card_posted(platform=port.platform, reply=reply, posted=posted)

    async def _admit(
        self,
        port: ChatPort,
        *,
        action: str,
        actor: Actor,
        place: tuple[str, str | None],
        parameters: dict[str, object],
        delivery_id: str,
        limited: bool = True,
    ) -> bool:
        """Rate limit and audit one request; a refused person is told when to try again."""
        channel, thread = place
        wait = await self.admission.admit(
            action=action,
            actor=actor,
            channel=channel,
            thread=thread,
            parameters=parameters,
            delivery_id=delivery_id,
            limited=limited,
        )
        if wait is None:
            return True
        metrics.ADMISSION_REJECTED.labels(platform=port.platform.value, reason="rate_limited").inc()
        note = texts.rate_limited(limit=self.admission.rate_limit, wait_seconds=wait)
        await port.whisper(actor=actor, channel=channel, thread=thread, reply=note)
        return False

    # --- clicks -----------------------------------------------------------------------------

    def click(self, *, port: ChatPort, delivery_id: str, click: ClickSource) -> None:
        """Work on one click in the background (the adapter has acknowledged it).

        Args:
            port: The platform it came from.
            delivery_id: The platform's id of the click (dedupe key).
            click: Builds the `Click` (resolves the person); None: the button is not ours.
        """
        work = self.decide(port=port, delivery_id=delivery_id, click=click)
        self.tasks.spawn(work, name=f"{port.platform.value}-click")

    async def decide(self, *, port: ChatPort, delivery_id: str, click: ClickSource) -> None:
        """The whole walk of one click, awaited (see `click`)."""
        with structlog.contextvars.bound_contextvars(
            request_id=f"{port.platform.value}:click:{delivery_id}", conversation=...
        ):
            await self._decide(port=port, delivery_id=delivery_id, click=click)

    async def _decide(self, *, port: ChatPort, delivery_id: str, click: ClickSource) -> None:
        if not await self.admission.fresh(port.platform.value, "click", delivery_id):
            return
        clicked = await click()
        if clicked is None:
            return
        structlog.contextvars.bind_contextvars(
            conversation=f"{port.platform.value}:{clicked.channel_id}:{clicked.thread_id or '-'}"
        )
        admitted = await self._admit(
            port,
            action="chat.click",
            actor=clicked.actor,
            place=(clicked.channel_id, clicked.thread_id),
            parameters={"action_id": clicked.action_id, "value": clicked.value[:200]},
            delivery_id=delivery_id,
            limited=clicked.action_id != MORE_ACTION_ID,  # paging reads the store, not TWS
        )
        if not admitted:
            return
        if clicked.action_id == MORE_ACTION_ID:
            await self._more(port, clicked)
            return
        if not port.verified:
            # Unsigned clicks (Teams local mode) could claim to be anyone: no button acts.
            await port.whisper(
                actor=clicked.actor,
                reply=texts.APPROVALS_NEED_AUTH,
                channel=clicked.channel_id,
                thread=clicked.thread_id,
            )
            return
        deciding = asyncio.ensure_future(self.dispatcher.handle_click(clicked))
        done, _ = await asyncio.wait({deciding}, timeout=self._working_after)
        if not done:
            working = texts.working(
                label=clicked.label or clicked.verb, name=clicked.actor.display_name
            )
            await port.whisper(
                actor=clicked.actor,
                reply=working,
                channel=clicked.channel_id,
                thread=clicked.thread_id,
            )
        await self._show(port, clicked, await deciding)

    async def _show(self, port: ChatPort, clicked: Click, outcome: ClickOutcome) -> None:
        """Deliver a click's outcome: the card for everyone, the note, the thread reply."""
        if outcome.updated_message is not None and clicked.message_id:
            message = Posted(
                channel=clicked.channel_id, message_id=clicked.message_id, thread=clicked.thread_id
            )
            number = outcome.card_version if isinstance(outcome, VersionedOutcome) else None
            version = (
                None
                if number is None
                else self.cards.of(platform=port.platform, message=message, number=number)
            )
            page = await self.pager.first_page(outcome.updated_message)
            await port.replace(message, page, version=version)
        if outcome.reply_for_clicker is not None:
            await port.whisper(
                actor=clicked.actor,
                channel=clicked.channel_id,
                thread=clicked.thread_id,
                reply=outcome.reply_for_clicker,
            )
        if outcome.thread_reply is not None:
            await port.post_in_thread(
                channel=clicked.channel_id,
                thread=clicked.thread_id,
                reply=await self.pager.first_page(outcome.thread_reply),
            )

    async def _more(self, port: ChatPort, clicked: Click) -> None:
        found = await self.pager.page(clicked.value)
        if found is None:
            await port.whisper(
                actor=clicked.actor,
                channel=clicked.channel_id,
                thread=clicked.thread_id,
                reply=texts.PAGES_EXPIRED,
            )
            return
        key, page, clicked_page = found
        if not await self.admission.first(f"{port.platform.value}:page:{key}"):
            return  # this page is already in the thread
        if clicked.message_id:
            # The clicked page loses its More button and says where the next page went.
            note = Context(
                items=(f"Next page shown below (asked by {clicked.actor.display_name}).",)
            )
            shown = clicked_page.model_copy(update={"blocks": (*clicked_page.blocks, note)})
            message = Posted(
                channel=clicked.channel_id, message_id=clicked.message_id, thread=clicked.thread_id
            )
            await port.replace(message, shown)
        await port.post_in_thread(channel=clicked.channel_id, thread=clicked.thread_id, reply=page)

    # --- proactive --------------------------------------------------------------------------

    async def post(
        self,
        port: ChatPort,
        *,
        channel: str | None,
        thread: str | None,
        reply: Reply,
        correlation: dict[str, str],
    ) -> Posted | None:
        """Post proactively in a channel's thread (or a new post), paged and audited.

        Args:
            port: The platform.
            channel: Where; nothing is posted without one.
            thread: The thread root; None starts a new post.
            reply: What to say.
            correlation: Ids for the audit record (e.g. ``request_id``).

        Returns:
            The posted message, or None when it could not be posted (logged and audited).
        """
        if not channel:
            log.warning("chat.post_without_channel", platform=port.platform.value, **correlation)
            return None
        page = await self.pager.first_page(reply)
        if thread is None:
            posted = await port.post_to_channel(channel=channel, reply=page)
        else:
            posted = await port.post_in_thread(channel=channel, thread=thread, reply=page)
        await record_chat_event(
            self._audit,
            action="chat.post",
            outcome="posted" if posted is not None else "failed",
            platform=port.platform.value,
            actor=None,
            channel=channel,
            thread=thread,
            parameters={"headline": reply.headline, "tone": reply.tone.value},
            correlation=correlation,
        )
        if posted is not None and posted.message_id:
            await self.dispatcher.card_posted(platform=port.platform, reply=reply, posted=posted)
        return posted

    async def replace_card(
        self,
        port: ChatPort,
        *,
        message: Posted,
        reply: Reply,
        version: int,
        correlation: dict[str, str],
    ) -> bool:
        """Replace a card for everyone, unless it already shows this version or a newer one.

        Args:
            port: The platform.
            message: The card.
            reply: What it shows from now on.
            version: Which state of the card ``reply`` is (larger is newer).
            correlation: Ids for the log (e.g. ``request_id``).

        Returns:
            True when the card shows this version (or a newer one) now.
        """
        guard = self.cards.of(platform=port.platform, message=message, number=version)
        shown = await port.replace(message, await self.pager.first_page(reply), version=guard)
        if not shown:
            log.warning(
                "chat.card_not_replaced",
                platform=port.platform.value,
                channel=message.channel,
                message=message.message_id,
                **correlation,
            )
        return shown
