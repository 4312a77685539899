"""What one audit record says, how it is serialized, and the stored row's shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "SYSTEM_SUBJECT",
    "AuditEvent",
    "AuditReceipt",
    "KeyRow",
    "ReadRecord",
    "Row",
    "iso_from_us",
    "now_us",
    "us_from_datetime",
]

SYSTEM_SUBJECT = "system"
"""The data subject of records without an actor (Resync's own actions)."""

Row = tuple[int, int, bytes, bytes, bytes, bytes, bytes]
"""A stored record: ``(seq, ts_us, key_id, nonce, prev_hash, ciphertext, hash)``."""


def now_us() -> int:
    """The server clock, µs since the epoch (UTC)."""
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def us_from_datetime(moment: datetime) -> int:
    """Convert a datetime (naive means UTC) to µs since the epoch.

    Args:
        moment: The time.

    Returns:
        Microseconds since the epoch.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def iso_from_us(ts_us: int) -> str:
    """Format µs since the epoch as ISO 8601 UTC with a ``Z``.

    Args:
        ts_us: Microseconds since the epoch.

    Returns:
        The text.
    """
    moment = datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditReceipt:
    """Proof that a record is durable: its sequence number and chain hash (hex)."""

    sequence: int
    hash: str


@dataclass(frozen=True)
class AuditEvent:
    """The content of one record (who, what, where, when, outcome, correlation)."""

    action: str
    outcome: str
    actor_id: str | None
    actor_identity: str | None
    ts_us: int
    platform: str | None = None
    channel: str | None = None
    thread: str | None = None
    target: str | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    correlation: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """The data subject whose key encrypts this record (identity, else user id)."""
        return self.actor_identity or self.actor_id or SYSTEM_SUBJECT

    def to_bytes(self) -> bytes:
        """Serialize as compact JSON (non-JSON parameter values become strings)."""
        return json.dumps(
            {
                "v": 1,
                "time": iso_from_us(self.ts_us),
                "actor_id": self.actor_id,
                "actor_identity": self.actor_identity,
                "action": self.action,
                "outcome": self.outcome,
                "platform": self.platform,
                "channel": self.channel,
                "thread": self.thread,
                "target": self.target,
                "parameters": self.parameters,
                "correlation": self.correlation,
            },
            separators=(",", ":"),
            default=str,
            ensure_ascii=False,
        ).encode()


@dataclass(frozen=True)
class KeyRow:
    """A data key as stored: wrapped under the KEK, or erased (``wrapped`` is None)."""

    key_id: str
    subject_ref: str | None
    kek_id: str
    wrapped: bytes | None
    created_us: int
    erased_us: int | None = None


@dataclass(frozen=True)
class ReadRecord:
    """One record as read back: content is None unless the status is ``ok``.

    Status: ``ok``; ``erased`` (its subject's data key was destroyed); ``unreadable`` (its
    data key row is damaged); ``undecryptable`` (the ciphertext does not authenticate under
    its key: forged, or moved from another position).
    """

    seq: int
    ts_us: int
    hash: str
    key_id: str
    status: Literal["ok", "erased", "unreadable", "undecryptable"]
    content: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (seq, time, hash, status and the content's fields)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "time": iso_from_us(self.ts_us),
            "hash": self.hash,
            "status": self.status,
        }
        if self.content is not None:
            out.update({k: v for k, v in self.content.items() if k not in ("v", "time")})
        return out
