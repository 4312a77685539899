"""Button clicks in Teams: which stored button was pressed, then the chat core decides.

A click arrives as an ``adaptiveCard/action`` invoke (``Action.Execute``) or, from older
clients, as a message whose ``value`` is the button's data (``Action.Submit``). Either way
the data names only the card and the button's action id (`bot.teams.cards` puts them
there). The click becomes a `Click` only when the card is stored (`bot.teams.card_records`)
and the button is on it, with the stored value and label, never the payload's; otherwise
the clicker is told `texts.BUTTON_NOT_HERE` and nothing else happens. A person the
conversation's roster did not vouch for (the member lookup failed, `Sender.verified`) may
page with More but not press a button that acts: they are told `UNVERIFIED_CLICK`. The
checks run in the core's click walk, after its dedupe, so a re-delivered click is simply
dropped.

`Clicks.invoke` runs `ChatCore.decide` in a supervised task and answers the invoke with the
clicker's view (`bot.teams.window.ClickWindow`); `Clicks.submit` has no invoke to answer,
so every note goes into the thread.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog

from agents.messages import Click, Reply, Tone
from bot.core import texts
from bot.core.conversation import ChatCore
from bot.core.paging import MORE_ACTION_ID
from bot.teams.card_records import CardRecord
from bot.teams.cards import CARD_BUDGET_BYTES, DATA_MARKER, render_card
from bot.teams.identity import Sender
from bot.teams.inbound import conversation_of
from bot.teams.port import TeamsPort
from bot.teams.window import ClickWindow

__all__ = ["UNVERIFIED_CLICK", "Clicks", "SenderOf", "click_data"]

log = structlog.get_logger(__name__)

SenderOf = Callable[[dict[str, Any]], Awaitable[Sender]]
"""Resolves the sender of an activity."""

UNVERIFIED_CLICK: Final = Reply(
    headline="Teams could not confirm who you are (the member lookup failed), so this button "
    "did nothing; try again in a minute, or ask an administrator if it keeps happening.",
    tone=Tone.WARNING,
)
"""The clicker's note when the roster did not vouch for them."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def click_data(activity: dict[str, Any]) -> tuple[dict[str, Any], str | None] | None:
    """The data of a click and its verb, when the activity is a click on one of our cards.

    Args:
        activity: An ``invoke`` (``Action.Execute``) or a ``message`` with a ``value``
            (``Action.Submit``).

    Returns:
        ``(data, verb)``, or None when the activity carries no click of ours.
    """
    value = activity.get("value")
    if not isinstance(value, dict):
        return None
    if activity.get("type") == "invoke":
        action = value.get("action")
        if not isinstance(action, dict) or not isinstance(action.get("data"), dict):
            return None
        data: dict[str, Any] = action["data"]
        verb = _text(action.get("verb"))
    else:
        data, verb = value, _text(value.get("verb"))
    return (data, verb) if data.get(DATA_MARKER) else None


async def _refuse(
    port: TeamsPort, activity: dict[str, Any], sender: Sender, *, reason: str, reply: Reply
) -> None:
    """Tell the clicker why nothing was done, and log it."""
    data, verb = click_data(activity) or ({}, None)
    log.warning(
        "teams.click_refused",
        reason=reason,
        activity_id=activity.get("id"),
        action_id=str(_text(data.get("action_id")) or verb)[:80],
        actor=sender.actor.identity,
    )
    channel, thread = conversation_of(activity)
    await port.whisper(actor=sender.actor, channel=channel, thread=thread, reply=reply)


class Clicks:
    """Turns Teams clicks into `Click` for the chat core, and answers invokes."""

    def __init__(
        self,
        *,
        core: ChatCore,
        port: TeamsPort,
        sender_of: SenderOf,
        wait_seconds: float,
        budget_bytes: int = CARD_BUDGET_BYTES,
    ) -> None:
        """Create the click path.

        Args:
            core: Decides clicks.
            port: The surface's port (each click gets its own, `TeamsPort.answering`).
            sender_of: Resolves who clicked, and whether the roster vouched for them.
            wait_seconds: Longest an invoke waits for the clicker's first note.
            budget_bytes: Most bytes a card may take.
        """
        self._core = core
        self._port = port
        self._sender_of = sender_of
        self._wait = wait_seconds
        self._budget = budget_bytes

    async def _card(self, activity: dict[str, Any]) -> CardRecord | None:
        found = click_data(activity)
        card_id = _text(found[0].get("card")) if found else None
        return await self._port.records.load(card_id) if card_id else None

    async def _click(
        self, activity: dict[str, Any], record: CardRecord | None, port: TeamsPort
    ) -> Click | None:
        """The `Click` of an allowed press of a stored button; else the clicker is told, None."""
        data, verb = click_data(activity) or ({}, None)
        action_id = _text(data.get("action_id")) or verb
        button = record.button(action_id) if record is not None and action_id else None
        sender = await self._sender_of(activity)
        if record is None or button is None:
            reason = "unknown or expired card" if record is None else "button not on the card"
            await _refuse(port, activity, sender, reason=reason, reply=texts.BUTTON_NOT_HERE)
            return None
        if port.verified and not sender.verified and button.action_id != MORE_ACTION_ID:
            # The e-mail approvals rely on comes only from the roster; without it the
            # clicker is a bare id no one vouched for. (Unsigned local mode: the core
            # refuses every clicker, with its own text.)
            reason = "clicker not confirmed by the member lookup"
            await _refuse(port, activity, sender, reason=reason, reply=UNVERIFIED_CLICK)
            return None
        channel, thread = conversation_of(activity)
        return Click(
            decision_id=str(activity.get("id") or ""),
            action_id=button.action_id,
            value=button.value,
            label=button.label,
            actor=sender.actor,
            channel_id=channel,
            thread_id=thread,
            message_id=record.activity_id or _text(activity.get("replyToId")),
        )

    async def invoke(self, activity: dict[str, Any], activity_id: str) -> dict[str, Any]:
        """Decide an ``Action.Execute`` click; return the clicker's view of the card.

        Args:
            activity: The ``adaptiveCard/action`` invoke.
            activity_id: Its id (the dedupe key).

        Returns:
            The card for the invoke response.
        """
        record = await self._card(activity)
        if record is None:
            log.warning(
                "teams.click_refused", reason="unknown or expired card", activity_id=activity_id
            )
            return render_card(texts.BUTTON_NOT_HERE).card
        window = ClickWindow(record, budget_bytes=self._budget)
        port = self._port.answering(activity, window=window)

        async def decide() -> None:
            try:
                await self._core.decide(
                    port=port,
                    delivery_id=activity_id,
                    click=functools.partial(self._click, activity, record, port),
                )
            finally:
                window.finish()

        self._core.tasks.spawn(decide(), name="teams-click")
        return await window.view(self._wait)

    def submit(self, activity: dict[str, Any], activity_id: str) -> None:
        """Decide an ``Action.Submit`` click in the background (notes go into the thread).

        Args:
            activity: The message whose ``value`` is the button's data.
            activity_id: Its id (the dedupe key).
        """
        port = self._port.answering(activity)

        async def clicked() -> Click | None:
            return await self._click(activity, await self._card(activity), port)

        self._core.click(port=port, delivery_id=activity_id, click=clicked)
