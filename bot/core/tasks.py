"""`TaskSupervisor`: every piece of background work of the chat core, spawned, drained, stopped.

Adapters acknowledge a delivery at once and hand the work here (house rule 2). Bounded work
(answers) waits for one of a fixed number of slots, so a burst queues in the loop instead of
hammering TWS; unbounded work (a runbook run with wait steps) does not hold a slot. A task
that crashes is logged with its trace and never takes the process down. It implements
`agents.tasks.Spawner`, so the runbook service runs long executions here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Final

import structlog

from integrations import metrics

__all__ = ["MAX_CONCURRENT_WORK", "TaskSupervisor"]

log = structlog.get_logger(__name__)

MAX_CONCURRENT_WORK: Final = 16
"""Answers worked on at once, per process."""


class TaskSupervisor:
    """Spawns, tracks, drains and stops background tasks."""

    def __init__(self, *, slots: int = MAX_CONCURRENT_WORK) -> None:
        """Create a supervisor.

        Args:
            slots: How many bounded tasks may run at once.
        """
        self._slots = asyncio.Semaphore(slots)
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Start unbounded supervised work (the `agents.tasks.Spawner` protocol).

        Args:
            work: The coroutine.
            name: A name for logs.
        """
        self.spawn(work, name=name, bounded=False)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str, bounded: bool = True) -> None:
        """Start ``work`` in a tracked task.

        Args:
            work: The coroutine.
            name: A name for logs.
            bounded: Wait for one of the slots first (answers); False for long work.
        """
        task = asyncio.get_running_loop().create_task(self._guard(work, name, bounded), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Coroutine[Any, Any, None], name: str, bounded: bool) -> None:
        metrics.TASKS_IN_FLIGHT.inc()
        try:
            if bounded:
                async with self._slots:
                    await work
            else:
                await work
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad delivery must not take the process down
            log.exception("task.crashed", task=name)
        finally:
            metrics.TASKS_IN_FLIGHT.dec()
            work.close()  # no-op after a run; silences "never awaited" when cancelled early

    @property
    def running(self) -> int:
        """How many tasks are not finished."""
        return sum(1 for task in self._tasks if not task.done())

    async def drain(self) -> None:
        """Wait until every task is done, including tasks spawned while waiting."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Let work in progress finish for ``grace_seconds``, then cancel what is left.

        Args:
            grace_seconds: How long in-flight work may take.
        """
        pending = [task for task in self._tasks if not task.done()]
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=grace_seconds)
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)
