"""Group commit: one writer task turns whatever has queued up into one transaction.

Concurrent ``record()`` calls only enqueue a `Pending` and wait on its future. The single
writer task drains the queue (up to `MAX_BATCH`), has the store append the batch, and
resolves each future only after the transaction is durable. One transaction per batch,
not per record, is what keeps the log fast under load; one writer is what keeps the
in-process order and the chain simple.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from integrations.audit.errors import AuditError, AuditStorageError
from integrations.audit.planning import Pending, Sealer
from integrations.audit.store import AuditStore

__all__ = ["MAX_BATCH", "GroupCommitWriter"]

log = structlog.get_logger(__name__)

MAX_BATCH = 1024
"""Most requests in one transaction (bounds its size and the time a batch holds the lock)."""


class GroupCommitWriter:
    """The queue and the one task that writes it, batch by batch."""

    def __init__(
        self, *, store: AuditStore, sealer: Sealer, on_checkpoint: Callable[[], None]
    ) -> None:
        """Prepare the queue; the task starts with the first request.

        Args:
            store: Where batches are appended.
            sealer: Turns a batch into rows.
            on_checkpoint: Called after a committed batch that wrote a checkpoint.
        """
        self._store = store
        self._sealer = sealer
        self._on_checkpoint = on_checkpoint
        self._queue: asyncio.Queue[Pending | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Pending) -> object:
        """Queue a request and wait until its batch is durable.

        Args:
            item: The request.

        Returns:
            The future's result (`AuditReceipt` or `CheckpointRow`).

        Raises:
            AuditError: The batch failed and was not written.
        """
        # Started on first use (a task needs the running loop), and again if it ended
        # (e.g. was cancelled): a request must never be queued with nobody to write it.
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="audit-writer")
        await self._queue.put(item)
        return await item.future

    async def drain(self) -> None:
        """Write everything queued so far, then stop the task."""
        if self._task is not None:
            await self._queue.put(None)  # the stop marker, behind every queued request
            await self._task

    async def _loop(self) -> None:
        stop = False
        while not stop:
            first = await self._queue.get()
            if first is None:
                break
            items = [first]
            while len(items) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if nxt is None:
                    stop = True
                    break
                items.append(nxt)
            try:
                await self._write_batch(items)
            except Exception as exc:  # never leave a caller waiting on a dead writer
                log.exception("audit.writer_crashed")
                for item in items:
                    if not item.future.done():
                        item.future.set_exception(
                            AuditStorageError(f"audit writer failed: {type(exc).__name__}: {exc}")
                        )

    async def _write_batch(self, items: list[Pending]) -> None:
        plan = self._sealer.plan(items)
        try:
            batch = await self._store.append(plan)
        except AuditError as exc:
            log.error("audit.write_failed", error=type(exc).__name__, detail=str(exc))
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        except Exception as exc:  # a driver error we did not map: still never acknowledge
            error = AuditStorageError(f"{self._store.description}: {type(exc).__name__}: {exc}")
            log.error("audit.write_failed", error=type(exc).__name__, detail=str(exc))
            for item in items:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        plan.committed()
        if batch.checkpoints:
            self._on_checkpoint()
        receipts = iter(plan.receipts)
        for item in items:
            if item.future.done():
                continue
            if item.event is not None:
                item.future.set_result(next(receipts))
            else:
                item.future.set_result(batch.checkpoints[-1])
