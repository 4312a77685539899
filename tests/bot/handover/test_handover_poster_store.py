"""The scheduled handover when the shared store misbehaves or a replica dies mid-post.

Real Slack surface on the mock Web API, the real chat core, the simulator behind the desk;
the store is the in-memory one on a clock the test moves (the lease is what is tested).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from runbook_stack import SIM_NOW, AuditTrail, Stack, runbook_stack
from slack_support import Harness, slack_harness

from agents.handover import HandoverDesk
from agents.messages import Platform
from bot.handover import HandoverPoster
from integrations.store import MemoryStore, StoreError

CHANNEL = "CHANDOVER"


@dataclass
class Seconds:
    """The store's clock."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyStore(MemoryStore):
    """The in-memory store, unreachable while ``down`` is set (as Redis would raise)."""

    down = False

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        if self.down:
            raise StoreError("connection refused")
        return await super().acquire_lease(key, owner=owner, ttl_seconds=ttl_seconds)


@pytest.fixture
async def parts() -> AsyncIterator[tuple[Stack, Harness]]:
    async with runbook_stack() as stack, slack_harness() as h:
        yield stack, h


def _poster(stack: Stack, h: Harness, store: MemoryStore, trail: AuditTrail) -> HandoverPoster:
    poster = HandoverPoster(
        desk=HandoverDesk(scheduler=stack.client, zone=UTC),
        core=h.core,
        store=store,
        channels={Platform.SLACK: CHANNEL},
        times=(time(23, 0),),
        zone=UTC,
        audit=trail,
        clock=lambda: SIM_NOW + timedelta(seconds=30),
        lease_seconds=60,
    )
    poster.attach(h.surface.port)
    return poster


def _posts(h: Harness) -> list[object]:
    return [p for p in h.mock.of("chat.postMessage") if p["channel"] == CHANNEL]


async def test_store_down_posts_nothing_then_posts_once(parts: tuple[Stack, Harness]) -> None:
    stack, h = parts
    store, trail = FlakyStore(), AuditTrail()
    poster = _poster(stack, h, store, trail)
    store.down = True
    assert await poster.post_due() == []  # no lease, no post (never a double post)
    assert _posts(h) == []
    store.down = False
    assert len(await poster.post_due()) == 1
    assert await poster.post_due() == []
    assert len(_posts(h)) == 1
    assert [r["outcome"] for r in trail.actions("handover.post")] == ["posted"]


async def test_a_replica_dying_mid_post_lets_another_post_after_the_lease(
    parts: tuple[Stack, Harness],
) -> None:
    stack, h = parts
    assert datetime(2026, 11, 23, 23, 0, tzinfo=UTC) == SIM_NOW  # the change is the sim's now
    seconds = Seconds()
    store, trail = MemoryStore(clock=seconds), AuditTrail()
    # A replica took the lease for this change and died before posting.
    assert await store.acquire_lease(
        "handover:slack:2026-11-23T23:00:lease", owner="dead-replica", ttl_seconds=60
    )
    poster = _poster(stack, h, store, trail)
    assert await poster.post_due() == []
    seconds.now += 61  # the dead replica's lease lapses
    assert len(await poster.post_due()) == 1
    assert len(_posts(h)) == 1
