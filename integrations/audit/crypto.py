"""AES-256-GCM for records and envelope keys; the associated data that binds them.

A record's ciphertext is bound (as AEAD associated data) to the log id, its sequence
number, its timestamp, its data-key id and the previous record's hash, so a valid
ciphertext copied to another position, another log or under another key fails to decrypt.
A data key is wrapped under the KEK with the log id and key id as associated data.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations.audit.errors import AuditKeyError

__all__ = [
    "DATA_KEY_BYTES",
    "NONCE_BYTES",
    "decrypt_record",
    "encrypt_record",
    "kek_check_open",
    "kek_check_seal",
    "new_data_key",
    "record_ad",
    "unwrap_data_key",
    "wrap_data_key",
]

NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_AD_PREFIX = b"resync-audit-ad-v1\0"
_WRAP_PREFIX = b"resync-audit-wrap-v1\0"
_CHECK_PREFIX = b"resync-audit-kek-check-v1\0"
_CHECK_PLAINTEXT = b"resync audit key-encryption key check"
_Q = struct.Struct(">Qq")


def record_ad(*, log_id: bytes, seq: int, ts_us: int, prev_hash: bytes, key_id: bytes) -> bytes:
    """The associated data of one record's ciphertext.

    Args:
        log_id: The log's 16-byte id.
        seq: The record's sequence number.
        ts_us: Its timestamp (µs since the epoch, UTC).
        prev_hash: The previous record's hash.
        key_id: The data key's id.

    Returns:
        The bytes to authenticate.
    """
    return (
        _AD_PREFIX
        + log_id
        + _Q.pack(seq, ts_us)
        + prev_hash
        + len(key_id).to_bytes(2, "big")
        + key_id
    )


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def encrypt_record(*, cipher: AESGCM, ad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """Encrypt one record.

    Args:
        cipher: The subject's data key.
        ad: From `record_ad`.
        plaintext: The serialized record.

    Returns:
        ``(nonce, ciphertext)``.
    """
    nonce = os.urandom(NONCE_BYTES)
    return nonce, cipher.encrypt(nonce, plaintext, ad)


def decrypt_record(*, cipher: AESGCM, ad: bytes, nonce: bytes, ciphertext: bytes) -> bytes | None:
    """Decrypt one record.

    Args:
        cipher: The subject's data key.
        ad: From `record_ad` with the stored fields.
        nonce: The stored nonce.
        ciphertext: The stored ciphertext.

    Returns:
        The plaintext, or None when authentication fails (moved, altered or forged).
    """
    try:
        return cipher.decrypt(nonce, ciphertext, ad)
    except (InvalidTag, ValueError):
        return None


def _wrap_ad(log_id: bytes, key_id: bytes) -> bytes:
    return _WRAP_PREFIX + log_id + key_id


def wrap_data_key(*, kek: bytes, log_id: bytes, key_id: bytes, data_key: bytes) -> bytes:
    """Encrypt a data key under the KEK.

    Args:
        kek: The key-encryption key.
        log_id: The log's id.
        key_id: The data key's id.
        data_key: The key to wrap.

    Returns:
        ``nonce || ciphertext``.
    """
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_ad(log_id, key_id))


def unwrap_data_key(*, kek: bytes, log_id: bytes, key_id: bytes, wrapped: bytes) -> bytes:
    """Decrypt a data key wrapped by `wrap_data_key`.

    Args:
        kek: The key-encryption key.
        log_id: The log's id.
        key_id: The data key's id.
        wrapped: ``nonce || ciphertext``.

    Returns:
        The data key.

    Raises:
        AuditKeyError: Wrong KEK or altered wrapped key.
    """
    try:
        return AESGCM(kek).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_ad(log_id, key_id)
        )
    except (InvalidTag, ValueError):
        raise AuditKeyError(
            f"data key {key_id.decode(errors='replace')} does not open under the configured "
            "key-encryption key (wrong key, or the wrapped key was altered)"
        ) from None


def kek_check_seal(*, kek: bytes, log_id: bytes) -> bytes:
    """A token proving later which KEK the log uses (no key material is derivable).

    Args:
        kek: The key-encryption key.
        log_id: The log's id.

    Returns:
        ``nonce || ciphertext`` of a constant.
    """
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_PREFIX + log_id)


def kek_check_open(*, kek: bytes, log_id: bytes, token: bytes) -> bool:
    """Whether ``kek`` is the KEK that sealed ``token``.

    Args:
        kek: The candidate key.
        log_id: The log's id.
        token: From `kek_check_seal`.

    Returns:
        True when it matches.
    """
    try:
        AESGCM(kek).decrypt(token[:NONCE_BYTES], token[NONCE_BYTES:], _CHECK_PREFIX + log_id)
    except (InvalidTag, ValueError):
        return False
    return True
