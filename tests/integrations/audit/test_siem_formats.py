"""SIEM event formats: HEC envelope, RFC 5424 framing, CEF escaping, secret redaction."""

from __future__ import annotations

import json
import re
from typing import Any

from integrations.audit.forward.events import (
    REDACTED,
    hec_event,
    redact,
    redacted_record,
    syslog_frame,
)
from integrations.audit.forward.sinks import hec_endpoint
from integrations.audit.records import ReadRecord


def _record(seq: int = 7, **content: Any) -> ReadRecord:
    base: dict[str, Any] = {
        "v": 1,
        "time": "2025-03-01T08:00:00.000001Z",
        "actor_id": "U1",
        "actor_identity": "ann@example.com",
        "action": "job.rerun",
        "outcome": "ok",
        "platform": "slack",
        "channel": "C1",
        "thread": None,
        "target": "JS_PAYROLL",
        "parameters": {},
        "correlation": {},
    }
    base.update(content)
    return ReadRecord(seq, 1_740_816_000_000_001, "ab" * 32, "key-1", "ok", base)


def _split_frame(frame: bytes) -> tuple[int, str]:
    length, _, body = frame.partition(b" ")
    assert int(length) == len(body)  # octet counting counts bytes, not characters
    return int(length), body.decode("utf-8")


def test_cef_header_and_extension_escaping_in_a_frame() -> None:
    frame = syslog_frame(
        _record(action="a|b\\c", target="x=y|z\\w\r\nnext", outcome="denied"), host="h1"
    )
    _, body = _split_frame(frame)
    assert body.startswith("<109>1 2025-03-01T08:00:00.000001Z h1 resync - audit ")  # 13*8+5
    assert '[meta sequenceId="7"]' in body
    cef = body[body.index("CEF:0|") :]
    header = cef.split("|act=")[0]
    assert "|a\\|b\\\\c|a\\|b\\\\c denied|6|" in header
    assert "cs1=x\\=y|z\\\\w\\r\\nnext" in cef
    assert "\r" not in body
    assert "\n" not in body


def test_octet_count_is_bytes_for_non_ascii_text() -> None:
    length, body = _split_frame(syslog_frame(_record(target="Zürich — 東京"), host="h"))
    assert length > len(body)  # multi-byte characters
    assert "cs1=Zürich — 東京" in body


def test_hostname_field_is_printable_ascii_without_spaces() -> None:
    _, body = _split_frame(syslog_frame(_record(), host="bad host\nname"))
    assert body.split(" ")[2] == "badhostname"


def test_hec_event_carries_the_record_without_its_key_id() -> None:
    event = hec_event(_record(), sourcetype="resync:audit", index="sec", host="h1")
    assert event["time"] == 1_740_816_000.000001
    assert (event["host"], event["source"], event["sourcetype"], event["index"]) == (
        "h1",
        "resync",
        "resync:audit",
        "sec",
    )
    assert event["event"]["seq"] == 7
    assert event["event"]["hash"] == "ab" * 32
    assert event["event"]["status"] == "ok"
    assert "key_id" not in event["event"]
    json.dumps(event)  # serializable as sent
    assert "index" not in hec_event(_record(), sourcetype="s", index=None, host="h")


def test_erased_records_are_forwarded_without_content() -> None:
    erased = ReadRecord(3, 1_740_816_000_000_000, "cd" * 32, "k", "erased", None)
    event = hec_event(erased, sourcetype="s", index=None, host="h")
    assert event["event"] == {
        "seq": 3,
        "time": "2025-03-01T08:00:00.000000Z",
        "hash": "cd" * 32,
        "status": "erased",
    }
    _, body = _split_frame(syslog_frame(erased, host="h"))
    assert "|record erased|3|" in body


def test_secrets_are_redacted_by_name_and_by_shape() -> None:
    record = _record(
        parameters={
            "password": "hunter2",
            "values": {"api_key": "k1", "user": "bob", "nested": [{"Token": "t"}]},
            "text": "use xoxb-1234567890-abcdefghij or Bearer abcdefghijklmnop please",
            "count": 3,
        },
        correlation={"session_id": "s1", "event_id": "Ev1"},
    )
    clean = redacted_record(record)
    assert clean.content is not None
    params = clean.content["parameters"]
    assert params["password"] == REDACTED
    assert params["values"] == {"api_key": REDACTED, "user": "bob", "nested": [{"Token": REDACTED}]}
    assert params["text"] == f"use {REDACTED} or Bearer {REDACTED} please"
    assert params["count"] == 3
    assert clean.content["correlation"] == {"session_id": REDACTED, "event_id": "Ev1"}
    wire = json.dumps(hec_event(record, sourcetype="s", index=None, host="h"))
    wire += syslog_frame(record, host="h").decode()
    for secret in ("hunter2", "k1", "xoxb-1234567890", "abcdefghijklmnop", '"s1"'):
        assert secret not in wire
    assert record.content is not None
    assert record.content["parameters"]["password"] == "hunter2"
    assert redact("plain text") == "plain text"


def test_hec_endpoint_from_base_or_full_url() -> None:
    assert hec_endpoint("https://s:8088") == "https://s:8088/services/collector/event"
    assert hec_endpoint("https://s:8088/") == "https://s:8088/services/collector/event"
    assert (
        hec_endpoint("https://s:8088/services/collector")
        == "https://s:8088/services/collector/event"
    )
    full = "https://s:8088/services/collector/event"
    assert hec_endpoint(full) == full
    assert re.match(r"^https://s:8088/x/y$", hec_endpoint("https://s:8088/x/y"))
