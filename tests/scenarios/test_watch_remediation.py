"""Auto-remediation end to end: the real scanner on the simulator over HTTP finds the failures,
the alert publisher posts them to a mock Slack Web API, and the rules request the runbook
through the real runbook service, approved by the rule, run on the simulator.

The normal scenario at 23:00 has BILLING_USAGE.BILLING_CDR_DEDUP abended with ``ORA-00060``
(deadlock) in its log and PAYROLL_DAILY.PAYROLL_EXTRACT with ``ORA-01555``; the rules below
match the first one only. Reruns are read back from the simulator's API.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog
from slack_sdk.web.async_client import AsyncWebClient

_TESTS = Path(__file__).resolve().parents[1]
for _kit in ("bot", "bot/slack", "bot/teams"):
    if str(_TESTS / _kit) not in sys.path:
        sys.path.append(str(_TESTS / _kit))

from runbook_stack import Stack, redis_store, runbook_stack  # noqa: E402
from slack_support import EchoAsker, serve  # noqa: E402
from teams_support import CHANNEL, installed, running_bot  # noqa: E402
from watch_alerts_support import ALERTS, UploadSlack  # noqa: E402

from agents.runbooks.policy import ApprovalGroups  # noqa: E402
from agents.watch.model import Finding, FindingKind, WatchReport  # noqa: E402
from agents.watch.scan import Scanner  # noqa: E402
from bot.core.conversation import ChatCore  # noqa: E402
from bot.core.dispatcher import Dispatcher  # noqa: E402
from bot.progress import ProgressRouter  # noqa: E402
from bot.slack.port import SlackPort  # noqa: E402
from bot.slack.poster import SlackPoster  # noqa: E402
from bot.watch.publisher import AlertPublisher  # noqa: E402
from bot.watch.remediation import RemediatingPublisher  # noqa: E402
from bot.watch.wiring import build_watch_alerts  # noqa: E402
from config.settings import Settings  # noqa: E402
from integrations.store import Store  # noqa: E402

DEADLOCKED = "BILLING_USAGE.BILLING_CDR_DEDUP"
SNAPSHOT = "PAYROLL_DAILY.PAYROLL_EXTRACT"
MEMBERS = ["approver1@example.com", "ops.lead@example.com"]


def rules_file(tmp_path: Path, *rules: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n" + "".join(rules), encoding="utf-8")
    return path


def rule(name: str, job: str, error: str, runbook: str, attempts: int = 1) -> str:
    return (
        f"  - name: {name}\n    job: {job!r}\n    error: {error!r}\n"
        f"    runbook: {runbook}\n    attempts_per_night: {attempts}\n"
    )


DEADLOCK_RULE = rule("billing-deadlock", "BILLING_USAGE.*", "ORA-00060", "rerun-abended-job")


def policy() -> ApprovalGroups:
    """The shipped policy's shape: rules may approve rerun-abended-job, nothing else."""
    return ApprovalGroups(
        {"tws-operators": MEMBERS, "tws-admins": MEMBERS},
        rules_may_grant=["rerun-abended-job"],
    )


async def failures(stack: Stack) -> WatchReport:
    """One real watch cycle on the simulator, its failures only (no charts to draw)."""
    scanner = Scanner(stack.client, risk_threshold=0.5, samples=200, zone=ZoneInfo("UTC"))
    report = await scanner.cycle()
    assert report.paused is None
    found = tuple(f for f in report.findings if f.kind is FindingKind.FAILURE)
    assert {f.object_name for f in found} >= {DEADLOCKED, SNAPSHOT}
    return replace(report, findings=found)


def failure_of(report: WatchReport, name: str) -> Finding:
    return next(f for f in report.findings if f.object_name == name)


async def reruns(stack: Stack, qualified: str) -> int:
    stream, name = qualified.split(".")
    found = (await stack.client.query_jobs(name=name, job_stream=stream)).value
    return next(j.rerun_count for j in found if j.job_stream_name == stream)


@dataclass
class Chat:
    """One replica's chat side: its Slack port, core and alert publisher."""

    publisher: AlertPublisher
    progress: ProgressRouter


