"""Wiring the auto-remediation rules into the alert publisher, and what the thread is told.

End to end (simulator, mock Slack, fake Teams, Redis replicas):
tests/scenarios/test_watch_remediation.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import structlog
from langgraph.checkpoint.memory import InMemorySaver

from agents.runbooks.catalog import load_catalog
from agents.runbooks.policy import ApprovalGroups
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from agents.watch.model import Finding, FindingKind, Severity
from agents.watch.remediation import Remedy, RemedyOutcome
from agents.watch.rules import Rule
from bot.watch.publisher import AlertPublisher
from bot.watch.remediation import RemediatingPublisher, remedy_reply
from bot.watch.wiring import build_watch_alerts
from config.settings import ConfigurationError, Settings
from integrations.store import MemoryStore, StoreError
from integrations.tws.client import TWSClient

RULE = Rule(name="deadlock", job="*", error="ORA-00060", runbook="rerun-abended-job")
FAILURE = Finding(
    kind=FindingKind.FAILURE,
    object_id="J1",
    object_name="PAYROLL_DAILY.PAYROLL_EXTRACT",
    plan_date=date(2026, 11, 23),
    severity=Severity.CRITICAL,
    headline="PAYROLL_EXTRACT abended",
    explanation="ORA-00060: deadlock detected",
    job_id="J1",
    run_id="r1",
)


def service(groups: ApprovalGroups) -> RunbookService:
    # Nothing here reaches the engine: the client is never called.
    return RunbookService(
        catalog=load_catalog([]),
        groups=groups,
        scheduler=TWSClient(base_url="http://127.0.0.1:9", api_key="k", retries=0),
        store=MemoryStore(),
        checkpointer=InMemorySaver(),
        signer=ButtonSigner(b"wiring-test-key-0123456789"),
    )


def settings(rules: Path | None) -> Settings:
    return Settings(_env_file=None, alerts_slack_channel="C1", watch_rules_file=rules)  # type: ignore[call-arg]


def write(tmp_path: Path, runbook: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"rules:\n  - name: r1\n    job: 'A.*'\n    error: 'ORA-00060'\n    runbook: {runbook}\n",
        encoding="utf-8",
    )
    return path


async def test_rules_are_off_without_a_file_or_without_runbooks(tmp_path: Path) -> None:
    runbooks = service(ApprovalGroups({}, rules_may_grant=["rerun-abended-job"]))
    store = MemoryStore()
    off = build_watch_alerts(
        settings=settings(None), store=store, audit=None, runbooks=runbooks, incidents=None
    )
    assert type(off.publisher) is AlertPublisher
    path = write(tmp_path, "rerun-abended-job")
    with structlog.testing.capture_logs() as logs:
        no_runbooks = build_watch_alerts(
            settings=settings(path), store=store, audit=None, runbooks=None, incidents=None
        )
    assert type(no_runbooks.publisher) is AlertPublisher
    assert [e["event"] for e in logs] == ["watch.rules_ignored"]
    on = build_watch_alerts(
        settings=settings(path), store=store, audit=None, runbooks=runbooks, incidents=None
    )
    assert isinstance(on.publisher, RemediatingPublisher)


async def test_an_invalid_rules_file_is_a_configuration_error_with_its_line(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "no-such-runbook")
    with pytest.raises(ConfigurationError) as caught:
        build_watch_alerts(
            settings=settings(path),
            store=MemoryStore(),
            audit=None,
            runbooks=service(ApprovalGroups({})),
            incidents=None,
        )
    (problem,) = caught.value.problems
    assert problem.startswith(f"watch_rules_file: {path}:5: rules[0].runbook: no runbook")


async def test_a_rule_the_policy_forbids_is_logged_at_start(tmp_path: Path) -> None:
    path = write(tmp_path, "cancel-job")
    with structlog.testing.capture_logs() as logs:
        alerts = build_watch_alerts(
            settings=settings(path),
            store=MemoryStore(),
            audit=None,
            runbooks=service(ApprovalGroups({}, rules_may_grant=["cancel-job"])),
            incidents=None,
        )
    assert isinstance(alerts.publisher, RemediatingPublisher)  # still on: refused when it matches
    (warned,) = [e for e in logs if e["event"] == "watch.rule_not_grantable"]
    assert "high-risk" in warned["reason"]


def test_what_the_thread_is_told() -> None:
    requested = remedy_reply(Remedy(RULE, FAILURE, RemedyOutcome.REQUESTED, attempt=1))
    assert requested.headline == (
        "Auto-remediation: rule deadlock requested rerun-abended-job for "
        "PAYROLL_DAILY.PAYROLL_EXTRACT (attempt 1 of 1)"
    )
    limit = remedy_reply(Remedy(RULE, FAILURE, RemedyOutcome.LIMIT))
    assert "its 1 attempt(s) for tonight are used up; a person must look" in limit.headline
    refused = remedy_reply(Remedy(RULE, FAILURE, RemedyOutcome.REFUSED, reason="not listed"))
    assert refused.headline.endswith(
        "could not request rerun-abended-job for PAYROLL_DAILY.PAYROLL_EXTRACT: not listed"
    )
    store_down = remedy_reply(
        Remedy(RULE, FAILURE, RemedyOutcome.FAILED, error=StoreError("redis down"))
    )
    assert store_down.headline.endswith("the shared store failed; a person must look")
    assert "redis down" not in store_down.headline  # internals go to the log, not the channel
