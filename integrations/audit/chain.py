r"""The hash chain and signed checkpoints.

Record hash (SHA-256), over every stored field of the row, in this byte layout::

    "resync-audit-record-v1\0" || log_id(16) || seq(u64 BE) || ts_us(i64 BE)
      || prev_hash(32) || nonce(12) || len(key_id)(u16 BE) || key_id || ciphertext

The first record's ``prev_hash`` is 32 zero bytes. A checkpoint is a signed statement
(canonical JSON, Ed25519 over ``"resync-audit-checkpoint-v1\n" || statement``) naming the
log id, a sequence number, the hash at that sequence number, the time and the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from integrations.audit.keys import public_key_bytes

__all__ = [
    "CHECKPOINT_FORMAT",
    "GENESIS_HASH",
    "HASH_BYTES",
    "Statement",
    "export_checkpoint",
    "import_checkpoint",
    "parse_statement",
    "record_hash",
    "record_hash_prefix",
    "sign_statement",
    "verify_statement",
]

HASH_BYTES = 32
GENESIS_HASH = bytes(HASH_BYTES)
CHECKPOINT_FORMAT = "resync-audit-checkpoint/1"
STATEMENT_KINDS = frozenset({"checkpoint", "head"})
_RECORD_DOMAIN = b"resync-audit-record-v1\0"
_SIG_DOMAIN = b"resync-audit-checkpoint-v1\n"
_SEQ_TS = struct.Struct(">Qq")


def record_hash_prefix(log_id: bytes) -> bytes:
    """The constant start of every record hash input for one log.

    Args:
        log_id: The log's 16-byte id.

    Returns:
        Domain separator and log id.
    """
    return _RECORD_DOMAIN + log_id


def record_hash(
    *,
    prefix: bytes,
    seq: int,
    ts_us: int,
    prev_hash: bytes,
    nonce: bytes,
    key_id: bytes,
    ciphertext: bytes,
) -> bytes:
    """Hash one stored record (see the module docstring for the layout).

    Args:
        prefix: From `record_hash_prefix`.
        seq: Sequence number.
        ts_us: Timestamp, µs since the epoch.
        prev_hash: Previous record's hash.
        nonce: AEAD nonce.
        key_id: Data key id.
        ciphertext: The ciphertext.

    Returns:
        The 32-byte hash.
    """
    return hashlib.sha256(
        b"".join(
            (
                prefix,
                _SEQ_TS.pack(seq, ts_us),
                prev_hash,
                nonce,
                len(key_id).to_bytes(2, "big"),
                key_id,
                ciphertext,
            )
        )
    ).digest()


@dataclass(frozen=True)
class Statement:
    """A parsed checkpoint statement."""

    log_id: str
    seq: int
    hash: str
    time: str
    public_key: str
    text: str
    kind: str = "checkpoint"


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def sign_statement(
    *,
    key: Ed25519PrivateKey,
    log_id: bytes,
    seq: int,
    head_hash: bytes,
    when: datetime | None = None,
    kind: str = "checkpoint",
) -> tuple[str, bytes]:
    """Build and sign a checkpoint statement.

    ``kind`` is signed too: a stored checkpoint (``checkpoint``) can never stand in for the
    signed head (``head``), so cutting the log back to an older checkpoint and copying that
    checkpoint into the head row fails verification.

    Args:
        key: The signing key.
        log_id: The log's id.
        seq: The sequence number the checkpoint covers (0 for an empty log).
        head_hash: The hash at ``seq``.
        when: The checkpoint time (now when omitted).
        kind: ``checkpoint`` (kept in the log, exported) or ``head`` (the signed head).

    Returns:
        ``(statement text, signature)``.
    """
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    text = _canonical(
        {
            "format": CHECKPOINT_FORMAT,
            "log_id": log_id.hex(),
            "seq": seq,
            "hash": head_hash.hex(),
            "time": moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "public_key": public_key_bytes(key).hex(),
            "kind": kind,
        }
    )
    return text, key.sign(_SIG_DOMAIN + text.encode())


def parse_statement(text: str | bytes) -> Statement | None:
    """Parse a statement's text.

    Args:
        text: The canonical JSON.

    Returns:
        The statement, or None when it is not one.
    """
    try:
        raw = text.decode() if isinstance(text, bytes) else text
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            return None
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            return None
        fields = [data[name] for name in ("log_id", "hash", "time", "public_key")]
        if not all(isinstance(value, str) for value in fields):
            return None
        kind = data["kind"]
        if kind not in STATEMENT_KINDS:
            return None
        return Statement(
            log_id=data["log_id"],
            seq=seq,
            hash=data["hash"],
            time=data["time"],
            public_key=data["public_key"],
            text=raw,
            kind=kind,
        )
    except (ValueError, KeyError, UnicodeDecodeError):
        return None


def verify_statement(
    *, public_key: Ed25519PublicKey, text: str | bytes, signature: bytes
) -> Statement | None:
    """Check a statement's signature and parse it.

    Args:
        public_key: The trusted key.
        text: The statement as stored.
        signature: Its signature.

    Returns:
        The statement when the signature is valid and the text well-formed, else None.
    """
    raw = text.encode() if isinstance(text, str) else text
    try:
        public_key.verify(signature, _SIG_DOMAIN + raw)
    except (InvalidSignature, ValueError, TypeError):
        return None
    statement = parse_statement(raw)
    if statement is None or statement.public_key != public_key_bytes(public_key).hex():
        return None
    return statement


def export_checkpoint(*, text: str, signature: bytes) -> str:
    """Serialize a checkpoint for a file an auditor keeps.

    Args:
        text: The statement.
        signature: Its signature.

    Returns:
        JSON text.
    """
    return json.dumps(
        {
            "format": CHECKPOINT_FORMAT,
            "statement": text,
            "signature": base64.b64encode(signature).decode(),
        },
        indent=2,
    )


def import_checkpoint(content: str) -> tuple[str, bytes]:
    """Read a file written from `export_checkpoint`.

    Args:
        content: The file's text.

    Returns:
        ``(statement text, signature)``.

    Raises:
        ValueError: Not a checkpoint file.
    """
    data = json.loads(content)
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"not a {CHECKPOINT_FORMAT} file")
    text, signature = data.get("statement"), data.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise ValueError("statement or signature missing")
    return text, base64.b64decode(signature, validate=True)
