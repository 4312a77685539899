"""`Spawner`: how agents start long work without making their caller wait for it.

A click handler must answer in seconds, but a runbook run may wait for a job for an hour. The
runbook service therefore hands the run to a `Spawner`, which starts it as supervised
background work: tracked, logged when it crashes, drained or cancelled at shutdown. The bot's
task supervisor (``bot.core.tasks.TaskSupervisor``) implements it; tests use a small one.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol

__all__ = ["Spawner"]


class Spawner(Protocol):
    """Starts supervised background work and returns at once."""

    def __call__(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Start ``work`` in the background.

        The spawner owns the coroutine from then on: it awaits it, logs an exception it
        raises (the work's own errors are its business, not the caller's), and closes it
        when it is cancelled before it ran.

        Args:
            work: The coroutine to run.
            name: A name for logs and task listings, e.g. ``runbook:4f2a9c``.
        """
        ...
