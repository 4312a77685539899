r"""What a forwarded record looks like: a Splunk HEC event, or an RFC 5424 frame with CEF.

A record is forwarded with what ``resync audit export`` shows (seq, time, chain hash,
status, who, what, where, outcome, parameters, correlation), minus its data-key id, and
with secret-looking values masked, by the same rules as the logs (`integrations.redaction`)
plus a few more: a parameter, target or correlation entry whose *name* says it is a
credential (token, secret, password, api key, auth, authorization, cookie, dsn, kek,
``*_key``, session id...) becomes ``[redacted]`` whole, and any text that *looks* like one
(Slack tokens, ``Bearer``/``Basic``/``Splunk`` credentials in any case, JWTs,
``user:password@`` in URLs, ``token=``/``password=`` parameters, PEM private keys) is
masked where it appears, in question text too. The log itself keeps them encrypted; a SIEM
is a wider audience.

Syslog frames (RFC 5424 with RFC 6587 octet counting)::

    LEN SP <PRI>1 TIMESTAMP HOST resync - audit [meta sequenceId="SEQ"] CEF:0|Resync|...

Facility 13 ("log audit"); the syslog severity follows the CEF severity.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from typing import Any

from integrations.audit.export import to_cef
from integrations.audit.records import ReadRecord, iso_from_us
from integrations.redaction import is_secret_key, mask_secret_shapes

__all__ = ["REDACTED", "hec_event", "redact", "redacted_record", "syslog_frame"]

REDACTED = "[redacted]"

# Beyond the log redaction's names and shapes (`integrations.redaction`): a SIEM is a wider
# audience, so session ids, Splunk tokens and PEM private keys go as well.
_SIEM_SECRET_NAME = re.compile(r"session[_-]?id", re.IGNORECASE)
_SIEM_SECRET_TEXT = re.compile(
    r"(?i)\bSplunk\s+[A-Za-z0-9._~+/=-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_AUDIT_FACILITY = 13
# By outcome, as the CEF severity (export.py: 8, 7, 6, else 3): error, warning, notice, info.
_SYSLOG_SEVERITY = {"error": 3, "failed": 4, "timeout": 4, "denied": 5, "rejected": 5}


def redact(value: Any) -> Any:
    """Mask secret-looking entries and text in a JSON value (recursively).

    Args:
        value: A parameters or correlation value.

    Returns:
        The value with credentials replaced by ``[redacted]``.
    """
    if isinstance(value, dict):
        return {
            key: REDACTED if _secret_name(str(key)) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return mask_secret_shapes(_SIEM_SECRET_TEXT.sub(REDACTED, value), REDACTED)
    return value


def _secret_name(key: str) -> bool:
    return is_secret_key(key) or _SIEM_SECRET_NAME.search(key) is not None


def redacted_record(record: ReadRecord) -> ReadRecord:
    """The record with its parameters and correlation redacted (see `redact`).

    Args:
        record: The record as read.

    Returns:
        A copy safe to forward (the data-key id cleared).
    """
    content = record.content
    if content is not None:
        content = {
            key: redact(value) if key in ("parameters", "correlation", "target") else value
            for key, value in content.items()
        }
    return dataclasses.replace(record, content=content, key_id="")


def hec_event(
    record: ReadRecord, *, sourcetype: str, index: str | None, host: str | None = None
) -> dict[str, Any]:
    """One record as a Splunk HEC event (``/services/collector/event``).

    Args:
        record: The record as read.
        sourcetype: The Splunk sourcetype.
        index: The Splunk index (None: the token's default).
        host: The ``host`` field (default: this machine's name).

    Returns:
        The event envelope (``time`` in seconds, ``event`` the record's fields).
    """
    event: dict[str, Any] = {
        "time": round(record.ts_us / 1_000_000, 6),
        "host": host or socket.gethostname(),
        "source": "resync",
        "sourcetype": sourcetype,
        "event": redacted_record(record).as_dict(),
    }
    if index:
        event["index"] = index
    return event


def syslog_frame(record: ReadRecord, *, host: str | None = None) -> bytes:
    """One record as an octet-counted RFC 5424 message with a CEF payload.

    Args:
        record: The record as read.
        host: The HOSTNAME field (default: this machine's name).

    Returns:
        ``LEN SP SYSLOG-MSG`` (RFC 6587 octet counting), UTF-8.
    """
    cef = to_cef(redacted_record(record))
    outcome = str((record.content or {}).get("outcome") or "")
    pri = _AUDIT_FACILITY * 8 + _SYSLOG_SEVERITY.get(outcome, 6)
    hostname = _header_field(host or socket.gethostname(), 255)
    # meta/sequenceId is IANA-registered (RFC 5424 7.3.1): receivers can spot re-sent records.
    sd = f'[meta sequenceId="{record.seq % 2_147_483_647 or 2_147_483_647}"]'
    message = f"<{pri}>1 {iso_from_us(record.ts_us)} {hostname} resync - audit {sd} {cef}"
    body = message.encode("utf-8")
    return f"{len(body)} ".encode() + body


def _header_field(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, ``-`` when empty (RFC 5424 6)."""
    clean = "".join(ch for ch in value if 33 <= ord(ch) <= 126)[:limit]
    return clean or "-"
