"""`AuditLog`: the single way in (``record``), group commit, checkpoints, reading, erasure.

Concurrent ``record()`` calls go through an asyncio queue to one writer task, which writes
whatever has queued up as one transaction (group commit) and acknowledges each record
only after that transaction is durable. Each commit also re-signs the head; a checkpoint
is added every N records and, from `start_checkpointer`, at least every T seconds even
when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations.audit.chain import record_hash, record_hash_prefix, sign_statement
from integrations.audit.crypto import (
    decrypt_record,
    encrypt_record,
    kek_check_seal,
    new_data_key,
    record_ad,
    unwrap_data_key,
    wrap_data_key,
)
from integrations.audit.errors import (
    AuditClosedError,
    AuditError,
    AuditKeyError,
    AuditStorageError,
)
from integrations.audit.keys import Kek, public_key_bytes
from integrations.audit.records import (
    AuditEvent,
    AuditReceipt,
    KeyRow,
    ReadRecord,
    Row,
    now_us,
)
from integrations.audit.store import AuditStore, BatchWrite, CheckpointRow, Head
from integrations.audit.verify import DeepCheck, Fault, VerifyReport, verify_store

__all__ = ["AuditLog", "subject_ref"]

log = structlog.get_logger(__name__)

MAX_BATCH = 1024


def subject_ref(log_id: bytes, subject: str) -> str:
    """The pseudonymous index of a data subject's key (SHA-256 of log id and subject).

    Args:
        log_id: The log's id.
        subject: The subject (identity, else platform user id, else ``system``).

    Returns:
        Hex digest.
    """
    return hashlib.sha256(b"resync-audit-subject\0" + log_id + subject.encode()).hexdigest()


@dataclass
class _Pending:
    event: AuditEvent | None
    future: asyncio.Future[Any]
    checkpoint: bool = False


@dataclass
class _Plan:
    owner: AuditLog
    items: list[_Pending]
    learned: dict[str, tuple[str, AESGCM]] = field(default_factory=dict)
    receipts: list[AuditReceipt] = field(default_factory=list)

    def _refs(self) -> dict[str, str]:
        return {
            subject_ref(self.owner.log_id, item.event.subject): item.event.subject
            for item in self.items
            if item.event is not None
        }

    def wanted_refs(self, head: Head) -> list[str]:
        cache = self.owner._cache if head.epoch == self.owner._cache_epoch else {}
        return [ref for ref in self._refs() if ref not in cache]

    def plan(self, head: Head, keys: dict[str, KeyRow]) -> BatchWrite:
        owner = self.owner
        if head.epoch != owner._cache_epoch:
            owner._cache.clear()
            owner._cache_epoch = head.epoch
        cache = owner._cache
        kek = owner._kek
        new_keys: list[KeyRow] = []
        rows: list[Row] = []
        checkpoints: list[CheckpointRow] = []
        seq, prev = head.seq, head.hash
        prefix = owner._prefix
        every = owner._every_records
        force = False
        for item in self.items:
            force = force or item.checkpoint
            event = item.event
            if event is None:
                continue
            ref = subject_ref(owner.log_id, event.subject)
            entry = cache.get(ref) or self.learned.get(ref)
            if entry is None:
                found = keys.get(ref)
                if found is not None and found.wrapped is not None:
                    if found.kek_id != kek.kek_id:
                        raise AuditKeyError(
                            f"the key-encryption key was rotated (now id {found.kek_id}); "
                            "restart Resync with the new key"
                        )
                    data_key = unwrap_data_key(
                        kek=kek.key,
                        log_id=owner.log_id,
                        key_id=found.key_id.encode(),
                        wrapped=found.wrapped,
                    )
                    entry = (found.key_id, AESGCM(data_key))
                else:
                    if head.kek_id != kek.kek_id:
                        raise AuditKeyError(
                            f"the key-encryption key was rotated (now id {head.kek_id}); "
                            "restart Resync with the new key"
                        )
                    key_id = uuid.uuid4().hex
                    data_key = new_data_key()
                    wrapped = wrap_data_key(
                        kek=kek.key, log_id=owner.log_id, key_id=key_id.encode(), data_key=data_key
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
                    entry = (key_id, AESGCM(data_key))
                self.learned[ref] = entry
            key_id_bytes = entry[0].encode()
            seq += 1
            ad = record_ad(
                log_id=owner.log_id, seq=seq, ts_us=event.ts_us, prev_hash=prev, key_id=key_id_bytes
            )
            nonce, ciphertext = encrypt_record(cipher=entry[1], ad=ad, plaintext=event.to_bytes())
            digest = record_hash(
                prefix=prefix,
                seq=seq,
                ts_us=event.ts_us,
                prev_hash=prev,
                nonce=nonce,
                key_id=key_id_bytes,
                ciphertext=ciphertext,
            )
            rows.append((seq, event.ts_us, key_id_bytes, nonce, prev, ciphertext, digest))
            self.receipts.append(AuditReceipt(sequence=seq, hash=digest.hex()))
            if seq % every == 0:
                checkpoints.append(owner._checkpoint_row(seq, digest))
            prev = digest
        if force and not (checkpoints and checkpoints[-1].seq == seq):
            checkpoints.append(owner._checkpoint_row(seq, prev))
        statement, signature = sign_statement(
            key=owner._signing_key, log_id=owner.log_id, seq=seq, head_hash=prev, kind="head"
        )
        return BatchWrite(
            rows=rows,
            new_keys=new_keys,
            head=Head(seq=seq, hash=prev, epoch=head.epoch, kek_id=head.kek_id),
            statement=statement,
            signature=signature,
            checkpoints=checkpoints,
        )


class AuditLog:
    """An encrypted, hash-chained, signed audit log (see the package docstring)."""

    def __init__(
        self,
        *,
        store: AuditStore,
        log_id: bytes,
        kek: Kek,
        signing_key: Ed25519PrivateKey,
        checkpoint_every_records: int = 1000,
        checkpoint_every_seconds: float = 300.0,
    ) -> None:
        """Wrap an initialized store; use `open_audit_log` rather than this.

        Args:
            store: The initialized store.
            log_id: The log's id.
            kek: The key-encryption key (checked against the log already).
            signing_key: The checkpoint signing key.
            checkpoint_every_records: A checkpoint at least every N records.
            checkpoint_every_seconds: A checkpoint at least every T seconds (checkpointer).
        """
        self.store = store
        self.log_id = log_id
        self._kek = kek
        self._signing_key = signing_key
        self._every_records = checkpoint_every_records
        self._every_seconds = checkpoint_every_seconds
        self._prefix = record_hash_prefix(log_id)
        self._cache: dict[str, tuple[str, AESGCM]] = {}
        self._cache_epoch = -1
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._closed = False
        self._last_checkpoint = time.monotonic()

    @property
    def public_key(self) -> bytes:
        """The raw Ed25519 public key that verifies this log's checkpoints."""
        return public_key_bytes(self._signing_key)

    @property
    def kek_id(self) -> str:
        """The fingerprint id of the key-encryption key in use (not the key)."""
        return self._kek.kek_id

    def _checkpoint_row(self, seq: int, digest: bytes) -> CheckpointRow:
        statement, signature = sign_statement(
            key=self._signing_key, log_id=self.log_id, seq=seq, head_hash=digest
        )
        return CheckpointRow(seq=seq, hash=digest, statement=statement, signature=signature)

    # --- writing --------------------------------------------------------------------------
    async def record(
        self,
        *,
        action: str,
        outcome: str,
        actor_id: str | None,
        actor_identity: str | None,
        platform: str | None = None,
        channel: str | None = None,
        thread: str | None = None,
        target: str | None = None,
        parameters: dict[str, object] | None = None,
        correlation: dict[str, str] | None = None,
    ) -> AuditReceipt:
        """Append one record; return once it is durable.

        Args:
            action: What was done (e.g. ``question``, ``job.rerun``, ``approval.granted``).
            outcome: How it ended (e.g. ``answered``, ``failed``, ``denied``).
            actor_id: The platform user id (None for Resync's own actions).
            actor_identity: The resolved identity (e.g. an e-mail address).
            platform: ``slack``, ``teams``, ``terminal``...
            channel: Channel or conversation id.
            thread: Thread id.
            target: What the action applied to (job stream, job, incident...).
            parameters: The action's parameters (JSON; other values become strings).
            correlation: Ids tying this to other systems (event_id, approval_id,
                tws_request_id).

        Returns:
            The record's sequence number and chain hash.

        Raises:
            AuditClosedError: The log was closed.
            AuditStorageError: The store failed; the record was not written.
            AuditKeyError: The key-encryption key no longer matches the log.
        """
        event = AuditEvent(
            action=action,
            outcome=outcome,
            actor_id=actor_id,
            actor_identity=actor_identity,
            ts_us=now_us(),
            platform=platform,
            channel=channel,
            thread=thread,
            target=target,
            parameters=dict(parameters or {}),
            correlation=dict(correlation or {}),
        )
        result = await self._submit(_Pending(event, asyncio.get_running_loop().create_future()))
        assert isinstance(result, AuditReceipt)
        return result

    async def checkpoint(self) -> tuple[str, bytes]:
        """Write a signed checkpoint of the current head now (even when nothing changed).

        Returns:
            ``(statement, signature)`` of the new checkpoint, for `export_checkpoint`.
        """
        future = asyncio.get_running_loop().create_future()
        result = await self._submit(_Pending(None, future, checkpoint=True))
        assert isinstance(result, CheckpointRow)
        return result.statement, result.signature

    async def _submit(self, item: _Pending) -> object:
        if self._closed:
            raise AuditClosedError("the audit log is closed")
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="audit-writer")
        await self._queue.put(item)
        return await item.future

    async def _write_loop(self) -> None:
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

    async def _write_batch(self, items: list[_Pending]) -> None:
        plan = _Plan(owner=self, items=items)
        try:
            batch = await self.store.append(plan)
        except AuditError as exc:
            log.error("audit.write_failed", error=type(exc).__name__, detail=str(exc))
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        except Exception as exc:  # a driver error we did not map: still never acknowledge
            error = AuditStorageError(f"{self.store.description}: {type(exc).__name__}: {exc}")
            log.error("audit.write_failed", error=type(exc).__name__, detail=str(exc))
            for item in items:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        self._cache.update(plan.learned)
        if batch.checkpoints:
            self._last_checkpoint = time.monotonic()
        receipts = iter(plan.receipts)
        for item in items:
            if item.future.done():
                continue
            if item.event is not None:
                item.future.set_result(next(receipts))
            else:
                item.future.set_result(batch.checkpoints[-1])

    async def start_checkpointer(self) -> None:
        """Start the background task that writes a checkpoint at least every T seconds."""
        if self._checkpointer is None or self._checkpointer.done():
            self._checkpointer = asyncio.create_task(
                self._checkpoint_loop(), name="audit-checkpointer"
            )

    async def _checkpoint_loop(self) -> None:
        while not self._closed:
            due = self._last_checkpoint + self._every_seconds
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            try:
                await self.checkpoint()
            except AuditClosedError:
                return
            except Exception as exc:  # keep the timer alive; the next attempt may succeed
                log.error("audit.checkpoint_failed", error=type(exc).__name__, detail=str(exc))
                await asyncio.sleep(min(self._every_seconds, 30.0))

    async def close(self) -> None:
        """Flush queued records, stop the background tasks and release the store."""
        if self._closed:
            return
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
        if self._writer is not None:
            await self._queue.put(None)
            await self._writer
        await self.store.close()

    # --- reading --------------------------------------------------------------------------
    async def _ciphers(self) -> dict[str, AESGCM | None]:
        ciphers: dict[str, AESGCM | None] = {}
        for row in await self.store.key_rows():
            if row.wrapped is None:
                ciphers[row.key_id] = None
                continue
            if row.kek_id != self._kek.kek_id:
                raise AuditKeyError(
                    f"data key {row.key_id} is wrapped under key-encryption key {row.kek_id}, "
                    f"but the configured one is {self._kek.kek_id}"
                )
            ciphers[row.key_id] = AESGCM(
                unwrap_data_key(
                    kek=self._kek.key,
                    log_id=self.log_id,
                    key_id=row.key_id.encode(),
                    wrapped=row.wrapped,
                )
            )
        return ciphers

    def _open_row(self, row: Row, ciphers: dict[str, AESGCM | None]) -> ReadRecord:
        seq, ts_us, key_id, nonce, prev_hash, ciphertext, digest = row
        key_text = key_id.decode(errors="replace")
        if key_text in ciphers and ciphers[key_text] is None:
            return ReadRecord(seq, ts_us, digest.hex(), key_text, "erased", None)
        cipher = ciphers.get(key_text)
        plaintext = None
        if cipher is not None:
            ad = record_ad(
                log_id=self.log_id, seq=seq, ts_us=ts_us, prev_hash=prev_hash, key_id=key_id
            )
            plaintext = decrypt_record(cipher=cipher, ad=ad, nonce=nonce, ciphertext=ciphertext)
        if plaintext is None:
            return ReadRecord(seq, ts_us, digest.hex(), key_text, "undecryptable", None)
        content = json.loads(plaintext)
        return ReadRecord(seq, ts_us, digest.hex(), key_text, "ok", content)

    async def read(
        self,
        *,
        since_us: int | None = None,
        until_us: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
    ) -> list[ReadRecord]:
        """Decrypt records, filtered (erased ones are listed unless a content filter is set).

        Args:
            since_us: Only records at or after this time (µs since the epoch).
            until_us: Only records before this time.
            actor: Only this actor (platform user id or identity).
            action: Only this action.
            outcome: Only this outcome.

        Returns:
            The records in sequence order.
        """
        ciphers = await self._ciphers()
        out: list[ReadRecord] = []
        content_filter = actor is not None or action is not None or outcome is not None
        async for rows in self.store.rows(since_us=since_us, until_us=until_us):
            for row in rows:
                record = self._open_row(row, ciphers)
                content = record.content
                if content is None:
                    if not content_filter:
                        out.append(record)
                    continue
                if actor is not None and actor not in (
                    content.get("actor_id"),
                    content.get("actor_identity"),
                ):
                    continue
                if action is not None and content.get("action") != action:
                    continue
                if outcome is not None and content.get("outcome") != outcome:
                    continue
                out.append(record)
        return out

    async def verify(
        self, *, checkpoint: tuple[str, bytes] | None = None, deep: bool = False
    ) -> VerifyReport:
        """Verify the log (see `verify_store`), trusting this log's signing key.

        Args:
            checkpoint: An exported checkpoint to check against.
            deep: Also decrypt every record whose key still exists (finds forged ciphertexts).

        Returns:
            The report.
        """
        check: DeepCheck | None = None
        if deep:
            ciphers = await self._ciphers()

            def check(rows: list[Row]) -> Fault | None:
                for row in rows:
                    if self._open_row(row, ciphers).status == "undecryptable":
                        return Fault(
                            row[0],
                            "ciphertext does not authenticate under its data key (forged or moved)",
                        )
                return None

        return await verify_store(
            self.store, trusted_key=self.public_key, checkpoint=checkpoint, deep=check
        )

    # --- erasure and rotation ---------------------------------------------------------------
    async def erase(self, *, subject: str) -> int:
        """Destroy a data subject's key: their records become unreadable, the chain verifies.

        Args:
            subject: The subject as recorded (resolved identity, else platform user id).

        Returns:
            How many data keys were destroyed (0: nothing recorded for this subject).
        """
        count = await self.store.erase(subject_ref(self.log_id, subject))
        self._cache.clear()
        self._cache_epoch = -1
        log.info("audit.subject_erased", keys=count)
        return count

    async def rotate_key(self, *, new_kek: Kek) -> int:
        """Re-wrap every data key under a new KEK (history is not rewritten).

        Args:
            new_kek: The new key-encryption key.

        Returns:
            How many data keys were re-wrapped.
        """
        old = self._kek

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
                    kek=old.key, log_id=self.log_id, key_id=row.key_id.encode(), wrapped=row.wrapped
                )
                wrapped = wrap_data_key(
                    kek=new_kek.key,
                    log_id=self.log_id,
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
            check = kek_check_seal(kek=new_kek.key, log_id=self.log_id)
            return out, {"kek_id": new_kek.kek_id, "kek_check": check.hex()}

        count = await self.store.rewrap(transform)
        self._kek = new_kek
        self._cache.clear()
        self._cache_epoch = -1
        log.info("audit.key_rotated", keys=count, kek_id=new_kek.kek_id)
        return count
