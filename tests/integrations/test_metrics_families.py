"""The metric families fed below the chat core: audit-derived action counts and store errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from integrations.audit import open_audit_log
from integrations.metrics import REGISTRY
from integrations.store import StoreError
from integrations.store.redis_store import RedisStore


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_audited_actions_are_counted_in_their_area(tmp_path: Path) -> None:
    before = {
        "request": _value("resync_runbook_events_total", action="request", outcome="pending"),
        "declare": _value("resync_incident_events_total", action="declare", outcome="declared"),
        "ok": _value("resync_audit_appends_total", outcome="ok"),
    }
    log = await open_audit_log(Settings(data_dir=tmp_path))
    try:
        for action, outcome in (
            ("runbook.request", "pending"),
            ("incident.declare", "declared"),
            ("question", "answered"),  # counted as an append, in no area
        ):
            await log.record(action=action, outcome=outcome, actor_id=None, actor_identity=None)
    finally:
        await log.close()
    assert _value("resync_runbook_events_total", action="request", outcome="pending") == (
        before["request"] + 1
    )
    assert _value("resync_incident_events_total", action="declare", outcome="declared") == (
        before["declare"] + 1
    )
    assert _value("resync_audit_appends_total", outcome="ok") == before["ok"] + 3


async def test_a_failed_store_operation_is_counted() -> None:
    before = _value("resync_store_errors_total", operation="GET")
    store = RedisStore(url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        with pytest.raises(StoreError):
            await store.get("anything")
    finally:
        await store.close()
    assert _value("resync_store_errors_total", operation="GET") == before + 1
