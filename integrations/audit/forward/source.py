"""Reading the records after a cursor, decrypted, on a store connection of its own.

The stores page by time, not by sequence number, so the next records are found by reading
from a little before the cursor's time (``window_us``: clock skew between writers) and
keeping the records after its ``seq``. Sequence numbers have no gaps (one writer lock), so
no record, or a first one that is not ``seq + 1``, means a writer's clock was further behind
than the window: the read is repeated from the start of the log. A record that is missing even
then (deleted from the store: `resync audit verify` names it) is skipped with a warning
rather than stopping forwarding for good.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import structlog

from integrations.audit.datakeys import DataKeys
from integrations.audit.reading import Ciphers, load_ciphers, open_row
from integrations.audit.records import ReadRecord, Row
from integrations.audit.store import AuditStore

__all__ = ["AuditSource"]

log = structlog.get_logger(__name__)

DEFAULT_WINDOW_US = 300 * 1_000_000
"""How far before the cursor's time the next records are looked for (5 minutes)."""


class AuditSource:
    """New records of one audit log, for the forwarder (read-only)."""

    def __init__(
        self, *, store: AuditStore, keys: DataKeys, window_us: int = DEFAULT_WINDOW_US
    ) -> None:
        """Read ``store`` (opened; not the bot's writer store) with the log's data keys.

        Args:
            store: An opened store of the log, used only by this source.
            keys: The log's data keys (its log id and KEK).
            window_us: Clock skew between writers tolerated before a full re-read.
        """
        self.store = store
        self.log_id = keys.log_id.hex()
        self._keys = keys
        self._window_us = window_us
        self._ciphers: Ciphers | None = None
        self._epoch: int | None = None

    async def head_seq(self) -> int:
        """The last record's sequence number (0: empty log)."""
        head = await self.store.signed_head()
        if head is None:
            return 0
        epoch = int(cast(int, head[2]))
        if epoch != self._epoch:
            # An erasure bumps the epoch: drop the cached keys so an erased subject's
            # records are not decrypted (and forwarded) from a key cached before it.
            self._epoch, self._ciphers = epoch, None
        return int(cast(int, head[0]))

    async def after(self, *, seq: int, ts_us: int, limit: int) -> list[ReadRecord]:
        """Up to ``limit`` records after ``seq``, decrypted, in sequence order.

        Args:
            seq: The cursor's sequence number (0: from the first record).
            ts_us: The cursor's record time (µs since the epoch).
            limit: The most records returned.

        Returns:
            Consecutive records from ``seq + 1`` (from the next existing one when records
            are missing from the store); empty when there is nothing new.
        """
        since = None if seq == 0 else ts_us - self._window_us
        rows = await self._collect(since, seq, limit)
        if since is not None and (not rows or rows[0][0] != seq + 1):
            # Called only while the head is past ``seq``: the next record is older than
            # the window (a writer's clock far behind), so look from the start.
            rows = await self._collect(None, seq, limit)
        if rows and rows[0][0] != seq + 1:
            log.warning("audit.forward.gap", after_seq=seq, next_seq=rows[0][0])
        rows = _consecutive(rows)
        ciphers = await self._current_ciphers(rows)
        return [open_row(self._keys.log_id, row, ciphers) for row in rows]

    async def _collect(self, since: int | None, seq: int, limit: int) -> list[Row]:
        found: list[Row] = []
        pages: AsyncIterator[list[Row]] = self.store.rows(since_us=since, chunk=max(limit, 200))
        async with contextlib.aclosing(cast(AsyncGenerator[list[Row], None], pages)):
            async for page in pages:
                found.extend(row for row in page if row[0] > seq)
                if len(found) >= limit:
                    break
        found.sort(key=lambda row: row[0])
        return found[:limit]

    async def _current_ciphers(self, rows: list[Row]) -> Ciphers:
        wanted = {row[2].decode(errors="replace") for row in rows}
        if self._ciphers is None or not wanted <= self._ciphers.keys():
            # New subjects since the last load (their keys were created by later writes).
            self._ciphers = await load_ciphers(self.store, self._keys)
        return self._ciphers


def _consecutive(rows: list[Row]) -> list[Row]:
    """The leading run of rows with consecutive sequence numbers (one per number)."""
    out: list[Row] = []
    for row in rows:
        if out and row[0] != out[-1][0] + 1:
            break
        out.append(row)
    return out
