"""The time-based checkpointer: a signed checkpoint at least every T seconds, even idle.

Count-based checkpoints (every N records) are written by the batch planner; this covers
a quiet log, so that an exported checkpoint is never older than T seconds and a rollback
of the store to an earlier state is caught against it. Any committed checkpoint (count
based, forced or timed) restarts the timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from integrations.audit.errors import AuditClosedError

__all__ = ["Checkpointer"]

log = structlog.get_logger(__name__)

RETRY_CAP_SECONDS = 30.0
"""Longest wait before retrying a failed timed checkpoint."""


class Checkpointer:
    """Keeps the time of the last checkpoint and, once started, the timer task."""

    def __init__(
        self, *, every_seconds: float, checkpoint: Callable[[], Awaitable[object]]
    ) -> None:
        """Start the clock now (the task starts with `start`).

        Args:
            every_seconds: The longest time between checkpoints.
            checkpoint: Writes a checkpoint (`AuditLog.checkpoint`).
        """
        self._every_seconds = every_seconds
        self._checkpoint = checkpoint
        self._last = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def mark(self) -> None:
        """Note that a checkpoint was just committed (restarts the timer)."""
        self._last = time.monotonic()

    def start(self) -> None:
        """Start the timer task unless it is running."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="audit-checkpointer")

    async def stop(self) -> None:
        """Stop the timer task and wait for it (no checkpoint is written after this)."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while not self._stopped:
            # Recomputed each turn: a checkpoint written meanwhile by the writer moves it.
            due = self._last + self._every_seconds
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            try:
                await self._checkpoint()
            except AuditClosedError:
                return
            except Exception as exc:  # keep the timer alive; the next attempt may succeed
                log.error("audit.checkpoint_failed", error=type(exc).__name__, detail=str(exc))
                await asyncio.sleep(min(self._every_seconds, RETRY_CAP_SECONDS))
