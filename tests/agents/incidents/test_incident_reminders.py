"""Status-update reminders: due by the severity's cadence, posted once per interval."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from incident_support import T0, Clock, RecordingRooms, actor, database, service

from agents.incidents import IncidentPolicy, IncidentStatus
from agents.incidents.reminders import due_reminders
from integrations.store import MemoryStore

ANA = actor("ana")


async def test_due_reminders_follow_the_cadence_and_the_last_update(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        clock = Clock()
        svc = service(db, rooms=RecordingRooms(), clock=clock)
        sev1 = (await svc.declare(key="a", actor=ANA, title="a", severity="SEV1")).incident.id
        await svc.declare(key="b", actor=ANA, title="b", severity="SEV4")
        sev3 = (await svc.declare(key="c", actor=ANA, title="c", severity="SEV3")).incident.id
        assert await svc.due_reminders(T0 + timedelta(minutes=29)) == []
        [due] = await svc.due_reminders(T0 + timedelta(minutes=30))
        assert (due.incident_id, due.interval, due.silent_for) == (sev1, 1, timedelta(minutes=30))
        assert [d.interval for d in await svc.due_reminders(T0 + timedelta(minutes=65))] == [2]
        clock.advance(minutes=40)
        await svc.post_update(sev1, actor=ANA, text="still digging")
        assert await svc.due_reminders(T0 + timedelta(minutes=69)) == []
        later = await svc.due_reminders(T0 + timedelta(hours=4, minutes=1))
        assert [(d.incident_id, d.interval) for d in later] == [(sev3, 1), (sev1, 6)]
        await svc.resolve(sev1, actor=ANA, summary="fixed")
        assert [d.incident_id for d in await svc.due_reminders(T0 + timedelta(hours=5))] == [sev3]


def test_a_level_without_cadence_never_reminds() -> None:
    policy = IncidentPolicy()
    assert policy.level("SEV4").cadence is None
    assert due_reminders([], now=T0, policy=policy) == []


async def test_one_reminder_per_interval_across_replicas(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        store, rooms, clock = MemoryStore(), RecordingRooms(), Clock()
        replicas = [service(db, rooms=rooms, store=store, clock=clock) for _ in range(3)]
        iid = (
            await replicas[0].declare(key="k", actor=ANA, title="t", severity="SEV2")
        ).incident.id

        async def tick(minutes: int) -> int:
            clock.now = T0 + timedelta(minutes=minutes)
            sent = await asyncio.gather(*(r.remind() for r in replicas for _ in range(4)))
            return sum(len(s) for s in sent)

        assert await tick(59) == 0
        assert await tick(61) == 1
        assert await tick(90) == 0  # still the first interval
        assert await tick(121) == 1
        await replicas[1].post_update(iid, actor=ANA, text="rerun running")
        assert await tick(170) == 0
        assert await tick(182) == 1
        await replicas[2].set_status(iid, actor=ANA, status=IncidentStatus.RESOLVED, summary="done")
        assert await tick(400) == 0
    reminders = rooms.posted(":remind-")
    assert len(reminders) == 3
    assert len(set(reminders)) == 3
    headline = next(reply.headline for _, key, reply in rooms.posts if ":remind-" in key)
    assert headline == "INC-2026-0001: no status update for 1h 01m (SEV2 expects one every 1h 00m)"
