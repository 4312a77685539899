"""Incident settings, policy and pager from settings, `open_incidents` and `run_upkeep`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from chat_incident_support import ChannelSlack, click, slack_actor
from slack_support import EchoAsker, RecordingAudit, serve

from agents.incidents import RecoveryReport
from agents.messages import Platform
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.incidents.wiring import build_pager, incident_policy, open_incidents, run_upkeep
from config.settings import ConfigurationError, load_settings
from integrations.pager import PagerDutyPager, WebhookPager
from integrations.store import MemoryStore


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("RESYNC_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_incident_settings_are_checked_all_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            incidents_slack_channel="#incidents",
            incidents_teams_channel="19:abc@thread.tacv2;messageid=1",
            incident_channel_template="inc-{when}-{slug}",
            incident_id_prefix="inc",
            pager_webhook_url="https://user:pw@hooks.example.com/page",
        )
    text = str(caught.value)
    for name in (
        "RESYNC_INCIDENTS_SLACK_CHANNEL",
        "RESYNC_INCIDENTS_TEAMS_CHANNEL",
        "RESYNC_INCIDENT_CHANNEL_TEMPLATE",
        "RESYNC_INCIDENT_ID_PREFIX",
        "RESYNC_PAGER_WEBHOOK_URL",
    ):
        assert name in text, text
    assert "pw@" not in text
    with pytest.raises(ConfigurationError, match="set one of them, not both"):
        load_settings(pagerduty_routing_key="r" * 32, pager_webhook_url="https://h.example.com")
    with pytest.raises(ConfigurationError, match="RESYNC_PAGER_WEBHOOK_URL"):
        load_settings(pager_webhook_secret="s")
    with pytest.raises(ConfigurationError, match="RESYNC_INCIDENT_POLICY_FILE"):
        load_settings(incident_policy_file=tmp_path / "missing.yaml")


def test_secrets_are_masked_and_the_pager_follows_the_settings() -> None:
    settings = load_settings(pagerduty_routing_key="routing-key-1234567890")
    assert settings.describe()["RESYNC_PAGERDUTY_ROUTING_KEY"] == "********"
    assert isinstance(build_pager(settings), PagerDutyPager)
    hook = load_settings(pager_webhook_url="https://hooks.example.com/p", pager_webhook_secret="s")
    assert isinstance(build_pager(hook), WebhookPager)
    assert build_pager(load_settings()) is None
    assert load_settings(incident_manager_groups=" a, ,b ").incident_manager_group_names == (
        "a",
        "b",
    )


def test_policy_file_and_explicit_settings(tmp_path: Path) -> None:
    assert incident_policy(load_settings()).manager_groups == ("incident-managers",)
    path = tmp_path / "policy.yaml"
    path.write_text("id_prefix: OPS\nlease_seconds: 10\nmanager_groups: [duty]\n", encoding="utf-8")
    from_file = incident_policy(load_settings(incident_policy_file=path))
    assert (from_file.id_prefix, from_file.lease_seconds, from_file.manager_groups) == (
        "OPS",
        10.0,
        ("duty",),
    )
    overridden = incident_policy(load_settings(incident_policy_file=path, incident_id_prefix="SEC"))
    assert (overridden.id_prefix, overridden.lease_seconds) == ("SEC", 10.0)
    path.write_text("default_severity: SEV9\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown severity 'SEV9'"):
        incident_policy(load_settings(incident_policy_file=path))


class _TeamsPort:
    platform = Platform.TEAMS


async def test_open_incidents_wires_rooms_clicks_and_teams(tmp_path: Path) -> None:
    mock = ChannelSlack()
    async with serve(mock.app()) as url:
        mock.url = url
        settings = load_settings(
            data_dir=tmp_path,
            slack_bot_token="xoxb-test",
            slack_api_url=url + "/api",
            incidents_slack_channel="CANNOUNCE",
            incidents_teams_channel="19:inc@thread.tacv2",
        )
        store, audit = MemoryStore(), RecordingAudit()
        core = ChatCore(
            dispatcher=Dispatcher(assistant=EchoAsker(), audit=audit), store=store, audit=audit
        )
        async with open_incidents(
            settings=settings,
            store=store,
            audit=audit,
            scheduler=None,
            groups=None,
            directory=None,
            core=core,
        ) as incidents:
            assert incidents.rooms.platforms == ("slack",)
            assert incidents.pager is None
            outcome = await core.dispatcher.handle_click(click(slack_actor("ana"), decision="d1"))
            assert outcome.reply_for_clicker is None  # whispered with the channel's link
            [incident] = await incidents.service.list_open()
            assert incident.id.startswith("INC-")
            assert incident.id.endswith("-0001")
            assert incident.title == "PAYROLL_EXTRACT failed"  # the agent side's declaration
            assert [link.name for link in incident.links] == ["PAYROLL_EXTRACT"]
            assert len(mock.of("conversations.create")) == 1
            assert [p["channel"] for p in mock.of("chat.postMessage")][-1] == "CANNOUNCE"

            incidents.attach(_TeamsPort())  # type: ignore[arg-type]
            assert incidents.rooms.platforms == ("slack", "teams")
        assert (tmp_path / "incidents.db").is_file()


class _Service:
    def __init__(self) -> None:
        self.recovered = 0
        self.reminded = 0

    async def recover(self) -> RecoveryReport:
        self.recovered += 1
        if self.recovered == 1:
            raise RuntimeError("database is locked")
        return RecoveryReport(driven=("INC-1",), refreshed=())

    async def remind(self) -> list[Any]:
        self.reminded += 1
        return []


async def test_upkeep_goes_on_after_a_failing_round() -> None:
    service = _Service()
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(run_upkeep(service, interval_seconds=0.01))  # type: ignore[arg-type]
        while service.recovered < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    events = [entry["event"] for entry in logs]
    assert events.count("incidents.recover_failed") == 1
    assert "incidents.recovered" in events
    assert service.reminded >= 2
