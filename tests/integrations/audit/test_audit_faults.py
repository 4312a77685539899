"""Wrong, missing and malformed keys; corrupted files; a full disk: clear errors, no loss."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from config.settings import Settings
from integrations.audit import AuditKeyError, AuditStorageError, open_audit_log
from integrations.audit.store_sqlite import SqliteStore


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def test_wrong_key_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    good, bad = _key(), _key()
    log = await open_audit_log(Settings(data_dir=tmp_path, audit_key=SecretStr(good)))
    await log.record(action="a", outcome="ok", actor_id="U1", actor_identity=None)
    await log.close()
    with pytest.raises(AuditKeyError, match="wrong key-encryption key") as caught:
        await open_audit_log(Settings(data_dir=tmp_path, audit_key=SecretStr(bad)))
    assert bad not in str(caught.value)
    assert good not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("not base64!!", "not valid base64"), (base64.b64encode(b"short").decode(), "5 bytes")],
)
async def test_malformed_key_is_explained(tmp_path: Path, value: str, expected: str) -> None:
    with pytest.raises(AuditKeyError, match=expected) as caught:
        await open_audit_log(Settings(data_dir=tmp_path, audit_key=SecretStr(value)))
    assert "RESYNC_AUDIT_KEY" in str(caught.value)
    assert value not in str(caught.value)


async def test_missing_key_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match="no such file"):
        await open_audit_log(Settings(data_dir=tmp_path, audit_key_file=tmp_path / "nope.key"))


async def test_key_file_and_generated_default(tmp_path: Path) -> None:
    key_file = tmp_path / "kek"
    key_file.write_text(_key() + "\n")
    log = await open_audit_log(Settings(data_dir=tmp_path / "a", audit_key_file=key_file))
    await log.close()
    log = await open_audit_log(Settings(data_dir=tmp_path / "b"))
    await log.close()
    for name in ("audit.key", "audit-signing.key"):
        assert (tmp_path / "b" / name).stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "a" / "audit.key").exists()


async def test_lost_default_key_is_not_silently_replaced(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    await log.record(action="a", outcome="ok", actor_id="U1", actor_identity=None)
    await log.close()
    (tmp_path / "audit.key").unlink()
    with pytest.raises(AuditKeyError, match="key-encryption key is missing"):
        await open_audit_log(Settings(data_dir=tmp_path))
    assert not (tmp_path / "audit.key").exists()


async def test_wrong_signing_key_is_refused(tmp_path: Path) -> None:
    log = await open_audit_log(Settings(data_dir=tmp_path))
    await log.close()
    (tmp_path / "audit-signing.key").unlink()
    with pytest.raises(AuditKeyError, match="signing key"):
        await open_audit_log(Settings(data_dir=tmp_path))


async def test_bad_signing_key_file(tmp_path: Path) -> None:
    bad = tmp_path / "sign.pem"
    bad.write_text("not a pem")
    with pytest.raises(AuditKeyError, match="not an unencrypted PEM"):
        await open_audit_log(Settings(data_dir=tmp_path, audit_signing_key_file=bad))


async def test_corrupted_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "audit.db").write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(AuditStorageError, match="corrupted"):
        await open_audit_log(Settings(data_dir=tmp_path))


async def test_full_disk_fails_the_batch_and_keeps_the_log_verifiable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    log = await open_audit_log(settings)
    for _ in range(5):
        await log.record(action="a", outcome="ok", actor_id="U1", actor_identity=None)
    await log.close()
    store = SqliteStore(tmp_path / "audit.db", pragmas={"max_page_count": 40})
    log = await open_audit_log(settings, store=store)
    acked = 5
    failure: AuditStorageError | None = None
    for _ in range(10_000):
        try:
            await log.record(
                action="a",
                outcome="ok",
                actor_id="U1",
                actor_identity=None,
                parameters={"p": "x" * 900},
            )
        except AuditStorageError as exc:
            failure = exc
            break
        acked += 1
    assert failure is not None
    assert "full" in str(failure)
    report = await log.verify()
    assert report.fault is None
    assert report.last_seq == acked
    await log.close()
    log = await open_audit_log(settings)  # space again: appends continue the same chain
    try:
        receipt = await log.record(action="a", outcome="ok", actor_id="U2", actor_identity=None)
        assert receipt.sequence == acked + 1
        assert (await log.verify(deep=True)).fault is None
    finally:
        await log.close()


async def test_record_after_close_is_refused(tmp_path: Path) -> None:
    from integrations.audit import AuditClosedError

    log = await open_audit_log(Settings(data_dir=tmp_path))
    await log.close()
    with pytest.raises(AuditClosedError):
        await log.record(action="a", outcome="ok", actor_id=None, actor_identity=None)