async def replica_chat(
    stack: Stack, mock: UploadSlack, store: Store, *, rules: Path | None, exits: AsyncExitStack
) -> Chat:
    """A replica's runbook service, Slack port, core and publisher, on ``store``."""
    client = AsyncWebClient(token="xoxb-test-token", base_url=mock.url + "/api/")
    port = SlackPort(poster=SlackPoster(client=client), client=client)
    core = ChatCore(
        dispatcher=Dispatcher(assistant=EchoAsker(), audit=stack.audit),
        store=store,
        audit=stack.audit,
    )
    exits.push_async_callback(core.tasks.stop)
    progress = ProgressRouter()
    progress.use(core)
    progress.register(port)
    service = stack.replica(progress=progress, store=store)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        alerts_slack_channel=ALERTS,
        alerts_per_hour=100,
        watch_rules_file=rules,
    )
    alerts = build_watch_alerts(
        settings=settings,
        store=store,
        audit=stack.audit,  # type: ignore[arg-type]
        runbooks=service,
        incidents=None,
        ports={"slack": port},
    )
    assert isinstance(alerts.publisher, AlertPublisher)
    return Chat(alerts.publisher, progress)


@dataclass
class World:
    stack: Stack
    mock: UploadSlack
    chat: Chat
    report: WatchReport

    def alert(self, name: str) -> dict[str, object]:
        """The alert posted about job ``name``."""
        (alert,) = [p for p in self.mock.top_level() if name.split(".")[1] in str(p["text"])]
        return alert

    def thread(self, name: str) -> list[str]:
        """Headlines posted in the alert thread of job ``name``, in order."""
        alert = self.alert(name)
        return [str(p.get("text")) for p in self.mock.posts() if p.get("thread_ts") == alert["_ts"]]

    def said(self) -> list[str]:
        """Every auto-remediation line posted anywhere."""
        return [
            str(p.get("text"))
            for p in self.mock.posts()
            if str(p.get("text")).startswith("Auto-remediation")
        ]


@asynccontextmanager
async def world(tmp_path: Path, *rules: str, enabled: bool = True) -> AsyncIterator[World]:
    mock = UploadSlack()
    async with (
        runbook_stack(groups=policy()) as stack,
        serve(mock.app()) as mock_url,
        AsyncExitStack() as exits,
    ):
        mock.url = mock_url
        path = rules_file(tmp_path, *rules) if enabled else None
        chat = await replica_chat(stack, mock, stack.store, rules=path, exits=exits)
        yield World(stack, mock, chat, await failures(stack))


async def test_a_matching_failure_is_rerun_once_announced_in_the_alert_thread(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, DEADLOCK_RULE) as w:
        assert isinstance(w.chat.publisher, RemediatingPublisher)
        before = await reruns(w.stack, DEADLOCKED)
        untouched = await reruns(w.stack, SNAPSHOT)
        await w.chat.publisher.publish(w.report)
        assert await reruns(w.stack, DEADLOCKED) == before + 1
        assert await reruns(w.stack, SNAPSHOT) == untouched  # ORA-01555: no rule matches
        thread = w.thread(DEADLOCKED)
        announced = (
            f"Auto-remediation: rule billing-deadlock requested rerun-abended-job for "
            f"{DEADLOCKED} (attempt 1 of 1)"
        )
        assert thread[0] == announced, thread
        assert len(thread) > 1  # the runbook's own progress and outcome follow it
        assert any("rerun" in line.lower() for line in thread[1:])
        assert w.said() == [announced]
        assert not any(line.startswith("Auto") for line in w.thread(SNAPSHOT))
        audit = w.stack.audit
        (requested,) = audit.actions("runbook.request")
        assert requested["actor_identity"] == "slack:resync"
        assert requested["thread"] == w.alert(DEADLOCKED)["_ts"]
        (approved,) = audit.actions("runbook.approve")
        assert approved["outcome"] == "approved"
        assert approved["actor_identity"] == "rule:billing-deadlock"
        assert approved["parameters"]["job"] == DEADLOCKED
        assert approved["parameters"]["attempt"] == 1
        (told,) = audit.actions("watch.remediation")
        assert told["outcome"] == "requested"
        assert told["parameters"]["rule"] == "billing-deadlock"
        calls = [r for r in audit.actions("runbook.tws_call") if r["outcome"] == "intent"]
        assert [c["parameters"]["approvers"] for c in calls] == [["rule:billing-deadlock"]]
        # The next cycles still show the failure: nothing more is requested or said.
        for _ in range(2):
            await w.chat.publisher.publish(w.report)
        assert await reruns(w.stack, DEADLOCKED) == before + 1
        assert len(audit.actions("runbook.request")) == 1
        assert w.said() == [announced]


