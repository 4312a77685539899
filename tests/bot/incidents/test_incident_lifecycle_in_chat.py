"""One incident from declaration to postmortem, typed in Slack and in Teams.

Through the real adapters (signed slash commands against a mock Slack Web API that keeps
channels and pins; signed activities against the fake Bot Connector, with the app installed
in the incidents channel), the real Assistant on the simulator, a real `IncidentService` on
SQLite with the platform's real rooms, and `PagerDutyPager` against a local Events API:
declare → one room (channel pinned + announcement / thread with the state card) → link the
failed job from the room → a note and a status update → a runbook rerun requested in the room
and approved by a second person with the card's button (its progress lands on the timeline)
→ one reminder per interval → escalate (one page ever, dedup key = the incident id) →
resolve (the page resolved with the same key) → the postmortem draft posted in the room, and
its timeline in order.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from incident_lifecycle_support import NOW, ORIGIN, Room, incident_room, shown
from teams_support import CHANNEL, card_of

IID = "INC-2026-0001"
JOB = "MASTER#PAYROLL_DAILY.PAYROLL_EXTRACT"
NAME = "inc-2026-0001-payroll-extract-failing"
SUMMARY = "input file fixed, PAYROLL_EXTRACT rerun ok"


def _incident_actions(room: Room) -> list[tuple[str, str]]:
    return [
        (r["action"], r["outcome"]) for r in room.audit.records if r["action"].startswith("inc")
    ]


async def _declared_room(room: Room) -> str:
    """Check the one room the declaration opened; returns the state message's id."""
    incident = await room.service.get(IID)
    assert (incident.severity, incident.title) == ("SEV2", "payroll extract failing")
    [place] = incident.places
    assert place.state_message_id is not None
    assert place.pinned
    room.room = (place.room.channel, place.room.thread)
    state = place.state_message_id
    if room.platform == "slack":
        mock = room.slack
        assert mock is not None
        [created] = mock.of("conversations.create")
        assert created["name"] == NAME
        channel = mock.named(NAME)
        assert channel is not None
        assert channel["id"] == place.room.channel
        assert place.room.thread is None
        assert mock.pinned == [(channel["id"], state)]  # the state message, pinned
        [first, *_] = [p for p in mock.of("chat.postMessage") if p["channel"] == channel["id"]]
        assert "INC-2026-0001 · SEV2 (major) · triage" in first["text"]
        # Announced where it was declared, linking the channel.
        [announced] = [
            p
            for p in mock.of("chat.postMessage")
            if "declared" in p["text"] and p["channel"] == ORIGIN
        ]
        assert f"Incident channel: <#{channel['id']}>" in str(announced["blocks"])
        assert f"Incident {IID} declared: SEV2 (major)" in announced["text"]
    else:
        connector = room.teams.connector
        [thread] = [c for c in connector.calls if c.path == "/v3/conversations"]
        assert thread.body["channelData"]["channel"]["id"] == CHANNEL
        assert place.room.channel == CHANNEL
        [header] = [text for where, text in room.posts() if where == CHANNEL]
        assert f"{IID} SEV2: payroll extract failing" in header
        assert "For: Alice Smith " in header  # the declarer who leads: named once
        # The state card is the thread's first reply; the announcement goes where declared.
        posted = [c for c in connector.activities() if c.conversation_id == room.conversation]
        assert f"{IID} · SEV2 (major) · triage" in shown(card_of(posted[0].body))
        [announced] = [t for w, t in room.posts() if w == "a:personal-chat" and "declared:" in t]
        assert f"Room: teams {CHANNEL}" in announced
    return state


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_an_incident_from_declaration_to_postmortem(platform: str, tmp_path: Path) -> None:
    async with incident_room(platform, tmp_path) as room:
        # --- declare, where the failure was noticed ---------------------------------------
        await room.say("incident declare SEV2 payroll extract failing", in_room=False)
        assert any(f"Declared {IID} · SEV2 (major)" in t for t in room.texts())
        state = await _declared_room(room)
        # SEV2 pages on the default policy: the trigger goes at declaration, keyed by the id.
        [trigger] = room.pager.bodies()
        assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", IID)
        assert trigger["payload"]["severity"] == "error"

        # --- in the room: link, note, status update ---------------------------------------
        before = len(room.in_room())
        await room.say("incident link PAYROLL_EXTRACT", in_room=True)
        assert f"Linked job {JOB} (ABEND) to {IID}." in "\n".join(room.in_room()[before:])
        assert JOB in room.edits(state)[-1]  # the state message, kept current in place
        assert [link.name for link in (await room.service.get(IID)).links] == [JOB]

        await room.say("incident note bank file is late", in_room=True)
        assert any(f"Note added to {IID}'s timeline." in t for t in room.in_room())

        before = len(room.in_room())
        await room.say("incident update rerun after fixing the input file", in_room=True)
        posted = room.in_room()[before:]
        update = [t for t in posted if f"{IID} update · triage · SEV2 (major)" in t]
        assert len(update) == 1
        assert "rerun after fixing the input file" in update[0]
        assert (
            "Last update: Mon 23 Nov 23:30 UTC: rerun after fixing the input file"
            in (room.edits(state)[-1])
        )

        # --- a runbook run from the room: approved by a second person, on the timeline ---
        await room.say("rerun PAYROLL_EXTRACT", in_room=True)
        await room.approve_runbook()
        runs = [
            e for e in (await room.service.get(IID, timeline=True)).timeline if e.kind == "runbook"
        ]
        assert any(e.text == "Runbook rerun-abended-job: done" for e in runs), runs
        assert any("rerun the job: done" in e.text for e in runs), runs

        # --- a reminder after the SEV2 cadence (1 h), once per interval -------------------
        assert await room.service.remind(now=NOW + timedelta(minutes=59)) == []
        [due] = await room.service.remind(now=NOW + timedelta(minutes=61))
        assert (due.incident_id, due.interval) == (IID, 1)
        assert await room.service.remind(now=NOW + timedelta(minutes=75)) == []  # same interval
        reminders = [t for t in room.in_room() if "no status update for" in t]
        assert len(reminders) == 1
        assert (
            f"{IID}: no status update for 1h 01m (SEV2 expects one every 1h 00m)" in (reminders[0])
        )

        # --- escalate: SEV1, and still exactly one page ----------------------------------
        room.clock.now = NOW + timedelta(minutes=80)
        before = len(room.in_room())
        await room.say("incident escalate SEV1", in_room=True)
        assert any(f"Escalated {IID} to SEV1." in t for t in room.in_room()[before:])
        assert f"{IID} · SEV1 (critical) · triage" in room.edits(state)[-1]
        triggers = [b for b in room.pager.bodies() if b["event_action"] == "trigger"]
        assert [b["dedup_key"] for b in triggers] == [IID]

        # --- resolve with a summary -------------------------------------------------------
        before = len(room.in_room())
        await room.say(f"incident resolve {SUMMARY}", in_room=True)
        assert any(f"Resolved {IID}: {SUMMARY}" in t for t in room.in_room()[before:])
        assert f"{IID} · SEV1 (critical) · resolved" in room.edits(state)[-1]
        resolved = await room.service.get(IID)
        assert (resolved.status.value, resolved.resolution) == ("resolved", SUMMARY)
        assert [(b["event_action"], b["dedup_key"]) for b in room.pager.bodies()] == [
            ("trigger", IID),
            ("resolve", IID),
        ]
        assert await room.service.list_open() == []
        # The postmortem draft (what `resync incidents export` writes) is posted in the room.
        posted = [t for t in room.in_room()[before:] if f"Postmortem draft for {IID}" in t]
        assert len(posted) == 1, posted
        assert f"Resolved: {SUMMARY}" in posted[0]
        assert "## Timeline" in posted[0]
        assert "Escalated SEV2 → SEV1 (critical)" in posted[0]
        assert "Page resolve sent to PagerDuty" in posted[0]

        # --- what the audit log holds ----------------------------------------------------
        done = _incident_actions(room)
        # Each runbook progress message on the timeline is an audited event.
        assert done.count(("incident.event", "applied")) == len(runs)
        assert [a for a in done if a[0] != "incident.event"] == [
            ("incident.declare", "applied"),
            ("incident.rooms", "opened"),
            ("incident.page", "sent"),
            ("incident.link", "applied"),
            ("incident.note", "applied"),
            ("incident.update", "applied"),
            ("incident.reminder", "sent"),
            ("incident.escalate", "applied"),
            ("incident.status", "applied"),
            ("incident.page", "sent"),
            ("incident.postmortem", "posted"),
        ]
        person = {"slack": "u1@example.com", "teams": "alice@contoso.com"}[platform]
        changes = [
            r
            for r in room.audit.records
            if r["outcome"] == "applied"
            and r["action"].startswith("incident.")
            and r["action"] != "incident.event"
        ]
        assert {r["actor_identity"] for r in changes} == {person}
        assert {r["target"] for r in changes} == {IID}
        [escalated] = room.actions("incident.escalate")
        assert escalated["parameters"]["before"]["severity"] == "SEV2"
        assert escalated["parameters"]["after"]["severity"] == "SEV1"
        if platform == "slack":
            assert room.slack is not None
            assert len(room.slack.of("conversations.create")) == 1
            assert len(room.slack.of("pins.add")) == 1
        else:
            calls = room.teams.connector.calls
            assert len([c for c in calls if c.path == "/v3/conversations"]) == 1

        # --- the postmortem draft: the timeline, in order ---------------------------------
        draft = await room.service.postmortem(IID, audit_records=room.audit.records)
        timeline = draft.markdown.split("## Timeline", 1)[1].split("\n## ", 1)[0]
        expected = [
            "Declared SEV2 (major)",
            f"Linked job {JOB} (ABEND)",
            "Note: bank file is late",
            "Update: rerun after fixing the input file",
            "Runbook rerun-abended-job: done",
            "Escalated SEV2 → SEV1 (critical)",
            f"Status triage → resolved by {resolved.declared_by.name}: {SUMMARY}",
        ]
        places = [timeline.find(entry) for entry in expected]
        assert all(at >= 0 for at in places), timeline
        assert places == sorted(places), timeline
        assert "Page trigger sent to PagerDuty" in timeline
        assert f"Postmortem draft posted in {room.platform} " in timeline
        assert SUMMARY in draft.markdown.split("## Summary", 1)[1]
        # Evidence read from the simulator: the job as it is now, rerun (its clock is frozen).
        evidence = draft.markdown.split("## What failed (evidence)", 1)[1]
        assert f"### {JOB}\n- Status EXEC\n- Read from TWS " in evidence
