"""The redaction processor: secrets never reach a log line."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import structlog

from bot.logging import configure_logging, redact_text


def test_secret_shapes_are_masked_in_free_text() -> None:
    text = (
        "token xoxb-123456789-abcdefgh, Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl "
        "url https://svc:p4ssw0rd@twsmaster:31116 password=topsecret"
    )
    cleaned = redact_text(text)
    for secret in ("xoxb-123456789", "eyJhbGciOi", "p4ssw0rd", "topsecret"):
        assert secret not in cleaned


def test_log_lines_are_json_and_redacted_by_key_and_shape() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    structlog.get_logger("t").info(
        "tws.connect", password="hunter2", api_key="k-123", detail="Basic dHdzdXNlcjp0d3NwYXNz"
    )
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["event"] == "tws.connect"
    assert line["password"] == "***"
    assert line["api_key"] == "***"
    assert "dHdzdXNlcjp0d3NwYXNz" not in line["detail"]


def test_key_material_is_masked_by_name() -> None:
    from bot.logging import redact

    assert redact("abc123", key="signing_key") == "***"
    assert redact("abc123", key="audit_key") == "***"
    assert redact("1a89b5d3", key="key_id") == "1a89b5d3"  # an id, not a key
    assert redact("monkey", key="monkey") == "monkey"


def test_library_log_lines_are_redacted_too() -> None:
    import logging

    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    logging.getLogger("some.library").warning(
        "connecting to %s", "postgresql://svc:s3cr3t-pw@db:5432/resync"
    )
    text = out.getvalue()
    assert "connecting to postgresql://" in text
    assert "s3cr3t-pw" not in text


def test_the_log_file_is_private(tmp_path: Path) -> None:
    import stat

    from bot.logging import open_log_file

    fresh = tmp_path / "fresh.log"
    old = tmp_path / "old.log"
    old.write_text("earlier\n", encoding="utf-8")
    old.chmod(0o644)
    previous = os.umask(0o022)  # a usual umask: the file must not depend on it
    try:
        for path in (fresh, old):
            with open_log_file(path) as stream:
                stream.write("line\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert old.read_text(encoding="utf-8") == "earlier\nline\n"  # appended, not replaced
