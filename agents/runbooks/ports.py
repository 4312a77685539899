"""What the runbook package needs from outside it: the progress sink and the test phase hook.

The bot implements `ProgressSink` (``bot.progress.ProgressRouter`` posts in the request's
thread); tests record what is posted. `post_progress` is the one place a request's reply is
addressed to its thread, so every module posts the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from agents.messages import Reply
from agents.runbooks.journal import RequestRecord

__all__ = ["PhaseHook", "ProgressSink", "post_progress"]

PhaseHook = Callable[[str, str], Awaitable[None]]
"""``hook(request_id, phase)``: called at ``before_recheck``, ``before_execute``,
``step_started:{i}`` (journal written, TWS not called yet) and ``step_done:{i}``."""


class ProgressSink(Protocol):
    """Where progress and outcomes of a request are posted (the chat thread of the request)."""

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
