"""Three replicas, one Slack: racing "Declare incident" clicks and Slack retries make one
incident and one channel every round; reminders go out once per interval.

The replicas (`incident_replica_support`) share the real Redis and PostgreSQL, and one mock
Slack Web API. Each round, 20 people click the same button at once, spread over the three
replicas, and 5 of those deliveries are sent again as Slack retries (``X-Slack-Retry-Num``)
to another replica. ``RESYNC_TEST_INCIDENT_ROUNDS`` sets the rounds: 10 by default, to fit
CI (about 4 s); ``RESYNC_TEST_INCIDENT_ROUNDS=100`` is the full size (about 41 s on the
2-core container).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from incident_replica_support import Replicas, three_replicas

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROUNDS = int(os.environ.get("RESYNC_TEST_INCIDENT_ROUNDS", "10"))
CLICKS, RETRIES = 20, 5


async def _round(replicas: Replicas, r: int) -> None:
    message = f"1700{r:06d}.000100"
    users = [f"UR{r:03d}P{i:02d}" for i in range(CLICKS)]
    clicks = [
        replicas.click(i % 3, user=user, message_ts=message, trigger=f"t{r}-{i}")
        for i, user in enumerate(users)
    ]
    # Slack sends some deliveries again (it did not see the ack in time): another replica.
    retries = [
        replicas.click(i % 3 + 1, user=users[i], message_ts=message, trigger=f"t{r}-{i}", retry=1)
        for i in range(RETRIES)
    ]
    statuses = await asyncio.gather(*clicks, *retries)
    assert set(statuses) == {200}
    await replicas.settle()


async def test_racing_clicks_and_retries_on_three_replicas_make_one_incident_and_channel(
    tmp_path: Path,
) -> None:
    async with three_replicas(tmp_path) as replicas:
        slack, service = replicas.slack, replicas.replicas[0].service
        for r in range(ROUNDS):
            await _round(replicas, r)
            incidents = await service.list_open()
            assert len(incidents) == r + 1, f"round {r}: {[i.id for i in incidents]}"
            assert len(slack.of("conversations.create")) == r + 1, f"round {r}"
            assert len(slack.of("pins.add")) == r + 1, f"round {r}"
            # Every clicker heard back once (the retries were dropped as duplicates).
            whispered = Counter(
                str(c["user"]) for c in slack.of("chat.postEphemeral") if f"UR{r:03d}P" in c["user"]
            )
            assert sorted(whispered.values()) == [1] * CLICKS, f"round {r}: {whispered}"
        # One declaration per round, audited by whichever replica won it.
        declared = [
            rec for rep in replicas.replicas for rec in rep.audit.actions("incident.declare")
        ]
        assert len(declared) == ROUNDS
        # Every incident has its one channel, its state message pinned there.
        for incident in await service.list_open():
            full = await service.get(incident.id)
            [place] = full.places
            assert place.pinned
            assert slack.named(full.room_name) is not None
            assert (place.room.channel, place.state_message_id) in slack.pinned


async def test_reminders_once_per_interval_across_three_replicas_running_upkeep(
    tmp_path: Path,
) -> None:
    async with three_replicas(tmp_path) as replicas:
        for r in range(3):
            await _round(replicas, r)
        services = [rep.service for rep in replicas.replicas]
        [first, *_] = await services[0].list_open()
        cadence = services[0].policy.level(first.severity).cadence
        assert cadence is not None
        start = max(i.declared_at for i in await services[0].list_open())
        # Each replica's upkeep runs at every minute mark; three at once at each mark.
        sent = 0
        for minutes in (1, 61, int(cadence / timedelta(minutes=1)) + 1, 2 * 60 * 4 + 30):
            now = start + timedelta(minutes=minutes)
            rounds = await asyncio.gather(*(s.remind(now=now) for s in services))
            rounds += await asyncio.gather(*(s.remind(now=now) for s in services))
            sent += sum(len(x) for x in rounds)
        # The SEV3 cadence is 4 h: intervals 1 (at 4h01m) and 2 (at 8h30m) for 3 incidents.
        assert cadence == timedelta(hours=4)
        assert sent == 3 * 2
        posted = [
            c
            for c in replicas.slack.of("chat.postMessage")
            if "no status update for" in str(c.get("text"))
        ]
        per_channel = Counter(str(c["channel"]) for c in posted)
        assert sorted(per_channel.values()) == [2, 2, 2]
        audited = [
            rec for rep in replicas.replicas for rec in rep.audit.actions("incident.reminder")
        ]
        assert len(audited) == 6
