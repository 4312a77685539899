"""What the runbook package needs from outside it: the progress sink and the test phase hook.

The bot implements `ProgressSink` (``bot.progress.ProgressRouter`` posts in the request's
thread and replaces the request's card); tests record what is posted. `post_progress` is the
one place a request's reply is addressed to its thread, and `replace_card` the one place its
card is replaced, so every module does both the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from agents.messages import Reply
from agents.runbooks.journal import CardPlace, RequestRecord

__all__ = ["PhaseHook", "ProgressSink", "post_progress", "replace_card"]

log = structlog.get_logger(__name__)

PhaseHook = Callable[[str, str], Awaitable[None]]
"""``hook(request_id, phase)``: called at ``before_recheck``, ``before_execute``,
``step_started:{i}`` (journal written, TWS not called yet) and ``step_done:{i}``."""


class ProgressSink(Protocol):
    """Where progress and outcomes of a request are posted, and where its card is replaced."""

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        """Post one reply in the request's thread (on the platform it was asked from)."""
        ...

    async def replace_card(
        self, reply: Reply, *, request_id: str, card: CardPlace, version: int
    ) -> bool:
        """Replace the request's approval card for everyone.

        Args:
            reply: The card as it stands now.
            request_id: The request (log and audit correlation).
            card: Where the card is.
            version: The record's revision the card shows; an older one never replaces a
                newer one, whoever sends it.

        Returns:
            True when the card shows this state (or a newer one) now.
        """
        ...


async def post_progress(*, sink: ProgressSink | None, record: RequestRecord, reply: Reply) -> None:
    """Post ``reply`` in the thread the request was made in (nothing without a sink).

    Args:
        sink: Where to post; None posts nothing (tests, the terminal).
        record: The request: its platform, channel and thread address the post.
        reply: What to post.
    """
    if sink is None:
        return
    await sink(
        reply,
        request_id=record.id,
        platform=record.requester_platform,
        channel=record.channel,
        thread=record.thread,
    )


async def replace_card(*, sink: ProgressSink | None, record: RequestRecord, card: Reply) -> None:
    """Show ``card`` (rendered from ``record``) in place of the request's approval card.

    Nothing happens when the card's place is not known (it was never posted through a chat
    surface, e.g. the terminal) or there is no sink.

    Args:
        sink: Where cards are replaced.
        record: The request as saved; its ``revision`` is the card's version.
        card: The card of ``record``.
    """
    if sink is None or record.card is None:
        return
    if not await sink.replace_card(
        card, request_id=record.id, card=record.card, version=record.revision
    ):
        log.warning(
            "runbook.card_not_replaced",
            request_id=record.id,
            status=record.status.value,
            hint="the outcome is in the request's thread; the card shows an older state",
        )
