"""The forwarding loop: read after the cursor, deliver a batch, move the cursor, repeat.

At-least-once: the cursor is saved (atomically, see `cursor`) only after the destination
acknowledged the batch, so a crash or restart re-sends at most the batch in flight, and a
destination that is down only makes the backlog grow. Failures are retried with
exponential backoff and jitter (a destination's ``Retry-After`` wins), forever: nothing
is dropped. The loop never raises into the bot: errors are logged and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from integrations.audit.forward.cursor import Cursor, CursorFile
from integrations.audit.forward.sinks import DeliveryError, Sink
from integrations.audit.forward.source import AuditSource

__all__ = ["ForwardResult", "Forwarder", "Progress"]

log = structlog.get_logger(__name__)

Progress = Callable[[str, int, int], None]
"""Called after each delivered batch with (destination, records in it, backlog)."""


@dataclass(frozen=True)
class ForwardResult:
    """What one pass did: records delivered, and how many are still behind."""

    sent: int
    backlog: int


class Forwarder:
    """Forwards one audit log to one destination (one cursor per destination)."""

    def __init__(
        self,
        *,
        source: AuditSource,
        sink: Sink,
        cursor_file: CursorFile,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 60.0,
        progress: Progress | None = None,
    ) -> None:
        """Wire a source, a destination and the destination's cursor.

        Args:
            source: New records of the log.
            sink: The destination.
            cursor_file: Where the destination's cursor is kept.
            batch_size: Records per delivery.
            poll_seconds: Wait between looks for new records when caught up.
            retry_base_seconds: First retry delay; doubles per consecutive failure.
            retry_max_seconds: Longest retry delay.
            progress: Called after each delivered batch (CLI output).
        """
        self.source = source
        self.sink = sink
        self._cursor_file = cursor_file
        self._batch = batch_size
        self._poll = poll_seconds
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._progress = progress
        self._cursor: Cursor | None = None
        self._backlog = 0
        self._sent = 0
        self._failures = 0
        self._random = random.Random()

    @property
    def name(self) -> str:
        """The destination's name (``hec``, ``syslog``)."""
        return self.sink.name

    @property
    def backlog(self) -> int:
        """Records written but not yet acknowledged by the destination (as of the last look)."""
        return self._backlog

    @property
    def sent(self) -> int:
        """Records delivered by this forwarder since it started (re-sent ones included)."""
        return self._sent

    @property
    def failures(self) -> int:
        """Consecutive failed attempts (0 when the last one succeeded)."""
        return self._failures

    def reload_cursor(self) -> None:
        """Read the cursor from its file on the next pass (another replica may have moved it)."""
        self._cursor = None

    def stand_by(self) -> None:
        """Stop reporting a backlog: another replica forwards (see `leader`)."""
        self._backlog = 0
        self._failures = 0

    async def run_once(self, stop: asyncio.Event | None = None) -> ForwardResult:
        """Deliver every record written up to now, batch by batch.

        Args:
            stop: When set, return after the batch in flight (a shutdown does not wait
                for a whole backlog).

        Returns:
            What was delivered and what is still behind (new records written meanwhile).

        Raises:
            DeliveryError: The destination did not take a batch; the cursor stays after
                the last batch it acknowledged.
        """
        sent_before = self._sent
        cursor = await self._load_cursor()
        head = await self.source.head_seq()
        if cursor.seq > head:
            # The log was restored from an older copy: re-read from its head on.
            log.error("audit.forward.cursor_ahead", sink=self.name, cursor=cursor.seq, head=head)
            cursor = self._cursor = Cursor(log_id=cursor.log_id, seq=head)
        self._backlog = head - cursor.seq
        while cursor.seq < head and not (stop is not None and stop.is_set()):
            records = await self.source.after(seq=cursor.seq, ts_us=cursor.ts_us, limit=self._batch)
            if not records:
                break
            await self.sink.send(records)
            last = records[-1]
            cursor = Cursor(log_id=cursor.log_id, seq=last.seq, ts_us=last.ts_us, hash=last.hash)
            await asyncio.to_thread(self._cursor_file.save, cursor)
            self._cursor = cursor
            self._sent += len(records)
            self._backlog = max(0, head - cursor.seq)
            if self._progress is not None:
                self._progress(self.name, len(records), self._backlog)
        return ForwardResult(sent=self._sent - sent_before, backlog=self._backlog)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Forward until ``stop`` is set, retrying failures with backoff; never raises.

        Args:
            stop: Set to stop after the batch in flight.
        """
        while not stop.is_set():
            wait = self._poll
            try:
                await self.run_once(stop)
            except DeliveryError as exc:
                wait = self._retry_delay(exc.retry_after)
                log.warning(
                    "audit.forward.failed",
                    sink=self.name,
                    problem=str(exc),
                    attempt=self._failures,
                    retry_in_s=round(wait, 2),
                    backlog=self._backlog,
                )
            except Exception as exc:  # the store, keys, the cursor file: keep the bot up
                wait = self._retry_delay(None)
                log.error(
                    "audit.forward.error",
                    sink=self.name,
                    problem=f"{type(exc).__name__}: {exc}",
                    retry_in_s=round(wait, 2),
                )
            else:
                if self._failures:
                    log.info("audit.forward.recovered", sink=self.name, after=self._failures)
                self._failures = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    def _retry_delay(self, retry_after: float | None) -> float:
        self._failures += 1
        ceiling: float = min(self._retry_max, self._retry_base * 2.0 ** min(self._failures - 1, 30))
        # "Equal jitter": never zero, spread so replicas and restarts do not retry in step.
        delay = ceiling / 2 + self._random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._retry_max))  # the destination's wish
        return delay

    async def _load_cursor(self) -> Cursor:
        if self._cursor is None:
            self._cursor = await asyncio.to_thread(self._cursor_file.load, self.source.log_id)
        return self._cursor
