"""`PagerDutyPager` against a local mock of the Events API v2."""

from __future__ import annotations

import time

import pytest
from pager_support import events_api

from integrations.pager import (
    PageEvent,
    PageLink,
    PagerDutyPager,
    PagerRejectedError,
    PagerUnavailableError,
    PageSeverity,
    RetryPolicy,
)
from integrations.pager.http import retry_after

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, timeout=2)
EVENT = PageEvent(
    dedup_key="INC-2026-0042",
    summary="[INC-2026-0042] SEV1 Payroll extract abended",
    severity=PageSeverity.CRITICAL,
    source="TWS twsmaster:31116",
    links=(PageLink(href="https://slack.example/C1", text="slack room"),),
    details={"linked": ["PAYROLL_DAILY.PAYROLL_EXTRACT"]},
)


async def test_trigger_sends_an_events_v2_body_and_reads_the_202() -> None:
    async with events_api() as api:
        pager = PagerDutyPager(routing_key="R0UTING", base_url=api.url, policy=FAST)
        result = await pager.trigger(EVENT)
        await pager.close()
    assert (result.status, result.attempts, result.dedup_key) == (202, 1, "INC-2026-0042")
    assert result.message == "Event processed"
    assert result.target.startswith("PagerDuty 127.0.0.1:")
    [seen] = api.seen
    assert seen.path == "/v2/enqueue"
    assert seen.body == {
        "routing_key": "R0UTING",
        "event_action": "trigger",
        "dedup_key": "INC-2026-0042",
        "payload": {
            "summary": "[INC-2026-0042] SEV1 Payroll extract abended",
            "severity": "critical",
            "source": "TWS twsmaster:31116",
            "custom_details": {"linked": ["PAYROLL_DAILY.PAYROLL_EXTRACT"]},
        },
        "client": "Resync",
        "links": [{"href": "https://slack.example/C1", "text": "slack room"}],
    }


async def test_acknowledge_and_resolve_carry_only_the_dedup_key() -> None:
    async with events_api() as api:
        pager = PagerDutyPager(routing_key="R", base_url=api.url + "/", policy=FAST)
        await pager.acknowledge(EVENT)
        await pager.resolve(EVENT)
        await pager.close()
    assert api.bodies() == [
        {"routing_key": "R", "event_action": "acknowledge", "dedup_key": "INC-2026-0042"},
        {"routing_key": "R", "event_action": "resolve", "dedup_key": "INC-2026-0042"},
    ]


async def test_5xx_is_retried_until_accepted() -> None:
    async with events_api() as api:
        api.fail(2, 502)
        pager = PagerDutyPager(routing_key="R", base_url=api.url, policy=FAST)
        result = await pager.trigger(EVENT)
        await pager.close()
    assert result.attempts == 3
    assert len(api.seen) == 3
    assert {s.body["dedup_key"] for s in api.seen} == {"INC-2026-0042"}


async def test_429_waits_what_retry_after_asks() -> None:
    policy = RetryPolicy(attempts=2, base_delay=0.001, max_delay=5, timeout=2)
    async with events_api() as api:
        api.fail(1, 429, body='{"status":"throttle"}', headers={"Retry-After": "1"})
        pager = PagerDutyPager(routing_key="R", base_url=api.url, policy=policy)
        started = time.monotonic()
        result = await pager.trigger(EVENT)
        waited = time.monotonic() - started
        await pager.close()
    assert result.attempts == 2
    assert waited >= 0.95


async def test_400_is_final_and_names_the_call_and_the_answer() -> None:
    async with events_api() as api:
        api.fail(
            1,
            400,
            body='{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'summary\' is incorrect"]}',
        )
        pager = PagerDutyPager(routing_key="SECRET-ROUTING-KEY", base_url=api.url, policy=FAST)
        with pytest.raises(PagerRejectedError) as caught:
            await pager.trigger(EVENT)
        await pager.close()
    assert len(api.seen) == 1
    error = caught.value
    assert (error.status, error.attempts, error.retryable) == (400, 1, False)
    assert "POST " + api.url + "/v2/enqueue trigger INC-2026-0042" in str(error)
    assert "Event object is invalid" in str(error)
    assert "SECRET-ROUTING-KEY" not in str(error)


async def test_persistent_5xx_gives_up_with_the_last_answer() -> None:
    async with events_api() as api:
        api.fail(10, 503, body="maintenance")
        pager = PagerDutyPager(routing_key="R", base_url=api.url, policy=FAST)
        with pytest.raises(PagerUnavailableError) as caught:
            await pager.trigger(EVENT)
        await pager.close()
    assert len(api.seen) == 4
    assert (caught.value.status, caught.value.answer, caught.value.retryable) == (
        503,
        "maintenance",
        True,
    )
    assert "(4 attempts)" in str(caught.value)


async def test_an_unreachable_service_is_unavailable() -> None:
    async with events_api() as api:
        url = api.url  # closed when the block ends: nothing listens there afterwards
    pager = PagerDutyPager(
        routing_key="R", base_url=url, policy=RetryPolicy(attempts=2, base_delay=0.01, timeout=1)
    )
    with pytest.raises(PagerUnavailableError) as caught:
        await pager.trigger(EVENT)
    await pager.close()
    assert caught.value.status is None
    assert "ClientConnectorError" in caught.value.answer


async def test_long_summaries_are_cut_to_what_pagerduty_keeps() -> None:
    async with events_api() as api:
        pager = PagerDutyPager(routing_key="R", base_url=api.url, policy=FAST)
        await pager.trigger(
            PageEvent(dedup_key="k", summary="x" * 3000, severity=PageSeverity.INFO, source="s")
        )
        await pager.close()
    assert len(api.seen[0].body["payload"]["summary"]) == 1024


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
