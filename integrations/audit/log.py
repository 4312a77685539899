"""`AuditLog`: the public facade. One way in (``record``), plus reading, erasure, rotation.

The work is done by small parts this class wires together and owns:

- `planning.Sealer` encrypts, chains and signs each batch (using `datakeys.DataKeys`);
- `writer.GroupCommitWriter` queues concurrent ``record()`` calls and writes whatever has
  queued up as one transaction (group commit), acknowledging each record only after that
  transaction is durable; each commit also re-signs the head;
- `checkpointer.Checkpointer` adds a checkpoint at least every T seconds even when idle
  (from `start_checkpointer`), on top of the one every N records;
- `reading` decrypts records for `read` and the deep `verify`.
"""

from __future__ import annotations

import asyncio

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from integrations import metrics
from integrations.audit.checkpointer import Checkpointer
from integrations.audit.datakeys import DataKeys, subject_ref
from integrations.audit.errors import AuditClosedError
from integrations.audit.keys import Kek, public_key_bytes
from integrations.audit.planning import Pending, Sealer
from integrations.audit.reading import deep_check, read_records
from integrations.audit.records import AuditEvent, AuditReceipt, ReadRecord, now_us
from integrations.audit.store import AuditStore, CheckpointRow
from integrations.audit.verify import DeepCheck, VerifyReport, verify_store
from integrations.audit.writer import GroupCommitWriter

# `subject_ref` moved to `datakeys`; re-exported because it was part of this module's API.
__all__ = ["AuditLog", "subject_ref"]

log = structlog.get_logger(__name__)


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
        self._signing_key = signing_key
        self._keys = DataKeys(log_id=log_id, kek=kek)
        self._checkpointer = Checkpointer(
            every_seconds=checkpoint_every_seconds, checkpoint=self.checkpoint
        )
        self._writer = GroupCommitWriter(
            store=store,
            sealer=Sealer(
                log_id=log_id,
                keys=self._keys,
                signing_key=signing_key,
                every_records=checkpoint_every_records,
            ),
            on_checkpoint=self._checkpointer.mark,
        )
        self._closed = False

    @property
    def public_key(self) -> bytes:
        """The raw Ed25519 public key that verifies this log's checkpoints."""
        return public_key_bytes(self._signing_key)

    @property
    def kek_id(self) -> str:
        """The fingerprint id of the key-encryption key in use (not the key)."""
        return self._keys.kek.kek_id

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
        try:
            result = await self._submit(Pending(event, asyncio.get_running_loop().create_future()))
        except Exception:
            metrics.AUDIT_APPENDS.labels(outcome="failed").inc()
            raise
        assert isinstance(result, AuditReceipt)
        metrics.AUDIT_APPENDS.labels(outcome="ok").inc()
        metrics.observe_audit_action(action, outcome)
        return result

    async def checkpoint(self) -> tuple[str, bytes]:
        """Write a signed checkpoint of the current head now (even when nothing changed).

        Returns:
            ``(statement, signature)`` of the new checkpoint, for `export_checkpoint`.

        Raises:
            AuditClosedError: The log was closed.
            AuditStorageError: The store failed.
        """
        future = asyncio.get_running_loop().create_future()
        result = await self._submit(Pending(None, future, checkpoint=True))
        assert isinstance(result, CheckpointRow)
        return result.statement, result.signature

    async def _submit(self, item: Pending) -> object:
        if self._closed:
            raise AuditClosedError("the audit log is closed")
        return await self._writer.submit(item)

    async def start_checkpointer(self) -> None:
        """Start the background task that writes a checkpoint at least every T seconds."""
        self._checkpointer.start()

    async def close(self) -> None:
        """Flush queued records, stop the background tasks and release the store."""
        if self._closed:
            return
        self._closed = True
        await self._checkpointer.stop()
        await self._writer.drain()
        await self.store.close()

    # --- reading --------------------------------------------------------------------------
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

        Raises:
            AuditKeyError: The log was re-keyed under another key-encryption key (a record
                whose own key row is damaged is listed as ``unreadable`` instead).
        """
        return await read_records(
            self.store,
            self._keys,
            since_us=since_us,
            until_us=until_us,
            actor=actor,
            action=action,
            outcome=outcome,
        )

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
        check: DeepCheck | None = await deep_check(self.store, self._keys) if deep else None
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
        self._keys.forget()  # the erased key may be cached; the store bumped the epoch too
        log.info("audit.subject_erased", keys=count)
        return count

    async def rotate_key(self, *, new_kek: Kek) -> int:
        """Re-wrap every data key under a new KEK (history is not rewritten).

        Args:
            new_kek: The new key-encryption key.

        Returns:
            How many data keys were re-wrapped.

        Raises:
            AuditKeyError: The log is not under the configured key-encryption key.
        """
        count = await self.store.rewrap(self._keys.rewrap(new_kek))
        self._keys.rotated(new_kek)
        log.info("audit.key_rotated", keys=count, kek_id=new_kek.kek_id)
        return count
