r"""Export formats: JSON Lines and ArcSight CEF.

CEF (ArcSight "Implementing ArcSight CEF", rev. 25)::

    CEF:0|Resync|Resync|<version>|<action>|<name>|<severity>|<extension>

Header fields escape ``\`` and ``|``; extension values escape ``\``, ``=`` and each
line break character (CR as ``\r``, LF as ``\n``; CR LF as ``\r\n``).
"""

from __future__ import annotations

import functools
import json
from importlib import metadata
from typing import Any

from integrations.audit.records import ReadRecord

__all__ = ["cef_escape_extension", "cef_escape_header", "to_cef", "to_jsonl"]

_SEVERITY = {"failed": 7, "error": 8, "denied": 6, "rejected": 6, "timeout": 7}


@functools.cache
def _version() -> str:
    try:
        return metadata.version("resync")
    except metadata.PackageNotFoundError:
        return "0"


def cef_escape_header(value: str) -> str:
    """Escape a CEF header field (backslash and pipe; line breaks become spaces).

    Args:
        value: The raw text.

    Returns:
        The escaped text.
    """
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def cef_escape_extension(value: str) -> str:
    """Escape a CEF extension value (backslash, equals sign, line breaks).

    Args:
        value: The raw text.

    Returns:
        The escaped text.
    """
    value = value.replace("\\", "\\\\").replace("=", "\\=")
    # Each line break character separately: CR LF is two characters and stays two escapes.
    return value.replace("\r", "\\r").replace("\n", "\\n")


def to_jsonl(record: ReadRecord) -> str:
    """One record as one JSON line.

    Args:
        record: The record.

    Returns:
        The line (without newline).
    """
    return json.dumps(record.as_dict(), ensure_ascii=False, separators=(",", ":"), default=str)


def to_cef(record: ReadRecord) -> str:
    """One record as one CEF line.

    Args:
        record: The record.

    Returns:
        The line (without newline).
    """
    content: dict[str, Any] = record.content or {}
    action = str(content.get("action") or record.status)
    outcome = str(content.get("outcome") or record.status)
    severity = _SEVERITY.get(outcome, 3)
    name = f"{action} {outcome}" if record.content is not None else f"record {record.status}"
    ext: list[tuple[str, object]] = [
        ("rt", record.ts_us // 1000),
        ("externalId", record.seq),
        ("act", content.get("action")),
        ("outcome", content.get("outcome")),
        ("suid", content.get("actor_id")),
        ("suser", content.get("actor_identity")),
        ("cs1Label", "target"),
        ("cs1", content.get("target")),
        ("cs2Label", "platform"),
        ("cs2", content.get("platform")),
        ("cs3Label", "channel"),
        ("cs3", content.get("channel")),
        ("cs4Label", "thread"),
        ("cs4", content.get("thread")),
        ("cs5Label", "parameters"),
        (
            "cs5",
            json.dumps(content["parameters"], default=str) if content.get("parameters") else None,
        ),
        ("cs6Label", "correlation"),
        ("cs6", json.dumps(content["correlation"]) if content.get("correlation") else None),
        ("fileHash", record.hash),
    ]
    present = {key for key, value in ext if value is not None}
    extension = " ".join(
        f"{key}={cef_escape_extension(str(value))}"
        for key, value in ext
        if value is not None and not (key.endswith("Label") and key[: -len("Label")] not in present)
    )
    header = "|".join(
        cef_escape_header(part)
        for part in ("Resync", "Resync", _version(), action, name, str(severity))
    )
    return f"CEF:0|{header}|{extension}"
