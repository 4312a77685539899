"""``GET /metrics`` of a real `resync serve --demo` process, scraped after real traffic.

Questions arrive as Teams activities (local unauthenticated mode) and are answered from the
bundled simulator through the whole stack; the scrape must be valid Prometheus text, hold
every family `integrations.metrics` defines, and count what the traffic did.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve_support import FakeConnector, activity, resync_serve

TOKEN = "scrape-token-for-tests"
FAMILIES = {
    "resync_questions",
    "resync_answer_seconds",
    "resync_clicks",
    "resync_chat_events",
    "resync_admission_rejected",
    "resync_tasks_in_flight",
    "resync_engine_requests",
    "resync_engine_request_seconds",
    "resync_engine_breaker_state",
    "resync_audit_appends",
    "resync_store_errors",
    "resync_runbook_events",
    "resync_incident_events",
    "resync_alert_events",
    "resync_audit_forward_backlog",
}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[str]:
    async with resync_serve(
        tmp_path,
        "--demo",
        stderr=asyncio.subprocess.DEVNULL,
        RESYNC_SIM_SPEED="0",
        RESYNC_TEAMS_ALLOW_UNAUTHENTICATED="true",
        RESYNC_METRICS_TOKEN=TOKEN,
        RESYNC_WATCH_ENABLED="false",
    ) as (_, base):
        yield base


def _samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Family name → {sorted labels → value} (counters under their family name)."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        values = found.setdefault(family.name, {})
        for sample in family.samples:
            if sample.name.endswith(("_created", "_bucket")):
                continue
            key = (("__sample__", sample.name), *sorted(sample.labels.items()))
            values[key] = sample.value
    return found


def _total(values: dict[tuple[tuple[str, str], ...], float], **labels: str) -> float:
    wanted = set(labels.items())
    return sum(
        v for key, v in values.items() if wanted <= set(key) and key[0][1].endswith("_total")
    )


async def _scrape(session: aiohttp.ClientSession, base: str) -> str:
    async with session.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as got:
        assert got.status == 200
        assert got.headers["Content-Type"].startswith("text/plain; version=")
        return await got.text()


async def test_every_family_is_served_and_counts_the_traffic(served: str) -> None:
    base = served
    async with FakeConnector() as connector, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/metrics") as refused:
            assert refused.status == 401  # the token is required when set
        first = activity("what failed tonight?", connector.url, "m-1")
        for body in (first, first, activity("what is late?", connector.url, "m-2")):
            async with session.post(f"{base}/api/messages", json=body) as response:
                assert response.status in (200, 201, 202)
        for _ in range(300):  # both answers delivered (the repeat of m-1 is dropped)
            if len(connector.delivered) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(connector.delivered) == 2
        text = await _scrape(session, base)

    samples = _samples(text)
    missing = FAMILIES - set(samples)
    assert not missing, f"families not served: {sorted(missing)}"
    assert _total(samples["resync_chat_events"], platform="teams", kind="message") == 3
    assert _total(samples["resync_admission_rejected"], reason="duplicate") == 1
    assert _total(samples["resync_questions"], kind="list", outcome="answered") == 1
    assert _total(samples["resync_questions"], kind="late", outcome="answered") == 1
    answered = samples["resync_answer_seconds"]
    count = sum(v for key, v in answered.items() if key[0][1] == "resync_answer_seconds_count")
    assert count == 2
    assert _total(samples["resync_engine_requests"], method="GET", outcome="ok") >= 2
    assert _total(samples["resync_audit_appends"], outcome="ok") == 4  # 2 messages, 2 answers
    breaker = samples["resync_engine_breaker_state"]
    assert list(breaker.values()) == [0.0]  # closed: the simulator answered
    # No label carries a person, a channel or a job: only bounded vocabularies.
    assert "alice" not in text.lower()
    assert "payroll" not in text.lower()
