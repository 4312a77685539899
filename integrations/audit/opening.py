"""Choosing the store from the settings and opening a log (keys loaded and checked)."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.settings import Settings
from integrations.audit.chain import GENESIS_HASH, sign_statement
from integrations.audit.crypto import kek_check_open, kek_check_seal
from integrations.audit.errors import AuditKeyError
from integrations.audit.keys import Kek, load_kek, load_signing_key, public_key_bytes
from integrations.audit.log import AuditLog
from integrations.audit.records import iso_from_us, now_us
from integrations.audit.store import AuditStore, Head, SignedHead
from integrations.audit.store_sqlite import SqliteStore

__all__ = ["DEFAULT_DB_NAME", "DEFAULT_PG_SCHEMA", "FORMAT_VERSION", "make_store", "open_audit_log"]

FORMAT_VERSION = "1"
DEFAULT_PG_SCHEMA = "resync_audit"
DEFAULT_DB_NAME = "audit.db"
"""The SQLite file under ``data_dir`` when no database URL is set."""


def make_store(settings: Settings, *, pg_schema: str = DEFAULT_PG_SCHEMA) -> AuditStore:
    """The store the settings select: PostgreSQL when ``database_url`` is set, else SQLite.

    Args:
        settings: Resync's settings.
        pg_schema: PostgreSQL schema holding the tables.

    Returns:
        An unopened store.
    """
    if settings.database_url is not None:
        from integrations.audit.store_postgres import PostgresStore

        return PostgresStore(settings.database_url.get_secret_value(), schema=pg_schema)
    return SqliteStore(settings.data_dir / DEFAULT_DB_NAME)


def _genesis(key: Ed25519PrivateKey, log_id: bytes, kek: Kek) -> SignedHead:
    statement, signature = sign_statement(
        key=key, log_id=log_id, seq=0, head_hash=GENESIS_HASH, kind="head"
    )
    return SignedHead(
        head=Head(seq=0, hash=GENESIS_HASH, epoch=0, kek_id=kek.kek_id),
        statement=statement.encode(),
        signature=signature,
    )


async def open_audit_log(
    settings: Settings, *, store: AuditStore | None = None, pg_schema: str = DEFAULT_PG_SCHEMA
) -> AuditLog:
    """Open (creating when new) the audit log the settings describe.

    Args:
        settings: Resync's settings (keys, data_dir, database_url, checkpoint cadence).
        store: Use this store instead of the one the settings select (tests).
        pg_schema: PostgreSQL schema holding the tables.

    Returns:
        The open log.

    Raises:
        AuditKeyError: A key is missing, malformed, or not this log's.
        AuditStorageError: The store cannot be opened.
    """
    store = store or make_store(settings, pg_schema=pg_schema)
    try:
        await store.open()
        meta = await store.meta()
        signing_key = load_signing_key(settings)
        assert signing_key is not None
        kek = load_kek(settings, log_exists="kek_check" in meta)
        if "log_id" not in meta:
            log_id = uuid.uuid4().bytes
            meta = await store.initialize(
                {
                    "format": FORMAT_VERSION,
                    "log_id": log_id.hex(),
                    "public_key": public_key_bytes(signing_key).hex(),
                    "kek_id": kek.kek_id,
                    "kek_check": kek_check_seal(kek=kek.key, log_id=log_id).hex(),
                    "created": iso_from_us(now_us()),
                },
                _genesis(signing_key, log_id, kek),
            )
        log_id = bytes.fromhex(meta["log_id"])
        if not kek_check_open(kek=kek.key, log_id=log_id, token=bytes.fromhex(meta["kek_check"])):
            raise AuditKeyError(
                f"wrong key-encryption key: the configured key (id {kek.kek_id}) is not the one "
                f"this log is under (id {meta.get('kek_id')}); check RESYNC_AUDIT_KEY / "
                "RESYNC_AUDIT_KEY_FILE (after `rotate-key`, configure the new key)"
            )
        if meta["public_key"] != public_key_bytes(signing_key).hex():
            raise AuditKeyError(
                "the signing key is not the one this log's checkpoints are signed with; "
                "check RESYNC_AUDIT_SIGNING_KEY_FILE"
            )
    except BaseException:
        await store.close()
        raise
    return AuditLog(
        store=store,
        log_id=log_id,
        kek=kek,
        signing_key=signing_key,
        checkpoint_every_records=settings.audit_checkpoint_every_records,
        checkpoint_every_seconds=settings.audit_checkpoint_every_seconds,
    )
