"""Sealing a batch: turning queued records into encrypted, chained, signed rows.

The store calls `BatchPlan` (its `Planner`) with the head it locked, so the sequence
numbers and previous hashes are always those of the real head, even with writers in
other processes. Planning is pure: it encrypts, chains and signs in memory and the store
writes the result in one transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from integrations.audit.chain import record_hash, record_hash_prefix, sign_statement
from integrations.audit.crypto import encrypt_record, record_ad
from integrations.audit.datakeys import DataKey, DataKeys, subject_ref
from integrations.audit.records import AuditEvent, AuditReceipt, KeyRow, Row
from integrations.audit.store import BatchWrite, CheckpointRow, Head

__all__ = ["BatchPlan", "Pending", "Sealer"]


@dataclass
class Pending:
    """One queued request: a record to append, or (``event`` None) a forced checkpoint.

    Attributes:
        event: The record, or None for a checkpoint request.
        future: Resolved with an `AuditReceipt` (a record) or a `CheckpointRow`, or failed.
        checkpoint: Write a checkpoint at the end of the batch holding this request.
    """

    event: AuditEvent | None
    future: asyncio.Future[Any]
    checkpoint: bool = False


class Sealer:
    """What sealing needs for one log: its id, data keys, signing key and checkpoint rate."""

    def __init__(
        self,
        *,
        log_id: bytes,
        keys: DataKeys,
        signing_key: Ed25519PrivateKey,
        every_records: int,
    ) -> None:
        """Keep the log's sealing material.

        Args:
            log_id: The log's id.
            keys: The data keys (shared with reading, erasure and rotation).
            signing_key: Signs the head and the checkpoints.
            every_records: A checkpoint every N records.
        """
        self.log_id = log_id
        self.keys = keys
        self.signing_key = signing_key
        self.every_records = every_records
        self.prefix = record_hash_prefix(log_id)  # constant per log: computed once

    def checkpoint_row(self, seq: int, digest: bytes) -> CheckpointRow:
        """Sign a checkpoint of the chain at ``seq``.

        Args:
            seq: The sequence number checkpointed.
            digest: The chain hash at ``seq``.

        Returns:
            The row to store.
        """
        statement, signature = sign_statement(
            key=self.signing_key, log_id=self.log_id, seq=seq, head_hash=digest
        )
        return CheckpointRow(seq=seq, hash=digest, statement=statement, signature=signature)

    def plan(self, items: list[Pending]) -> BatchPlan:
        """A planner for one batch of queued requests.

        Args:
            items: The requests, in queue order.

        Returns:
            The planner to hand to `AuditStore.append`.
        """
        return BatchPlan(sealer=self, items=items)


@dataclass
class BatchPlan:
    """One batch's `Planner`: keys it found or made and receipts, kept for after commit."""

    sealer: Sealer
    items: list[Pending]
    learned: dict[str, DataKey] = field(default_factory=dict)
    receipts: list[AuditReceipt] = field(default_factory=list)

    def _refs(self) -> dict[str, str]:
        log_id = self.sealer.log_id
        return {
            subject_ref(log_id, item.event.subject): item.event.subject
            for item in self.items
            if item.event is not None
        }

    def wanted_refs(self, head: Head) -> list[str]:
        """Subject refs whose key rows are not cached for the head's epoch.

        Args:
            head: The locked head.

        Returns:
            The refs the store should look up.
        """
        cache = self.sealer.keys.cached(head.epoch)
        return [ref for ref in self._refs() if ref not in cache]

    def plan(self, head: Head, keys: dict[str, KeyRow]) -> BatchWrite:
        """Encrypt, chain and sign the batch on top of ``head``.

        Args:
            head: The locked head.
            keys: The key rows the store found for `wanted_refs`.

        Returns:
            Everything the transaction writes.

        Raises:
            AuditKeyError: The KEK was rotated by another process.
        """
        sealer = self.sealer
        log_id = sealer.log_id
        cache = sealer.keys.at_epoch(head.epoch)
        new_keys: list[KeyRow] = []
        rows: list[Row] = []
        checkpoints: list[CheckpointRow] = []
        seq, prev = head.seq, head.hash
        force = False
        for item in self.items:
            force = force or item.checkpoint
            event = item.event
            if event is None:
                continue
            ref = subject_ref(log_id, event.subject)
            entry = cache.get(ref) or self.learned.get(ref)
            if entry is None:
                entry = sealer.keys.resolve(
                    ref, keys.get(ref), head_kek_id=head.kek_id, new_keys=new_keys
                )
                # Not cached yet: the batch may still fail, and a key that was never
                # written must not be used by the next batch.
                self.learned[ref] = entry
            key_id_bytes = entry[0].encode()
            seq += 1
            ad = record_ad(
                log_id=log_id, seq=seq, ts_us=event.ts_us, prev_hash=prev, key_id=key_id_bytes
            )
            nonce, ciphertext = encrypt_record(cipher=entry[1], ad=ad, plaintext=event.to_bytes())
            digest = record_hash(
                prefix=sealer.prefix,
                seq=seq,
                ts_us=event.ts_us,
                prev_hash=prev,
                nonce=nonce,
                key_id=key_id_bytes,
                ciphertext=ciphertext,
            )
            rows.append((seq, event.ts_us, key_id_bytes, nonce, prev, ciphertext, digest))
            self.receipts.append(AuditReceipt(sequence=seq, hash=digest.hex()))
            if seq % sealer.every_records == 0:
                checkpoints.append(sealer.checkpoint_row(seq, digest))
            prev = digest
        # A forced checkpoint covers the batch's last record, unless one already does.
        if force and not (checkpoints and checkpoints[-1].seq == seq):
            checkpoints.append(sealer.checkpoint_row(seq, prev))
        statement, signature = sign_statement(
            key=sealer.signing_key, log_id=log_id, seq=seq, head_hash=prev, kind="head"
        )
        return BatchWrite(
            rows=rows,
            new_keys=new_keys,
            head=Head(seq=seq, hash=prev, epoch=head.epoch, kek_id=head.kek_id),
            statement=statement,
            signature=signature,
            checkpoints=checkpoints,
        )

    def committed(self) -> None:
        """Cache the keys this batch found or created, now that they are durable."""
        self.sealer.keys.remember(self.learned)
