"""The pieces of alerts on their own: the noise rules, charts, cards, snooze ends, close notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import structlog
from slack_support import assert_valid_blocks
from teams_support import assert_valid_card

from agents.messages import Image, Platform
from agents.watch.alert_state import (
    AlertState,
    AlertStatus,
    Attention,
    FindingView,
    Shown,
    Step,
    next_step,
)
from agents.watch.alerts import AlertBook
from agents.watch.model import ChartData, Finding, FindingKind, Severity, WatchReport
from bot.render_text import render_text
from bot.slack.blocks import render_reply
from bot.teams.cards import render_card
from bot.watch import render
from bot.watch.charts import CHART_MAX_BYTES, render_chart
from bot.watch.clicks import WatchClicks
from bot.watch.publisher import AlertPublisher
from bot.watch.wiring import build_watch_alerts
from config.settings import Settings
from integrations.store import MemoryStore

NOW = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UTC_ZONE = ZoneInfo("UTC")


def view(**changes: object) -> FindingView:
    base = Finding(
        kind=FindingKind.DEADLINE_RISK,
        object_id="J-GL",
        object_name="FINANCE.GL_CLOSE",
        plan_date=date(2026, 11, 23),
        severity=Severity.WARNING,
        headline="GL_CLOSE may miss its 01:00 deadline",
        explanation="55% chance to end after 01:00",
        probability=0.55,
        deadline=NOW + timedelta(hours=2),
        job_id="J-GL",
    )
    return FindingView.of(base).model_copy(update=changes)


def open_state(shown: FindingView, **changes: object) -> AlertState:
    state = AlertState(
        platform="slack",
        channel="C1",
        status=AlertStatus.OPEN,
        view=shown,
        message=Shown(channel="C1", message_id="1.1", thread="1.1"),
        fingerprint=shown.fingerprint,
    )
    return state.model_copy(update=changes)


def test_a_new_or_closed_finding_opens_an_alert() -> None:
    assert next_step(None, view(), Attention(), now=NOW) is Step.OPEN
    closed = open_state(view(), status=AlertStatus.CLOSED)
    assert next_step(closed, view(), Attention(), now=NOW) is Step.OPEN


def test_noise_in_the_forecast_does_not_rewrite_the_card() -> None:
    state = open_state(view())
    assert next_step(state, view(probability=0.552), Attention(), now=NOW) is Step.QUIET
    assert next_step(state, view(probability=0.58), Attention(), now=NOW) is Step.UPDATE


def test_turning_critical_escalates_once_unless_acknowledged() -> None:
    state = open_state(view())
    critical = view(severity=Severity.CRITICAL)
    assert next_step(state, critical, Attention(), now=NOW) is Step.ESCALATE
    acked = Attention(acked_by="ana", acked_at=NOW)
    assert next_step(state, critical, acked, now=NOW) is Step.UPDATE
    already = open_state(critical)
    assert next_step(already, critical, Attention(), now=NOW) is Step.QUIET


def test_a_snooze_keeps_quiet_then_reminds_once() -> None:
    state = open_state(view())
    until = NOW + timedelta(hours=1)
    snoozed = Attention(snoozed_until=until, snoozed_by="bob")
    assert next_step(state, view(probability=0.9), snoozed, now=NOW) is Step.QUIET
    later = until + timedelta(minutes=1)
    assert next_step(state, view(), snoozed, now=later) is Step.REMIND
    reminded = state.model_copy(update={"reminded_until": until})
    assert next_step(reminded, view(), snoozed, now=later) is Step.QUIET


@pytest.mark.parametrize(
    "data",
    [
        ChartData(
            kind="durations",
            title="PAYROLL_EXTRACT minutes " * 5,
            history=tuple((date(2026, 10, 1) + timedelta(days=i), 10.0 + i) for i in range(60)),
            band=(12, 30),
            tonight=95,
        ),
        ChartData(
            kind="forecast",
            title="GL_CLOSE end",
            samples=tuple(float(i % 240) for i in range(100_000)),
            deadline=200,
            origin=NOW,
        ),
    ],
)
def test_charts_are_small_pngs(data: ChartData) -> None:
    png = render_chart(data)
    assert png is not None
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) <= CHART_MAX_BYTES


def test_no_numbers_no_chart() -> None:
    assert render_chart(ChartData(kind="durations", title="x")) is None
    assert render_chart(ChartData(kind="forecast", title="x", deadline=3)) is None
    assert render_chart(ChartData(kind="pie", title="x", samples=(1.0,))) is None


def test_the_card_renders_on_every_surface_with_its_chart_where_it_can() -> None:
    png = render_chart(ChartData(kind="forecast", title="t", samples=(1.0, 2.0, 3.0), deadline=2))
    assert png is not None
    chart = Image.of(png, alt="").data
    reply = render.alert_reply(
        view(headline="<!here> *GL_CLOSE*"),
        attention=Attention(acked_by="ana", acked_at=NOW),
        chart=chart,
        as_of=NOW,
        now=NOW,
        zone=UTC_ZONE,
    )
    card = render_card(reply).card
    assert_valid_card(card)
    (image,) = [e for e in card["body"] if e["type"] == "Image"]
    assert image["url"] == "data:image/png;base64," + chart
    slack = render_reply(reply)
    assert_valid_blocks(slack.blocks)
    assert "image" not in {b["type"] for b in slack.blocks}  # uploaded instead
    assert "<!here>" not in str(slack.blocks)
    text = render_text(reply)
    assert "  [chart: <!here> *GL_CLOSE*]" in text.splitlines()
    assert "Acknowledged by ana at 23:00 UTC" in text
    labels = [b.label for block in reply.blocks if hasattr(block, "buttons") for b in block.buttons]
    assert "Acknowledge" not in labels  # already acknowledged
    assert {"Snooze 1 h", "Why?", "Request rerun", "Declare incident"} <= set(labels)


def test_image_blocks_survive_json() -> None:
    image = Image.of(b"\x89PNG\x00\xff", alt="a chart")
    again = Image.model_validate_json(image.model_dump_json())
    assert again.png == b"\x89PNG\x00\xff"


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # 23:30 in Rome (22:30 UTC): tomorrow 08:00 Rome = 07:00 UTC.
        (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "Europe/Rome", datetime(2026, 11, 24, 7, 0)),
        # 00:30 in Rome (23:30 UTC the day before) is already the next day there.
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "Europe/Rome", datetime(2026, 11, 25, 7, 0)),
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "UTC", datetime(2026, 11, 24, 8, 0)),
    ],
)
def test_snooze_until_tomorrow_means_08_00_local(
    now: datetime, zone: str, expected: datetime
) -> None:
    publisher = AlertPublisher(
        book=AlertBook(MemoryStore()), channels={}, per_hour=5, zone=ZoneInfo(zone), audit=None
    )
    clicks = WatchClicks(publisher=publisher, audit=None, runbooks=None, incidents=None)
    assert clicks.snooze_end(render.SNOOZE_TOMORROW, now) == expected.replace(tzinfo=UTC)
    assert clicks.snooze_end(render.SNOOZE_HOUR, now) == now + timedelta(hours=1)


def test_close_notes_say_why() -> None:
    risk = view()
    before = NOW + timedelta(hours=1)
    after = NOW + timedelta(hours=3)
    assert render.closed_note(risk, as_of=before, zone=UTC_ZONE).startswith("finished on time")
    assert render.closed_note(risk, as_of=after, zone=UTC_ZONE) == "missed at 01:00 UTC"
    failed = view(kind=FindingKind.FAILURE)
    assert render.closed_note(failed, as_of=after, zone=UTC_ZONE) == "recovered as of 02:00 UTC"


async def test_ack_is_shared_and_the_first_one_stays() -> None:
    store = MemoryStore()
    one, two = AlertBook(store, clock=lambda: NOW), AlertBook(store, clock=lambda: NOW)
    (first, took), (second, took_too) = await one.ack("k", by="ana"), await two.ack("k", by="bob")
    assert (first.acked_by, took, second.acked_by, took_too) == ("ana", True, "ana", False)
    assert (await two.attention("k")).acked_by == "ana"


class _SlackOnly:
    """A port that only says which platform it is: anything posted through it would fail."""

    platform = Platform.SLACK


async def test_a_platform_without_an_alerts_channel_gets_no_alerts() -> None:
    alerts = build_watch_alerts(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        store=MemoryStore(),
        audit=None,  # type: ignore[arg-type]
        runbooks=None,
        incidents=None,
    )
    with structlog.testing.capture_logs() as logs:
        alerts.attach(_SlackOnly())  # type: ignore[arg-type]
        finding = Finding(
            kind=FindingKind.WORKSTATION,
            object_id="AGT_LNX02",
            object_name="AGT_LNX02",
            plan_date=date(2026, 11, 23),
            severity=Severity.CRITICAL,
            headline="AGT_LNX02 is unlinked",
            explanation="12 jobs wait for it",
        )
        await alerts.publisher.publish(
            WatchReport(as_of=NOW, plan_date=date(2026, 11, 23), findings=(finding,))
        )
        await alerts.publisher.paused("engine unreachable")
    (off,) = [e for e in logs if e["event"] == "watch.alerts_off"]
    assert off["hint"] == "set RESYNC_ALERTS_SLACK_CHANNEL"
