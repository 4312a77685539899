"""Loading (or generating once) the key-encryption key and the checkpoint signing key.

The KEK comes from ``audit_key`` (base64 of 32 bytes) or ``audit_key_file``; when neither
is set, one is generated at ``<data_dir>/audit.key`` (0600) with a warning. The Ed25519
signing key comes from ``audit_signing_key_file`` (PEM) or ``<data_dir>/audit-signing.key``.
Nothing here logs or formats key bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from config.settings import Settings
from integrations.audit.errors import AuditKeyError

__all__ = [
    "DEFAULT_KEK_NAME",
    "DEFAULT_SIGNING_KEY_NAME",
    "Kek",
    "generate_kek_file",
    "kek_from_bytes",
    "load_kek",
    "load_public_key",
    "load_signing_key",
    "parse_kek_text",
    "public_key_bytes",
    "write_secret_file",
]

log = structlog.get_logger(__name__)

DEFAULT_KEK_NAME = "audit.key"
DEFAULT_SIGNING_KEY_NAME = "audit-signing.key"
KEK_BYTES = 32


@dataclass(frozen=True)
class Kek:
    """A key-encryption key and its public identifier (a fingerprint, not the key)."""

    key: bytes = field(repr=False)
    kek_id: str


def kek_from_bytes(key: bytes) -> Kek:
    """Wrap 32 raw bytes as a `Kek`.

    Args:
        key: The key bytes.

    Returns:
        The KEK with its fingerprint id.

    Raises:
        AuditKeyError: Not 32 bytes.
    """
    if len(key) != KEK_BYTES:
        raise AuditKeyError(f"a key-encryption key must be 32 bytes, got {len(key)}")
    kek_id = hashlib.sha256(b"resync-audit-kek-id\0" + key).hexdigest()[:16]
    return Kek(key=key, kek_id=kek_id)


def parse_kek_text(text: str | bytes, *, source: str) -> Kek:
    """Parse a KEK given as base64 text (or, for files, 32 raw bytes).

    Args:
        text: The setting's value or the file's content.
        source: Where it came from, named in errors (never the value).

    Returns:
        The KEK.

    Raises:
        AuditKeyError: Not base64 of exactly 32 bytes.
    """
    raw = text.encode() if isinstance(text, str) else text
    try:
        decoded: bytes | None = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        decoded = None
    if decoded is not None and len(decoded) == KEK_BYTES:
        return kek_from_bytes(decoded)
    if isinstance(text, bytes) and len(text) == KEK_BYTES:
        return kek_from_bytes(text)  # a file holding 32 raw bytes
    if decoded is None:
        raise AuditKeyError(
            f"{source}: not valid base64; expected base64 of 32 random bytes "
            "(generate one with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
        )
    raise AuditKeyError(
        f"{source}: decodes to {len(decoded)} bytes; expected base64 of exactly 32 bytes"
    )


def write_secret_file(path: Path, data: bytes) -> None:
    """Create a file readable only by its owner (0600), durably; never overwrite.

    Args:
        path: Where to write.
        data: The content.

    Raises:
        AuditKeyError: The file exists already or cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AuditKeyError(f"{path} exists already; refusing to overwrite a key") from None
    except OSError as exc:
        raise AuditKeyError(f"cannot create key file {path}: {exc.strerror}") from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def generate_kek_file(path: Path) -> Kek:
    """Generate a new random KEK into a new 0600 file (base64 text).

    Args:
        path: The file to create.

    Returns:
        The new KEK.
    """
    key = os.urandom(KEK_BYTES)
    write_secret_file(path, base64.b64encode(key) + b"\n")
    return kek_from_bytes(key)


def _read_kek_file(path: Path, *, source: str) -> Kek:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise AuditKeyError(f"{source}: no such file {path}") from None
    except OSError as exc:
        raise AuditKeyError(f"{source}: cannot read {path}: {exc.strerror}") from None
    return parse_kek_text(content, source=f"{source} ({path})")


def load_kek(settings: Settings, *, log_exists: bool) -> Kek:
    """Return the configured KEK, generating the embedded default when none is configured.

    Args:
        settings: Resync's settings.
        log_exists: True when the log already holds keys; then a missing default key is an
            error, never silently replaced.

    Returns:
        The KEK.

    Raises:
        AuditKeyError: The key is malformed or missing.
    """
    if settings.audit_key is not None:
        return parse_kek_text(
            settings.audit_key.get_secret_value(), source="audit_key (RESYNC_AUDIT_KEY)"
        )
    if settings.audit_key_file is not None:
        return _read_kek_file(
            settings.audit_key_file, source="audit_key_file (RESYNC_AUDIT_KEY_FILE)"
        )
    path = settings.data_dir / DEFAULT_KEK_NAME
    if path.exists():
        return _read_kek_file(path, source="the embedded audit key")
    if log_exists:
        raise AuditKeyError(
            f"the audit log exists but its key-encryption key is missing: no {path} and "
            "neither RESYNC_AUDIT_KEY nor RESYNC_AUDIT_KEY_FILE is set; restore the key "
            "(records cannot be decrypted without it; `resync audit verify` still works)"
        )
    kek = generate_kek_file(path)
    log.warning(
        "audit.key_generated",
        path=str(path),
        hint="production must set RESYNC_AUDIT_KEY or RESYNC_AUDIT_KEY_FILE and keep the key outside data_dir",
    )
    return kek


def load_signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey | None:
    """Return the checkpoint signing key, generating the embedded default once.

    Args:
        settings: Resync's settings.
        create: Generate ``<data_dir>/audit-signing.key`` when nothing is configured.

    Returns:
        The private key, or None when it does not exist and ``create`` is False.

    Raises:
        AuditKeyError: The configured file is missing or not an Ed25519 PEM private key.
    """
    configured = settings.audit_signing_key_file
    path = configured or settings.data_dir / DEFAULT_SIGNING_KEY_NAME
    source = (
        "audit_signing_key_file (RESYNC_AUDIT_SIGNING_KEY_FILE)"
        if configured
        else "the embedded signing key"
    )
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        if configured is not None:
            raise AuditKeyError(f"{source}: no such file {path}") from None
        if not create:
            return None
        key = Ed25519PrivateKey.generate()
        write_secret_file(
            path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        log.info("audit.signing_key_generated", path=str(path))
        return key
    except OSError as exc:
        raise AuditKeyError(f"{source}: cannot read {path}: {exc.strerror}") from None
    try:
        key_obj = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise AuditKeyError(f"{source} ({path}): not an unencrypted PEM private key") from None
    if not isinstance(key_obj, Ed25519PrivateKey):
        raise AuditKeyError(f"{source} ({path}): not an Ed25519 key")
    return key_obj


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key.

    Args:
        key: A private or public Ed25519 key.

    Returns:
        The raw public key bytes.
    """
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key.

    Args:
        raw: The key bytes.

    Returns:
        The key.

    Raises:
        AuditKeyError: Not a valid key.
    """
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise AuditKeyError("not a valid Ed25519 public key") from None
