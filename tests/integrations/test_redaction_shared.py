"""One redaction for logs and SIEM: what the log masks never reaches Splunk or syslog."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.logging import redact as log_redact
from integrations.audit.forward.events import REDACTED, hec_event, syslog_frame
from integrations.audit.records import ReadRecord

# (where it appears, the secret part that must not be forwarded)
TEXT_SECRETS = [
    ("dsn postgresql://resync:S3cretPw9@db:5432/resync", "S3cretPw9"),
    ("see https://x/api?token=tok-0a1b2c3d4e&x=1", "tok-0a1b2c3d4e"),
    ("login with password=Hunter2Hunter2", "Hunter2Hunter2"),
    ("header bearer lowercaseBearer123", "lowercaseBearer123"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlMTIzNDU", "eyJhbGciOiJIUzI1NiJ9"),
    ("slack config xoxe-1-refreshTok3n00", "xoxe-1-refreshTok3n00"),
]
KEY_SECRETS = {"dsn": "dsn-value-42", "kek": "kek-value-42", "auth": "auth-value-42"}


def _record(parameters: dict[str, Any], target: str = "JS_PAYROLL") -> ReadRecord:
    content: dict[str, Any] = {
        "v": 1,
        "time": "2025-03-01T08:00:00.000001Z",
        "actor_id": "U1",
        "actor_identity": "ann@example.com",
        "action": "question",
        "outcome": "answered",
        "platform": "slack",
        "channel": "C1",
        "thread": None,
        "target": target,
        "parameters": parameters,
        "correlation": {},
    }
    return ReadRecord(3, 1_740_816_000_000_001, "ab" * 32, "key-1", "ok", content)


def _wire(record: ReadRecord) -> tuple[str, str]:
    hec = json.dumps(hec_event(record, sourcetype="resync:audit", index=None, host="h"))
    cef = syslog_frame(record, host="h").decode("utf-8")
    return hec, cef


@pytest.mark.parametrize(("text", "secret"), TEXT_SECRETS)
def test_secret_shapes_in_question_text_are_masked_in_hec_and_cef(text: str, secret: str) -> None:
    record = _record({"question": f"why did it fail? {text}"}, target=text)
    hec, cef = _wire(record)
    for line in (hec, cef):
        assert secret not in line
        assert REDACTED in line
    event = json.loads(hec)["event"]
    assert event["parameters"]["question"].startswith("why did it fail? ")


@pytest.mark.parametrize(("key", "value"), sorted(KEY_SECRETS.items()))
def test_secret_key_names_are_masked_in_hec_and_cef(key: str, value: str) -> None:
    record = _record({key: value, "job": "PAYROLL"})
    hec, cef = _wire(record)
    for line in (hec, cef):
        assert value not in line
        assert "PAYROLL" in line
    assert json.loads(hec)["event"]["parameters"][key] == REDACTED


def test_the_siem_masks_everything_the_log_masks() -> None:
    parameters: dict[str, Any] = {f"t{i}": text for i, (text, _) in enumerate(TEXT_SECRETS)}
    parameters |= KEY_SECRETS
    logged = json.dumps(log_redact(parameters))
    hec, cef = _wire(_record(parameters))
    for secret in [s for _, s in TEXT_SECRETS] + list(KEY_SECRETS.values()):
        assert secret not in logged
        assert secret not in hec
        assert secret not in cef


def test_harmless_look_alike_keys_are_forwarded() -> None:
    record = _record({"author": "ann", "token_count": 12, "key_id": "k1"})
    params = json.loads(_wire(record)[0])["event"]["parameters"]
    assert params == {"author": "ann", "token_count": 12, "key_id": "k1"}