async def test_the_attempt_limit_per_night_holds(tmp_path: Path) -> None:
    async with world(tmp_path, DEADLOCK_RULE) as w:
        before = await reruns(w.stack, DEADLOCKED)
        await w.chat.publisher.publish(w.report)
        # The rerun ended ABEND again: a new run of the same job, the same night.
        again = replace(failure_of(w.report, DEADLOCKED), run_id="second-run")
        await w.chat.publisher.publish(replace(w.report, findings=(again,)))
        assert await reruns(w.stack, DEADLOCKED) == before + 1
        assert len(w.stack.audit.actions("runbook.request")) == 1
        limit = w.said()[-1]
        assert limit.startswith("Auto-remediation: rule billing-deadlock did not request")
        assert "1 attempt(s) for tonight are used up" in limit
        assert [r["outcome"] for r in w.stack.audit.actions("watch.remediation")] == [
            "requested",
            "limit",
        ]


async def test_a_request_the_live_plan_rules_out_is_refused_and_said(tmp_path: Path) -> None:
    two = rule("billing-deadlock", "BILLING_USAGE.*", "ORA-00060", "rerun-abended-job", 2)
    async with world(tmp_path, two) as w:
        before = await reruns(w.stack, DEADLOCKED)
        await w.chat.publisher.publish(w.report)
        # A second failure run shows up, but the plan says the job is no longer ABEND.
        again = replace(failure_of(w.report, DEADLOCKED), run_id="second-run")
        await w.chat.publisher.publish(replace(w.report, findings=(again,)))
        assert await reruns(w.stack, DEADLOCKED) == before + 1
        refused = w.said()[-1]
        assert refused.startswith(
            "Auto-remediation: rule billing-deadlock could not request rerun-abended-job"
        )
        assert "does not apply right now" in refused
        outcomes = [r["outcome"] for r in w.stack.audit.actions("runbook.request")]
        assert outcomes == ["pending", "invalid"]
        assert len(w.stack.audit.actions("runbook.approve")) == 1


@pytest.mark.parametrize("enabled", [True, False], ids=["no-rule-matches", "rules-off"])
async def test_no_matching_rule_or_no_rules_file_requests_nothing(
    tmp_path: Path, enabled: bool
) -> None:
    other = rule("other-error", "*", "ORA-99999", "rerun-abended-job")
    async with world(tmp_path, other, enabled=enabled) as w:
        assert isinstance(w.chat.publisher, RemediatingPublisher) is enabled
        counts = [await reruns(w.stack, name) for name in (DEADLOCKED, SNAPSHOT)]
        await w.chat.publisher.publish(w.report)
        assert len(w.mock.top_level()) == len(w.report.findings)  # the alerts went out
        assert [await reruns(w.stack, name) for name in (DEADLOCKED, SNAPSHOT)] == counts
        assert w.said() == []
        for action in ("runbook.request", "runbook.approve", "watch.remediation"):
            assert w.stack.audit.actions(action) == []


async def test_a_runbook_the_policy_forbids_is_refused_logged_and_said(tmp_path: Path) -> None:
    unlisted = rule("billing-chain", "BILLING_USAGE.*", "ORA-00060", "restart-failed-chain")
    high_risk = rule("payroll-cancel", "PAYROLL_DAILY.*", "ORA-01555", "cancel-job")
    async with world(tmp_path, unlisted, high_risk) as w:
        counts = [await reruns(w.stack, name) for name in (DEADLOCKED, SNAPSHOT)]
        with structlog.testing.capture_logs() as logs:
            await w.chat.publisher.publish(w.report)
        assert [await reruns(w.stack, name) for name in (DEADLOCKED, SNAPSHOT)] == counts
        said = sorted(w.said())
        assert len(said) == 2
        assert said[0].startswith(
            f"Auto-remediation: rule billing-chain could not request restart-failed-chain "
            f"for {DEADLOCKED}: the approval policy does not let rules approve"
        )
        assert said[1].startswith(
            f"Auto-remediation: rule payroll-cancel could not request cancel-job for {SNAPSHOT}"
        )
        assert "high-risk runbook: only people may approve it" in said[1]
        assert w.thread(DEADLOCKED)[0] == said[0]  # in the alert's own thread
        refusals = [e for e in logs if e["event"] == "runbook.rule_refused"]
        assert sorted(e["rule"] for e in refusals) == ["billing-chain", "payroll-cancel"]
        audit = w.stack.audit
        assert audit.actions("runbook.request") == []
        approvals = audit.actions("runbook.approve")
        assert sorted(r["outcome"] for r in approvals) == ["refused", "refused"]
        assert {r["actor_identity"] for r in approvals} == {
            "rule:billing-chain",
            "rule:payroll-cancel",
        }
        outcomes = [r["outcome"] for r in audit.actions("watch.remediation")]
        assert outcomes == ["refused", "refused"]
        # Refused by policy: no attempt was spent, and the next cycle says nothing again.
        await w.chat.publisher.publish(w.report)
        assert len(w.said()) == 2


