"""Resolving posts the postmortem draft in the incident's rooms: once per resolution, audited."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from incident_support import ORIGIN, AuditTrail, RecordingRooms, actor, database, service

from agents.incidents import render_postmortem
from agents.messages import Preformatted, Reply

ANA = actor("ana")


def _draft(reply: Reply) -> str:
    return "\n".join(b.text for b in reply.blocks if isinstance(b, Preformatted))


async def test_resolving_posts_the_exported_draft_once_and_audits_it(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms, audit = RecordingRooms(), AuditTrail()
        svc = service(db, rooms=rooms, audit=audit)
        made = await svc.declare(key="k", actor=ANA, title="GL close slow", origin=ORIGIN)
        iid = made.incident.id
        await svc.note(iid, actor=ANA, text="ledger lock held by a batch")
        assert rooms.posted(":postmortem-") == []
        await svc.resolve(iid, actor=ANA, summary="lock released, GL_CLOSE rerun")
        [(channel, key, reply)] = [p for p in rooms.posts if ":postmortem-" in p[1]]
        assert channel == made.incident.places[0].room.channel  # the room, not the origin
        assert key.endswith(":slack")
        assert reply.headline == f"Postmortem draft for {iid}: GL close slow"
        # The same text `resync incidents export` writes (its timeline as it was then).
        incident = await svc.get(iid, timeline=True)
        posted_at = next(e.seq for e in incident.timeline if e.kind == "postmortem")
        before = incident.model_copy(
            update={"timeline": tuple(e for e in incident.timeline if e.seq < posted_at)}
        )
        assert _draft(reply) == render_postmortem(before, zone=ZoneInfo("UTC")).rstrip("\n")
        # Recovery and another drive do not post it again.
        await svc.recover()
        assert len(rooms.posted(":postmortem-")) == 1
        [record] = audit.actions("incident.postmortem")
        assert (record["outcome"], record["target"]) == ("posted", iid)
        assert record["parameters"]["parts"] == 1
        [entry] = [e for e in incident.timeline if e.kind == "postmortem"]
        assert entry.text == f"Postmortem draft posted in slack {channel}"
        # Reopened and resolved again: the new draft is posted too.
        await svc.set_status(iid, actor=ANA, status="active")
        await svc.resolve(iid, actor=ANA, summary="second fix")
        drafts = [r for _, k, r in rooms.posts if ":postmortem-" in k]
        assert len(drafts) == 2
        assert "second fix" in _draft(drafts[1])


async def test_a_long_draft_is_posted_in_parts(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms = RecordingRooms()
        svc = service(db, rooms=rooms)
        iid = (await svc.declare(key="k", actor=ANA, title="t", origin=ORIGIN)).incident.id
        for n in range(60):
            await svc.note(iid, actor=ANA, text=f"step {n:02d}: " + "x" * 80)
        await svc.resolve(iid, actor=ANA, summary="done")
        parts = [r for _, k, r in rooms.posts if ":postmortem-" in k]
        assert len(parts) > 1
        assert all(len(_draft(p)) <= 2_500 for p in parts)
        assert parts[0].headline == f"Postmortem draft for {iid} (part 1 of {len(parts)}): t"
        whole = "\n".join(_draft(p) for p in parts)
        assert all(f"step {n:02d}: " in whole for n in range(60))


async def test_a_failing_room_is_retried_then_posted(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as db:
        rooms = RecordingRooms()
        svc = service(db, rooms=rooms)
        iid = (await svc.declare(key="k", actor=ANA, title="t", origin=ORIGIN)).incident.id
        real_post = rooms.post
        failing = {"left": 1}

        async def post(**kwargs: object) -> str | None:
            if ":postmortem-" in str(kwargs["key"]) and failing["left"]:
                failing["left"] -= 1
                raise RuntimeError("slack: ratelimited")
            return await real_post(**kwargs)  # type: ignore[arg-type]

        rooms.post = post  # type: ignore[method-assign]
        await svc.resolve(iid, actor=ANA, summary="done")
        assert rooms.posted(":postmortem-") == []
        report = await svc.recover()  # retry_seconds=0: due again at once
        assert report.driven == (iid,)
        assert len(rooms.posted(":postmortem-")) == 1
