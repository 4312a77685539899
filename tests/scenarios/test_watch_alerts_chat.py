"""Alerts in Slack and Teams through the real adapters: cards with charts, buttons, noise rules.

Slack: the surface on a mock Web API that takes uploads (the chart's bytes arrive at the
upload URL), signed ``block_actions`` clicks. Teams: the surface on the fake Bot Connector,
the app installed in the alerts channel, ``Action.Execute`` invokes. The runbook service
runs on the simulator (a rerun request goes through the usual approval), incidents on SQLite.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from watch_alerts_support import (
    ALERTS,
    AS_OF,
    CHANNEL,
    PLAN,
    PNG_SIGNATURE,
    SlackAlerts,
    card_of,
    execute,
    new_posts,
    report,
    risk,
    slack_alerts,
    slow,
    teams_alerts,
    texts,
)

from agents.watch.model import Severity, WatchReport
from bot.teams.cards import card_size

KEY = slow().key


def shown(args: dict[str, Any]) -> str:
    """What a Slack message shows (blocks and fallback text), as one string."""
    return json.dumps(args.get("blocks") or "") + str(args.get("text") or "")


def buttons(args: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """action_id -> button of a Slack message."""
    return {
        e["action_id"]: e
        for block in args.get("blocks") or []
        if block.get("type") == "actions"
        for e in block["elements"]
    }


def _ts_of(slack: SlackAlerts, message: dict[str, Any]) -> str:
    """The ts Slack gave a posted message."""
    return str(message["_ts"])


async def test_slack_alert_is_posted_once_with_its_chart_uploaded_in_the_thread(
    tmp_path: Path,
) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow()))
        (alert,) = slack.mock.top_level()
        assert alert["channel"] == ALERTS
        text = shown(alert)
        assert "PAYROLL_EXTRACT is running long" in text
        assert "47 min so far" in text
        assert set(buttons(alert)) == {
            "watch.ack",
            "watch.snooze_hour",
            "watch.snooze_tomorrow",
            "watch.why",
            "watch.rerun",
            "watch.declare",
        }
        assert {b["value"] for b in buttons(alert).values()} == {KEY}
        (upload,) = slack.mock.uploads.values()
        assert upload.startswith(PNG_SIGNATURE)
        (slot,) = slack.mock.of("files.getUploadURLExternal")
        assert int(slot["length"]) == len(upload)
        (complete,) = slack.mock.of("files.completeUploadExternal")
        ts = _ts_of(slack, alert)
        assert (complete["channel_id"], complete["thread_ts"]) == (ALERTS, ts)
        # The same report again, or only its "so far" minutes moved on: nothing new; a
        # changed value (here the severity): the card is edited in place.
        await slack.publisher.publish(report(slow()))
        await slack.publisher.publish(report(slow(explanation="61 min so far")))
        assert len(slack.mock.top_level()) == 1
        assert slack.mock.of("chat.update") == []
        await slack.publisher.publish(
            report(slow(explanation="75 min so far", severity=Severity.CRITICAL))
        )
        (update,) = slack.mock.of("chat.update")
        assert update["ts"] == ts
        assert "75 min so far" in shown(update)
        assert len(slack.mock.top_level()) == 1
        (posted,) = slack.audit.actions("watch.alert")
        assert (posted["outcome"], posted["correlation"]) == ("posted", {"alert_key": KEY})
        (updated,) = slack.audit.actions("watch.alert_update")
        assert updated["outcome"] == "escalated"


async def test_slack_alert_goes_out_as_text_when_uploads_are_refused(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        slack.mock.fail("files.getUploadURLExternal", body={"ok": False, "error": "missing_scope"})
        await slack.publisher.publish(report(slow()))
        (alert,) = slack.mock.top_level()
        assert "PAYROLL_EXTRACT is running long" in shown(alert)
        assert slack.mock.uploads == {}
        assert slack.mock.of("files.completeUploadExternal") == []


async def test_job_names_and_log_lines_are_escaped_in_slack(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow("<!here>_JOB")))
        (alert,) = slack.mock.top_level()
        assert "<!here>" not in shown(alert)
        await slack.click("watch.why", slow("<!here>_JOB").key, ts=_ts_of(slack, alert))
        (why,) = [p for p in slack.mock.posts() if p.get("thread_ts")]
        assert "<!channel>" not in shown(why)
        assert "waiting for" in shown(why)


async def test_teams_card_carries_the_chart_as_a_data_uri_within_the_size_limit() -> None:
    async with teams_alerts() as (bot, alerts):
        await alerts.publisher.publish(report(slow(), risk(0.62)))
        sent = new_posts(bot)
        assert [channel for channel, _ in sent] == [CHANNEL, CHANNEL]
        for _, activity in sent:
            card = card_of(activity)
            (image,) = [e for e in card["body"] if e["type"] == "Image"]
            prefix = "data:image/png;base64,"
            assert image["url"].startswith(prefix)
            assert base64.b64decode(image["url"][len(prefix) :]).startswith(PNG_SIGNATURE)
            assert card_size(card) < 28_000
            assert len(json.dumps(activity)) < 28_000
        shown_texts = texts(card_of(sent[1][1]))
        assert "GL\\_CLOSE may miss its 01:00 deadline" in shown_texts  # markdown escaped
        assert "62%" in shown_texts  # the "Chance to miss" fact


async def test_teams_ack_click_replaces_the_card_for_everyone() -> None:
    async with teams_alerts() as (bot, alerts):
        await alerts.publisher.publish(report(slow()))
        ((_, posted),) = new_posts(bot)
        card = card_of(posted)
        ack = next(
            a
            for e in card["body"]
            if e["type"] == "ActionSet"
            for a in e["actions"]
            if a["verb"] == "watch.ack"
        )
        root = "1000"  # the fake connector's first id: the post is its own thread root
        response = await bot.post(
            execute(
                action=ack,
                service_url=bot.connector.url,
                card_message_id=str(root),
                conversation_id=f"{CHANNEL};messageid={root}",
            )
        )
        assert response.status == 200
        await bot.surface.drain()
        (replaced,) = bot.connector.activities("PUT")
        assert any("Acknowledged by Bob" in t for t in texts(card_of(replaced.body)))
        (acked,) = bot.audit.of("watch.ack")
        assert acked["actor_identity"] == "bob@contoso.com"


async def test_ack_and_snooze_are_shown_audited_and_snooze_keeps_the_alert_quiet(
    tmp_path: Path,
) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow()))
        (alert,) = slack.mock.top_level()
        ts = _ts_of(slack, alert)
        await slack.click("watch.ack", KEY, ts=ts, user="U1")
        (acked,) = slack.mock.of("chat.update")
        assert "Acknowledged by Person U1" in shown(acked)
        assert "As of 23:00 UTC" in shown(acked)
        assert "watch.ack" not in buttons(acked)
        await slack.click("watch.ack", KEY, ts=ts, user="U2")
        (again,) = slack.mock.of("chat.postEphemeral")
        assert "Already acknowledged by Person U1" in shown(again)
        assert [r["outcome"] for r in slack.audit.actions("watch.ack")] == [
            "acknowledged",
            "already",
        ]
        await slack.click("watch.snooze_hour", KEY, ts=ts, user="U2")
        snoozed = slack.mock.of("chat.update")[-1]
        assert "Snoozed by Person U2 until 00:00 UTC" in shown(snoozed)
        (record,) = slack.audit.actions("watch.snooze")
        assert record["parameters"]["until"] == (AS_OF + timedelta(hours=1)).isoformat()
        # While snoozed: a changed value and a turn to critical change nothing.
        edits = len(slack.mock.of("chat.update"))
        worse = slow(explanation="70 min so far", severity=Severity.CRITICAL)
        await slack.publisher.publish(report(worse))
        assert len(slack.mock.of("chat.update")) == edits
        assert [p for p in slack.mock.posts() if p.get("thread_ts") and "Still" in shown(p)] == []
        # After the snooze: updated, one reminder in the thread, then quiet again.
        slack.clock.now = AS_OF + timedelta(hours=1, minutes=1)
        await slack.publisher.publish(report(worse))
        await slack.publisher.publish(report(worse))
        assert "70 min so far" in shown(slack.mock.of("chat.update")[-1])
        reminders = [p for p in slack.mock.posts() if "Still going after the snooze" in shown(p)]
        assert [r["thread_ts"] for r in reminders] == [ts]


async def test_why_posts_the_whole_story_in_the_alert_thread(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(risk(0.7)))
        (alert,) = slack.mock.top_level()
        ts = _ts_of(slack, alert)
        await slack.click("watch.why", risk(0.7).key, ts=ts)
        (why,) = [p for p in slack.mock.posts() if p.get("thread_ts") == ts]
        text = shown(why)
        assert "Why: GL_CLOSE may miss its 01:00 deadline" in text
        assert "PAYROLL_EXTRACT → GL_POST → GL_CLOSE" in text
        assert "70%" in text


async def test_request_rerun_goes_through_the_runbook_approval_in_the_thread(
    tmp_path: Path,
) -> None:
    async with slack_alerts(tmp_path) as slack:
        before = await slack.stack.rerun_count()
        await slack.publisher.publish(report(slow()))
        (alert,) = slack.mock.top_level()
        ts = _ts_of(slack, alert)
        await slack.click("watch.rerun", KEY, ts=ts, user="U1")
        (card,) = [p for p in slack.mock.posts() if p.get("thread_ts") == ts]
        approve = buttons(card)["runbook.approve"]
        assert "rerun-abended-job" in shown(card) or "PAYROLL_EXTRACT" in shown(card)
        (note,) = slack.mock.of("chat.postEphemeral")
        assert "approval card is in the alert's thread" in shown(note)
        (requested,) = slack.audit.actions("runbook.request")
        assert requested["outcome"] == "pending"
        # Nothing ran yet; a colleague in the approver group approves: it runs once.
        assert await slack.stack.rerun_count() == before
        card_ts = _ts_of(slack, card)
        await slack.click("runbook.approve", approve["value"], ts=card_ts, user="APPROVER1")
        assert await slack.stack.rerun_count() == before + 1


async def test_declare_incident_declares_once_per_alert(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow()))
        (alert,) = slack.mock.top_level()
        ts = _ts_of(slack, alert)
        await slack.click("watch.declare", KEY, ts=ts, user="U1")
        await slack.click("watch.declare", KEY, ts=ts, user="U2")
        (incident,) = await slack.incidents.list_open()
        assert incident.title == "PAYROLL_EXTRACT is running long"
        (declared,) = slack.audit.actions("incident.declare")
        assert declared["parameters"]["after"]["declare_key"] == f"watch:{KEY}"
        first, second = slack.mock.of("chat.postEphemeral")
        assert f"Declared {incident.id}" in shown(first)
        assert f"Already declared as {incident.id}" in shown(second)
        (told,) = [p for p in slack.mock.posts() if p.get("thread_ts") == ts]
        assert f"declared {incident.id} for this alert" in shown(told)


async def test_alerts_close_themselves_when_the_condition_ends(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow(), risk(0.6)))
        slow_alert, risk_alert = slack.mock.top_level()
        later = AS_OF + timedelta(hours=3)  # past GL_CLOSE's deadline
        await slack.publisher.publish(report(risk(0.6)))
        (closed,) = slack.mock.of("chat.update")
        assert closed["ts"] == _ts_of(slack, slow_alert)
        assert "Closed: PAYROLL_EXTRACT is running long" in shown(closed)
        assert "back within its usual range" in shown(closed)
        assert "watch.ack" not in buttons(closed)
        await slack.publisher.publish(report(as_of=later))
        missed = slack.mock.of("chat.update")[-1]
        assert missed["ts"] == _ts_of(slack, risk_alert)
        assert "missed at 01:00 UTC" in shown(missed)
        assert [r["outcome"] for r in slack.audit.actions("watch.alert_close")] == [
            "closed",
            "closed",
        ]
        # The same condition coming back is a new alert.
        await slack.publisher.publish(report(slow()))
        assert len(slack.mock.top_level()) == 3


async def test_over_the_hourly_rate_one_digest_sums_up_the_rest(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path, per_hour=2) as slack:
        names = [f"JOB_{i}" for i in range(5)]
        findings = [slow(n, job_id=f"J{i}") for i, n in enumerate(names)]
        await slack.publisher.publish(report(*findings))
        posts = slack.mock.top_level()
        assert len(posts) == 3  # two alerts and one digest
        digest = posts[2]
        assert "3 more alert(s)" in shown(digest)
        assert all(f"{n} is running long" in shown(digest) for n in names[2:])
        more = [*findings, slow("JOB_5", job_id="J5")]
        await slack.publisher.publish(report(*more))
        assert len(slack.mock.top_level()) == 3  # still one digest, updated in place
        (update,) = slack.mock.of("chat.update")
        assert update["ts"] == _ts_of(slack, digest)
        assert "4 more alert(s)" in shown(update)
        assert [r["outcome"] for r in slack.audit.actions("watch.digest")] == [
            "posted",
            "updated",
        ]
        # An hour later two held ones get their own cards; a new digest lists the rest.
        slack.clock.now = AS_OF + timedelta(hours=1, minutes=1)
        await slack.publisher.publish(report(*more))
        later = slack.mock.top_level()[3:]
        assert ["JOB_2 is running long" in shown(later[0]), "JOB_3" in shown(later[1])] == [
            True,
            True,
        ]
        (digest_2,) = later[2:]
        assert "2 more alert(s)" in shown(digest_2)
        assert "JOB_4 is running long" in shown(digest_2)
        assert "JOB_2 is running long" not in shown(digest_2)


async def test_a_paused_watch_says_so_once_and_once_that_it_resumed(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.paused("engine unreachable")
        await slack.publisher.paused("engine unreachable")
        await slack.publisher.resumed()
        await slack.publisher.resumed()
        texts_ = [shown(p) for p in slack.mock.top_level()]
        assert len(texts_) == 2
        assert "Watch paused: engine unreachable" in texts_[0]
        assert "Watch resumed" in texts_[1]
        assert [r["action"] for r in slack.audit.records if r["action"].startswith("watch.")] == [
            "watch.paused",
            "watch.resumed",
        ]


async def test_a_paused_report_is_no_all_clear(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow()))
        blind = WatchReport(as_of=AS_OF, plan_date=PLAN, paused="engine unreachable")
        await slack.publisher.publish(blind)
        assert slack.mock.of("chat.update") == []  # the open alert stays open
        (_, notice) = slack.mock.top_level()
        assert "Watch paused: engine unreachable" in shown(notice)
        await slack.publisher.resumed()
        await slack.publisher.publish(report())
        (closed,) = slack.mock.of("chat.update")
        assert "Closed: PAYROLL_EXTRACT is running long" in shown(closed)


async def test_a_click_from_another_channel_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow()))
        ts = _ts_of(slack, slack.mock.top_level()[0])
        for action in ("watch.ack", "watch.snooze_hour", "watch.rerun", "watch.declare"):
            await slack.click(action, KEY, ts=ts, channel="COTHER")
        notes = [shown(n) for n in slack.mock.of("chat.postEphemeral")]
        assert ["another channel" in n for n in notes] == [True] * 4
        assert slack.mock.of("chat.update") == []
        assert [p for p in slack.mock.posts() if p.get("thread_ts") == ts] == []
        assert await slack.incidents.list_open() == []
        for action in ("watch.ack", "watch.snooze", "runbook.request", "incident.declare"):
            assert slack.audit.actions(action) == []
        # In its own channel the alert is still unacknowledged: the ack works there.
        await slack.click("watch.ack", KEY, ts=ts)
        assert "Acknowledged by Person U1" in shown(slack.mock.of("chat.update")[-1])


async def test_rerun_and_declare_on_a_closed_alert_are_refused(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(slow()))
        ts = _ts_of(slack, slack.mock.top_level()[0])
        await slack.publisher.publish(report())  # the condition ended: the alert closes
        await slack.click("watch.rerun", KEY, ts=ts)
        await slack.click("watch.declare", KEY, ts=ts)
        notes = [shown(n) for n in slack.mock.of("chat.postEphemeral")]
        assert ["This alert is closed" in n for n in notes] == [True] * 2
        assert slack.audit.actions("runbook.request") == []
        assert await slack.incidents.list_open() == []


async def test_deadline_card_ignores_countdowns_and_one_missing_cycle(tmp_path: Path) -> None:
    async with slack_alerts(tmp_path) as slack:
        await slack.publisher.publish(report(risk(0.70, eta_min=95, lead_min=120)))
        for _ in range(2):  # dipping under the threshold once, twice: not closed
            await slack.publisher.publish(report(risk(0.71, eta_min=97, lead_min=115)))
            await slack.publisher.publish(report())
        assert (len(slack.mock.top_level()), slack.mock.of("chat.update")) == (1, [])
        await slack.publisher.publish(report(risk(0.76, eta_min=97, lead_min=110)))
        assert "76%" in shown(slack.mock.of("chat.update")[-1])
        await slack.publisher.publish(report())
        await slack.publisher.publish(report())  # missing twice in a row: closed
        assert "Closed" in shown(slack.mock.of("chat.update")[-1])
        assert len(slack.mock.of("chat.update")) == 2
