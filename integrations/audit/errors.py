"""The audit log's errors: one tree, each saying what failed and what to do.

::

    AuditError                  base of everything below
    ├── AuditKeyError           KEK or signing key missing, malformed, or not the log's key
    ├── AuditStorageError       the store cannot be read or written (disk full, corrupt file,
    │                           database down); nothing in the failed batch was acknowledged
    ├── AuditIntegrityError     the log does not verify (carries the first bad sequence number)
    └── AuditClosedError        record() after close()

No message ever includes key material.
"""

from __future__ import annotations

__all__ = [
    "AuditClosedError",
    "AuditError",
    "AuditIntegrityError",
    "AuditKeyError",
    "AuditStorageError",
]


class AuditError(Exception):
    """Base of every audit log error."""


class AuditKeyError(AuditError):
    """A key is missing, malformed, or does not belong to this log."""


class AuditStorageError(AuditError):
    """The store failed; the batch being written was rolled back and not acknowledged."""


class AuditIntegrityError(AuditError):
    """The log failed verification.

    Attributes:
        sequence: The first bad sequence number (None when the fault is not tied to one).
        problem: What is wrong there.
    """

    def __init__(self, *, sequence: int | None, problem: str) -> None:
        self.sequence = sequence
        self.problem = problem
        where = f"seq {sequence}" if sequence is not None else "log"
        super().__init__(f"audit log does not verify: {where}: {problem}")


class AuditClosedError(AuditError):
    """The log was closed; nothing more can be recorded."""