async def test_an_engine_outage_on_the_way_is_said_and_nothing_runs(tmp_path: Path) -> None:
    async with world(tmp_path, DEADLOCK_RULE) as w:
        await w.stack.sim.stop()  # the report was read; the engine is gone when the rule asks
        await w.chat.publisher.publish(w.report)
        (said,) = w.said()
        assert said.startswith(
            "Auto-remediation: rule billing-deadlock could not request rerun-abended-job"
        )
        assert said.endswith("connection refused; a person must look")
        assert w.thread(DEADLOCKED) == [said]
        assert w.stack.audit.actions("runbook.request") == []
        (told,) = w.stack.audit.actions("watch.remediation")
        assert told["outcome"] == "failed"
        assert told["parameters"]["posted"] is True


@pytest.mark.redis
async def test_three_replicas_on_redis_request_and_run_once(tmp_path: Path) -> None:
    prefix = f"test-remedy-{uuid.uuid4().hex}:"
    stores = [await redis_store(prefix) for _ in range(3)]
    mock = UploadSlack()
    path = rules_file(tmp_path, DEADLOCK_RULE)
    try:
        async with (
            runbook_stack(groups=policy(), store=stores[0]) as stack,
            serve(mock.app()) as mock_url,
            AsyncExitStack() as exits,
        ):
            mock.url = mock_url
            chats = [
                await replica_chat(stack, mock, store, rules=path, exits=exits) for store in stores
            ]
            report = await failures(stack)
            before = await reruns(stack, DEADLOCKED)
            for _round in range(10):  # ten cycles, every replica publishing each one
                await asyncio.gather(*(c.publisher.publish(report) for c in chats))
            assert await reruns(stack, DEADLOCKED) == before + 1
            assert len(stack.audit.actions("runbook.request")) == 1
            assert len(stack.audit.actions("runbook.approve")) == 1
            said = [p for p in mock.posts() if str(p.get("text")).startswith("Auto-rem")]
            assert len(said) == 1
            alerts = [p for p in mock.top_level() if DEADLOCKED.split(".")[1] in str(p["text"])]
            assert len(alerts) == 1
            assert said[0]["thread_ts"] == alerts[0]["_ts"]
    finally:
        for store in stores:
            await store.close()


async def test_in_teams_the_rule_speaks_in_the_alert_thread(tmp_path: Path) -> None:
    path = rules_file(tmp_path, DEADLOCK_RULE)
    async with runbook_stack(groups=policy()) as stack, running_bot() as bot:
        assert (await bot.post(installed(bot.connector.url))).status == 200
        progress = ProgressRouter()
        progress.use(bot.core)
        progress.register(bot.surface.port)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, alerts_teams_channel=CHANNEL, watch_rules_file=path
        )
        alerts = build_watch_alerts(
            settings=settings,
            store=bot.store,
            audit=bot.audit,  # type: ignore[arg-type]
            runbooks=stack.replica(progress=progress, store=bot.store),
            incidents=None,
        )
        alerts.attach(bot.surface.port)
        assert isinstance(alerts.publisher, RemediatingPublisher)
        report = await failures(stack)
        before = await reruns(stack, DEADLOCKED)
        await alerts.publisher.publish(report)
        assert await reruns(stack, DEADLOCKED) == before + 1
        state = await alerts.publisher.book.get("teams", failure_of(report, DEADLOCKED).key)
        assert state is not None
        assert state.message is not None
        thread = f";messageid={state.message.thread or state.message.message_id}"
        replies = [
            json.dumps(c.body)
            for c in bot.connector.activities("POST")
            if (c.conversation_id or "").endswith(thread)
        ]
        assert "Auto-remediation: rule billing-deadlock requested rerun-abended-job" in replies[0]
        assert len(replies) > 1  # the run's progress follows in the same thread
        assert "rerun-abended-job: done" in replies[-1]
        (told,) = bot.audit.of("watch.remediation")
        assert told["platform"] == "teams"
