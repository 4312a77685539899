"""`WebhookPager` against a local JSON endpoint."""

from __future__ import annotations

import pytest
from pager_support import events_api

from integrations.pager import (
    PageEvent,
    PagerRejectedError,
    PageSeverity,
    RetryPolicy,
    WebhookPager,
)

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=2)
EVENT = PageEvent(
    dedup_key="INC-2026-0007", summary="s", severity=PageSeverity.ERROR, source="TWS m"
)


async def test_posts_the_event_with_a_bearer_secret_and_an_idempotency_key() -> None:
    async with events_api() as api:
        pager = WebhookPager(url=api.url + "/hook", secret="s3cret", policy=FAST)
        result = await pager.trigger(EVENT)
        await pager.resolve(EVENT)
        await pager.close()
    assert result.status == 202
    first, second = api.seen
    assert first.headers["Authorization"] == "Bearer s3cret"
    assert first.headers["Idempotency-Key"] == "INC-2026-0007:trigger"
    assert {k: v for k, v in first.body.items() if k != "sent_at"} == {
        "action": "trigger",
        "dedup_key": "INC-2026-0007",
        "summary": "s",
        "severity": "error",
        "source": "TWS m",
        "links": [],
        "details": {},
    }
    assert second.body["action"] == "resolve"


async def test_no_secret_no_authorization_and_503_is_retried() -> None:
    async with events_api() as api:
        api.fail(2, 503)
        pager = WebhookPager(url=api.url + "/hook", policy=FAST)
        result = await pager.acknowledge(EVENT)
        await pager.close()
    assert result.attempts == 3
    assert "Authorization" not in api.seen[0].headers


async def test_401_is_final_and_the_secret_stays_out_of_the_error() -> None:
    async with events_api() as api:
        api.fail(1, 401, body="bad token")
        pager = WebhookPager(url=api.url + "/hook", secret="s3cret", policy=FAST)
        with pytest.raises(PagerRejectedError, match="HTTP 401: bad token") as caught:
            await pager.trigger(EVENT)
        await pager.close()
    assert "s3cret" not in str(caught.value)
    assert len(api.seen) == 1
