"""The forwarder's persisted cursor: the last record a destination acknowledged.

One small JSON file per destination in the data directory, replaced atomically (write a
0600 temporary file, fsync, rename, fsync the directory), so a crash leaves either the old
cursor or the new one, never a torn file. Delivery is at-least-once: the cursor moves only
after the destination acknowledged a batch, so a restart re-sends at most that last batch.

Why a file and not a row in the audit store: the store is the tamper-evident log, written
by one code path under one lock; a mutable cursor there would mix operational state into
it and need a schema change in both back ends. The cost: with several replicas on one
PostgreSQL log, forward from one of them only (each data directory has its own cursor).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Cursor", "CursorFile"]

_FORMAT = "resync-siem-cursor/1"


@dataclass(frozen=True)
class Cursor:
    """Where a destination is: the last acknowledged record (seq 0: nothing yet)."""

    log_id: str
    seq: int = 0
    ts_us: int = 0
    hash: str = ""


class CursorFile:
    """A destination's cursor, stored as ``<data_dir>/siem-<name>.cursor``."""

    def __init__(self, data_dir: Path, name: str) -> None:
        """Point at the cursor of one destination.

        Args:
            data_dir: Resync's data directory.
            name: The destination (``hec``, ``syslog``).
        """
        self.path = data_dir / f"siem-{name}.cursor"

    def load(self, log_id: str) -> Cursor:
        """Read the cursor; a missing one, or one of another log, starts at the beginning.

        Args:
            log_id: The audit log's id (hex): a cursor of another log does not apply.

        Returns:
            The cursor.

        Raises:
            ValueError: The file exists but is not a cursor (fix or delete it by hand:
                guessing would either lose records or re-send the whole log).
        """
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Cursor(log_id=log_id)
        except (OSError, ValueError) as exc:
            raise ValueError(f"unreadable SIEM cursor {self.path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{self.path} is not a SIEM cursor ({_FORMAT})")
        if data.get("log_id") != log_id:
            return Cursor(log_id=log_id)
        try:
            return Cursor(
                log_id=log_id,
                seq=int(data["seq"]),
                ts_us=int(data["ts_us"]),
                hash=str(data["hash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.path}: bad cursor field {exc}") from None

    def save(self, cursor: Cursor) -> None:
        """Replace the cursor durably and atomically (0600).

        Args:
            cursor: The new cursor.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps({"format": _FORMAT, **asdict(cursor)}, separators=(",", ":"))
        temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
