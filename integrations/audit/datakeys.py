"""The per-subject data keys: which KEK is in use, and the cache of unwrapped keys.

Each data subject's records are encrypted under their own AES-256-GCM data key, stored
wrapped by the key-encryption key (KEK) and indexed by `subject_ref`, a pseudonym, so the
key table never names anyone. This module owns that key material in memory: finding or
creating the key for a record, unwrapping every key for reading, and re-wrapping them all
under a new KEK. It does no I/O; the store reads and writes the rows.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations.audit.crypto import (
    kek_check_seal,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from integrations.audit.errors import AuditKeyError
from integrations.audit.keys import Kek
from integrations.audit.records import KeyRow, now_us

__all__ = ["DamagedKey", "DataKey", "DataKeys", "Rewrap", "subject_ref"]


@dataclass(frozen=True)
class DamagedKey:
    """A data key row that does not open under the KEK: its records cannot be read."""

    problem: str


DataKey = tuple[str, AESGCM]
"""A usable data key: its id (as stored with each record) and the cipher it opens."""

Rewrap = Callable[[list[KeyRow], dict[str, str]], tuple[list[KeyRow], dict[str, str]]]
"""What `AuditStore.rewrap` applies to the key rows and metadata under its lock."""


def subject_ref(log_id: bytes, subject: str) -> str:
    """The pseudonymous index of a data subject's key (SHA-256 of log id and subject).

    Args:
        log_id: The log's id.
        subject: The subject (identity, else platform user id, else ``system``).

    Returns:
        Hex digest.
    """
    return hashlib.sha256(b"resync-audit-subject\0" + log_id + subject.encode()).hexdigest()


class DataKeys:
    """The KEK in use and the data keys already unwrapped, by subject ref.

    The cache is only valid for one head *epoch*: every erasure bumps the epoch in the
    store, so a key destroyed by another process (or replica) is never used again here.
    """

    def __init__(self, *, log_id: bytes, kek: Kek) -> None:
        """Start with an empty cache.

        Args:
            log_id: The log's id (bound into every wrapped key).
            kek: The key-encryption key in use.
        """
        self.log_id = log_id
        self.kek = kek
        self._cache: dict[str, DataKey] = {}
        self._epoch = -1  # no head seen yet: the first plan starts the cache

    def cached(self, epoch: int) -> dict[str, DataKey]:
        """The cached keys if they belong to this epoch, else none (read-only use).

        Args:
            epoch: The head's epoch under the writer lock.

        Returns:
            The cache, or an empty dict when it is stale.
        """
        return self._cache if epoch == self._epoch else {}

    def at_epoch(self, epoch: int) -> dict[str, DataKey]:
        """The cache for this epoch, emptied first when it belonged to another.

        Args:
            epoch: The head's epoch under the writer lock.

        Returns:
            The (live) cache.
        """
        if epoch != self._epoch:
            self._cache.clear()
            self._epoch = epoch
        return self._cache

    def remember(self, learned: dict[str, DataKey]) -> None:
        """Cache keys found or created by a batch, once that batch is durable.

        Args:
            learned: Keys by subject ref.
        """
        self._cache.update(learned)

    def forget(self) -> None:
        """Drop every cached key (after an erasure or a KEK rotation)."""
        self._cache.clear()
        self._epoch = -1

    def resolve(
        self, ref: str, found: KeyRow | None, *, head_kek_id: str, new_keys: list[KeyRow]
    ) -> DataKey:
        """Unwrap the subject's stored key, or create one (appended to ``new_keys``).

        Args:
            ref: The subject ref.
            found: The subject's key row, if the store has one.
            head_kek_id: The KEK id the head says the log is under.
            new_keys: Where a newly created key row is added, to be written with the batch.

        Returns:
            The data key.

        Raises:
            AuditKeyError: Another process rotated the KEK; this one must restart with it.
        """
        kek = self.kek
        if found is not None and found.wrapped is not None:
            if found.kek_id != kek.kek_id:
                raise AuditKeyError(
                    f"the key-encryption key was rotated (now id {found.kek_id}); "
                    "restart Resync with the new key"
                )
            data_key = unwrap_data_key(
                kek=kek.key, log_id=self.log_id, key_id=found.key_id.encode(), wrapped=found.wrapped
            )
            return found.key_id, AESGCM(data_key)
        # No live key (first record, or the subject was erased): a new key, so the
        # erased records stay unreadable while new ones are not.
        if head_kek_id != kek.kek_id:
            raise AuditKeyError(
                f"the key-encryption key was rotated (now id {head_kek_id}); "
                "restart Resync with the new key"
            )
        key_id = uuid.uuid4().hex
        data_key = new_data_key()
        wrapped = wrap_data_key(
            kek=kek.key, log_id=self.log_id, key_id=key_id.encode(), data_key=data_key
        )
        new_keys.append(
            KeyRow(
                key_id=key_id,
                subject_ref=ref,
                kek_id=kek.kek_id,
                wrapped=wrapped,
                created_us=now_us(),
            )
        )
        return key_id, AESGCM(data_key)

    def ciphers(self, rows: list[KeyRow]) -> dict[str, AESGCM | DamagedKey | None]:
        """Unwrap every data key for reading; an erased key maps to None.

        A key row that does not open (altered, or marked with another KEK's id) maps to a
        `DamagedKey`: only that subject's records become unreadable, not the whole log.

        Args:
            rows: Every key row of the log.

        Returns:
            Ciphers by key id.
        """
        ciphers: dict[str, AESGCM | DamagedKey | None] = {}
        for row in rows:
            if row.wrapped is None:
                ciphers[row.key_id] = None
                continue
            if row.kek_id != self.kek.kek_id:
                ciphers[row.key_id] = DamagedKey(
                    f"data key {row.key_id} is marked as wrapped under key-encryption key "
                    f"{row.kek_id}, but the log is under {self.kek.kek_id} (the key row was altered)"
                )
                continue
            try:
                data_key = unwrap_data_key(
                    kek=self.kek.key,
                    log_id=self.log_id,
                    key_id=row.key_id.encode(),
                    wrapped=row.wrapped,
                )
            except AuditKeyError as exc:
                ciphers[row.key_id] = DamagedKey(str(exc))
                continue
            ciphers[row.key_id] = AESGCM(data_key)
        return ciphers

    def rewrap(self, new_kek: Kek) -> Rewrap:
        """The transform that re-wraps every live key from the current KEK to ``new_kek``.

        Only the wrapping changes: records are never re-encrypted, so history (and the
        chain over it) is untouched. Call `rotated` once the store has applied it.

        Args:
            new_kek: The new key-encryption key.

        Returns:
            The transform for `AuditStore.rewrap`.
        """
        old = self.kek
        log_id = self.log_id

        def transform(
            rows: list[KeyRow], meta: dict[str, str]
        ) -> tuple[list[KeyRow], dict[str, str]]:
            if meta.get("kek_id") != old.kek_id:
                raise AuditKeyError("the log is not under the configured key-encryption key")
            out: list[KeyRow] = []
            for row in rows:
                if row.wrapped is None:
                    continue
                data_key = unwrap_data_key(
                    kek=old.key, log_id=log_id, key_id=row.key_id.encode(), wrapped=row.wrapped
                )
                wrapped = wrap_data_key(
                    kek=new_kek.key,
                    log_id=log_id,
                    key_id=row.key_id.encode(),
                    data_key=data_key,
                )
                out.append(
                    KeyRow(
                        key_id=row.key_id,
                        subject_ref=row.subject_ref,
                        kek_id=new_kek.kek_id,
                        wrapped=wrapped,
                        created_us=row.created_us,
                    )
                )
            check = kek_check_seal(kek=new_kek.key, log_id=log_id)
            return out, {"kek_id": new_kek.kek_id, "kek_check": check.hex()}

        return transform

    def rotated(self, new_kek: Kek) -> None:
        """Switch to ``new_kek`` after the store re-wrapped the keys under it.

        Args:
            new_kek: The key now in use.
        """
        self.kek = new_kek
        self.forget()
