"""The storage contract both back ends (SQLite, PostgreSQL) implement.

A store knows nothing about cryptography: the log hands `append` a `Planner` that turns
the locked head into rows, new data keys, a signed head and checkpoints, all written in
one transaction while the writer lock is held (so the chain never forks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from integrations.audit.records import KeyRow, Row

__all__ = [
    "AuditStore",
    "BatchWrite",
    "CheckpointRow",
    "Head",
    "PageCursor",
    "Planner",
    "SignedHead",
]


@dataclass(frozen=True)
class Head:
    """The chain's head as seen under the writer lock."""

    seq: int
    hash: bytes
    epoch: int
    kek_id: str


@dataclass(frozen=True)
class CheckpointRow:
    """A signed checkpoint as stored."""

    seq: int
    hash: bytes
    statement: str
    signature: bytes


@dataclass(frozen=True)
class SignedHead:
    """The head row: the head plus the signed statement written with the last commit."""

    head: Head
    statement: bytes
    signature: bytes


@dataclass
class BatchWrite:
    """Everything one transaction writes."""

    rows: list[Row]
    new_keys: list[KeyRow]
    head: Head
    statement: str
    signature: bytes
    checkpoints: list[CheckpointRow] = field(default_factory=list)


class PageCursor:
    """Where the next chunk of `AuditStore.rows` starts.

    Paging with ``seq > last`` would skip a second row that shares the last ``seq`` of a
    chunk (a duplicate planted after dropping the primary key), so verification would pass.
    The next chunk starts at ``seq >= last`` instead, skipping the rows with that ``seq``
    already returned; the stores order rows that share a ``seq`` by their physical id, so
    the skipped rows are the same ones.
    """

    def __init__(self) -> None:
        """Start before the first row."""
        self.start: tuple[object, int] | None = None
        """``(seq, rows with that seq already returned)``, or None for the first chunk."""

    def advance(self, batch: list[Row]) -> None:
        """Move past a full chunk.

        Args:
            batch: The chunk just returned (not empty).
        """
        last = batch[-1][0]
        tail = 0
        for row in reversed(batch):
            if row[0] != last:
                break
            tail += 1
        if self.start is not None and self.start[0] == last:
            tail += self.start[1]  # the whole chunk shared the previous chunk's last seq
        self.start = (last, tail)


class Planner(Protocol):
    """Turns the locked head into a `BatchWrite` (pure, no I/O)."""

    def wanted_refs(self, head: Head) -> list[str]:
        """Subject refs whose key rows the plan needs."""
        ...

    def plan(self, head: Head, keys: dict[str, KeyRow]) -> BatchWrite:
        """Build the batch from the head and the found key rows (by subject ref)."""
        ...


class AuditStore(Protocol):
    """Durable storage of one audit log."""

    description: str

    async def exists(self) -> bool:
        """Whether a log is stored here; creates nothing (commands that only read refuse)."""
        ...

    async def open(self) -> None:
        """Create the schema when missing."""
        ...

    async def ping(self) -> None:
        """Read the log on a connection of its own (readiness; never disturbs the writer)."""
        ...

    async def meta(self) -> dict[str, str]:
        """The log's metadata (log_id, public_key, kek_id, kek_check, ...)."""
        ...

    async def initialize(self, values: dict[str, str], head: SignedHead) -> dict[str, str]:
        """Write metadata and the genesis head unless another writer did; return the metadata."""
        ...

    async def append(self, planner: Planner) -> BatchWrite:
        """Write one batch in one transaction under the writer lock; durable on return."""
        ...

    def rows(
        self, *, since_us: int | None = None, until_us: int | None = None, chunk: int = 20000
    ) -> AsyncIterator[list[Row]]:
        """Stored records in sequence order, in chunks (no validation)."""
        ...

    async def checkpoints(self) -> list[tuple[object, object, object, object]]:
        """Raw checkpoint rows ``(seq, hash, statement, signature)`` as stored."""
        ...

    async def signed_head(self) -> tuple[object, ...] | None:
        """The raw head row ``(seq, hash, epoch, kek_id, statement, signature)``."""
        ...

    async def key_rows(self) -> list[KeyRow]:
        """Every data key row."""
        ...

    async def erase(self, subject_ref: str) -> int:
        """Destroy the subject's data keys; return how many; bump the head's epoch."""
        ...

    async def rewrap(
        self,
        transform: Callable[[list[KeyRow], dict[str, str]], tuple[list[KeyRow], dict[str, str]]],
    ) -> int:
        """Replace key rows and metadata in one locked transaction (KEK rotation)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
