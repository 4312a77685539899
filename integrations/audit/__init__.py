"""Resync's audit log: encrypted at rest, tamper-evident, verifiable offline, erasable.

Every action Resync takes and every decision a person makes goes in through one call,
`AuditLog.record`. Records are AES-256-GCM encrypted under a per-subject data key (wrapped
by the KEK), hash-chained over their ciphertexts and stored fields, and covered by Ed25519
signed checkpoints. See docs/audit.md.

Errors (all subclasses of `AuditError`)::

    AuditError
    ├── AuditKeyError           KEK or signing key missing, malformed, or not this log's
    ├── AuditStorageError       store unreadable/unwritable (disk full, corrupt file, DB down);
    │                           the failed batch was rolled back and never acknowledged
    ├── AuditIntegrityError     verification failed (``sequence``: first bad record)
    └── AuditClosedError        record() after close()
"""

from integrations.audit.errors import (
    AuditClosedError,
    AuditError,
    AuditIntegrityError,
    AuditKeyError,
    AuditStorageError,
)
from integrations.audit.log import AuditLog
from integrations.audit.opening import make_store, open_audit_log
from integrations.audit.records import AuditReceipt, ReadRecord
from integrations.audit.sink import AuditSink
from integrations.audit.verify import Fault, VerifyReport, verify_store

__all__ = [
    "AuditClosedError",
    "AuditError",
    "AuditIntegrityError",
    "AuditKeyError",
    "AuditLog",
    "AuditReceipt",
    "AuditSink",
    "AuditStorageError",
    "Fault",
    "ReadRecord",
    "VerifyReport",
    "make_store",
    "open_audit_log",
    "verify_store",
]
