"""Reading the log back: decrypting stored rows into `ReadRecord`s and filtering them.

Filters on content (actor, action, outcome) can only be applied after decryption, so
reading always walks the time range in the store's chunks. A record whose data key was
erased is reported as ``erased``; one whose key row is damaged as ``unreadable`` (only that
subject's records: the others still read); one that does not authenticate under its key
(forged, or moved from another position) as ``undecryptable``. The deep verification
reports the last two.
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations.audit.crypto import decrypt_record, record_ad
from integrations.audit.datakeys import DamagedKey, DataKeys
from integrations.audit.errors import AuditKeyError
from integrations.audit.records import ReadRecord, Row
from integrations.audit.store import AuditStore
from integrations.audit.verify import DeepCheck, Fault

__all__ = ["deep_check", "load_ciphers", "open_row", "read_records"]

Ciphers = dict[str, AESGCM | DamagedKey | None]
"""Every data key's cipher by key id; None for an erased key, `DamagedKey` for a damaged row."""


async def load_ciphers(store: AuditStore, keys: DataKeys) -> Ciphers:
    """Unwrap every data key in the store.

    Args:
        store: The log's store.
        keys: The data keys (holds the KEK).

    Returns:
        Ciphers by key id.

    Raises:
        AuditKeyError: The log was re-keyed under another key-encryption key (a rotation
            by another process): every key would fail, so this is not one damaged row.
    """
    current = (await store.meta()).get("kek_id")
    if current is not None and current != keys.kek.kek_id:
        raise AuditKeyError(
            f"the key-encryption key was rotated (now id {current}); "
            "restart Resync with the new key"
        )
    return keys.ciphers(await store.key_rows())


def open_row(log_id: bytes, row: Row, ciphers: Ciphers) -> ReadRecord:
    """Decrypt one stored row (its position is bound in as associated data).

    Args:
        log_id: The log's id.
        row: The stored row.
        ciphers: From `load_ciphers`.

    Returns:
        The record, with status ``ok``, ``erased``, ``unreadable`` or ``undecryptable``.
    """
    seq, ts_us, key_id, nonce, prev_hash, ciphertext, digest = row
    key_text = key_id.decode(errors="replace")
    cipher = ciphers.get(key_text)
    if key_text in ciphers and cipher is None:
        return ReadRecord(seq, ts_us, digest.hex(), key_text, "erased", None)
    if isinstance(cipher, DamagedKey):
        return ReadRecord(seq, ts_us, digest.hex(), key_text, "unreadable", None)
    plaintext = None
    if cipher is not None:
        ad = record_ad(log_id=log_id, seq=seq, ts_us=ts_us, prev_hash=prev_hash, key_id=key_id)
        plaintext = decrypt_record(cipher=cipher, ad=ad, nonce=nonce, ciphertext=ciphertext)
    if plaintext is None:
        return ReadRecord(seq, ts_us, digest.hex(), key_text, "undecryptable", None)
    content = json.loads(plaintext)
    return ReadRecord(seq, ts_us, digest.hex(), key_text, "ok", content)


async def read_records(
    store: AuditStore,
    keys: DataKeys,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
) -> list[ReadRecord]:
    """Decrypt records, filtered (see `AuditLog.read`).

    Args:
        store: The log's store.
        keys: The data keys.
        since_us: Only records at or after this time (µs since the epoch).
        until_us: Only records before this time.
        actor: Only this actor (platform user id or identity).
        action: Only this action.
        outcome: Only this outcome.

    Returns:
        The records in sequence order.
    """
    ciphers = await load_ciphers(store, keys)
    out: list[ReadRecord] = []
    content_filter = actor is not None or action is not None or outcome is not None
    async for rows in store.rows(since_us=since_us, until_us=until_us):
        for row in rows:
            record = open_row(keys.log_id, row, ciphers)
            content = record.content
            if content is None:
                # Unreadable records cannot match a content filter, but without one
                # they are listed: a gap in what is shown would hide the erasure.
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


async def deep_check(store: AuditStore, keys: DataKeys) -> DeepCheck:
    """The `verify_store` hook that decrypts every record whose key still exists.

    Without keys a forged record is only caught where the chain stops linking (often
    the record after it); decrypting under the data key names the forged or moved
    record itself.

    Args:
        store: The log's store.
        keys: The data keys.

    Returns:
        The check (keys are unwrapped once, now).
    """
    ciphers = await load_ciphers(store, keys)

    def check(rows: list[Row]) -> Fault | None:
        for row in rows:
            status = open_row(keys.log_id, row, ciphers).status
            if status == "undecryptable":
                return Fault(
                    row[0],
                    "ciphertext does not authenticate under its data key (forged or moved)",
                )
            if status == "unreadable":
                damaged = ciphers[row[2].decode(errors="replace")]
                assert isinstance(damaged, DamagedKey)
                return Fault(row[0], f"its data key is damaged: {damaged.problem}")
        return None

    return check
