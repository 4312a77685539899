"""Configuration reload against the real runbook service (simulator over HTTP).

`ConfigReloader` over the same `Catalog` and `ApprovalGroups` the service reads: a changed
runbook is what the next request gets; an approval given to the old version never runs the
new one (the request goes back to approval); a broken file keeps the previous version in
force and names every problem with its file and line; the policy and the watch rules reload
the same way; every reload is audited and written to the status file; ``resync config
validate`` checks the same files with no process running.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from runbook_stack import JOB, AuditTrail, Stack, Tasks, runbook_stack

from agents.messages import Actions, Actor, Platform, Reply
from agents.runbooks.decisions import DecisionStatus
from agents.runbooks.journal import RequestStatus
from agents.runbooks.policy import ApprovalGroups
from agents.watch.remediation import Remediator
from agents.watch.rules import load_rules
from bot.cli_reload import run_reload, run_validate
from bot.reload import STATUS_FILE, ConfigReloader
from config.settings import Settings

PROBE = """\
id: reload-probe
title: Rerun a job (reload test)
description: One rerun, two approvers.
version: {version}
risk: medium
parameters: [{{name: job, type: job}}]
approval: {{groups: [ops], min_approvers: 2, expires_minutes: 30}}
steps:
  - {{kind: action, action: rerun, target: job, title: "{title}"}}
"""
BROKEN = """\
id: reload-probe
title: Rerun a job (reload test)
description: One rerun.
version: 0
risk: extreme
parameters: [{name: job, type: job}]
steps:
  - {kind: action, action: rerun, target: job}
"""
POLICY = """\
groups:
  ops: [{members}]
  tws-operators: [ops.lead@example.com]
  tws-admins: [ops.lead@example.com]
rules_may_grant: [rerun-abended-job]
"""
RULE = """\
  - name: {name}
    job: "PAYROLL_DAILY.*"
    error: "ORA-00060"
    runbook: {runbook}
"""


def person(name: str) -> Actor:
    return Actor(
        platform=Platform.SLACK,
        user_id=f"U{name.upper()}",
        display_name=name,
        email=f"{name}@example.com",
    )


REQUESTER = person("requester")


def approve_value(card: Reply) -> tuple[str, str]:
    row = next(b for b in card.blocks if isinstance(b, Actions))
    button = next(b for b in row.buttons if b.label == "Approve")
    return button.action_id, button.value


async def approve(stack: Stack, card: Reply, who: str) -> DecisionStatus:
    action_id, value = approve_value(card)
    decision = stack.service.decision_from_click(
        action_id=action_id, value=value, actor=person(who)
    )
    return (await stack.service.decide(decision)).status


class Files:
    """The files a deployment edits, in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.runbooks = root / "runbooks"
        self.runbooks.mkdir()
        self.probe = self.runbooks / "probe.yaml"
        self.policy = root / "policy.yaml"
        self.rules = root / "rules.yaml"
        self.data = root / "data"
        self.data.mkdir()
        self.write_probe(version=1, title="rerun the job")
        self.write_policy("approver1@example.com, approver2@example.com")
        self.write_rules(("one", "rerun-abended-job"))

    def write_probe(self, *, version: int, title: str) -> None:
        self.probe.write_text(PROBE.format(version=version, title=title))

    def write_policy(self, members: str) -> None:
        self.policy.write_text(POLICY.format(members=members))

    def write_rules(self, *rules: tuple[str, str]) -> None:
        body = "".join(RULE.format(name=name, runbook=runbook) for name, runbook in rules)
        self.rules.write_text("rules:\n" + body)

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data,
            runbooks_dir=self.runbooks,
            approval_policy_file=self.policy,
            watch_rules_file=self.rules,
        )


def reloader(
    stack: Stack, files: Files, audit: AuditTrail, remediator: Remediator | None = None
) -> ConfigReloader:
    return ConfigReloader(
        settings=files.settings(),
        catalog=stack.service.catalog,
        groups=stack.groups,
        remediator=remediator,
        audit=audit,
    )


async def test_a_reload_changes_the_runbook_and_pending_approvals_go_back_to_approval(
    tmp_path: Path,
) -> None:
    files = Files(tmp_path)
    tasks = Tasks()
    async with runbook_stack(groups=ApprovalGroups({"ops": []}), spawn=tasks) as stack:
        audit = AuditTrail()
        config = reloader(stack, files, audit)
        first = await config.reload(by="test")
        assert first.outcome == "reloaded", first.refused
        assert "reload-probe v1" in first.changes["runbooks"]["added"]

        request = await stack.service.request_text(
            text=f"/tws run reload-probe job={JOB}", actor=REQUESTER
        )
        assert request.request_id is not None
        assert "reload-probe v1" in request.reply.plain_text()
        assert await approve(stack, request.reply, "approver1") == DecisionStatus.RECORDED

        files.write_probe(version=2, title="rerun the job, second edition")
        second = await config.reload(by="test")
        assert second.outcome == "reloaded"
        assert second.changes["runbooks"]["changed"] == ["reload-probe v1 -> v2"]
        new_request = await stack.service.request_text(
            text=f"/tws run reload-probe job={JOB}", actor=REQUESTER
        )
        assert "reload-probe v2" in new_request.reply.plain_text()
        assert "second edition" in new_request.reply.plain_text()

        # The old card's second approval completes the policy of v1: it must not run v2.
        await approve(stack, request.reply, "approver2")
        await tasks.drain()
        assert await stack.rerun_count() == 0
        record = await stack.service.journal.load(request.request_id)
        assert record is not None
        assert record.status == RequestStatus.PENDING
        assert (record.round, record.version) == (2, 2)
        assert "the runbook changed (now v2)" in record.history[-1].what

        files.probe.write_text(BROKEN)
        third = await config.reload(by="test")
        assert third.outcome == "partial"
        assert third.applied == ["approval policy"]  # no rules in this process
        problems = third.refused["runbooks"]
        assert any(f"{files.probe}:5: risk:" in p for p in problems), problems
        assert any(f"{files.probe}:4: version:" in p for p in problems), problems  # every one
        still = await stack.service.request_text(
            text=f"/tws run reload-probe job={JOB}", actor=REQUESTER
        )
        assert "reload-probe v2" in still.reply.plain_text()  # the previous version in force

    reloads = audit.actions("config.reload")
    assert [r["outcome"] for r in reloads] == ["reloaded", "reloaded", "partial"]
    assert reloads[-1]["actor_identity"] == "test"
    assert "runbooks" in reloads[-1]["parameters"]["refused"]
    status = json.loads((files.data / STATUS_FILE).read_text())
    assert status["outcome"] == "partial"
    assert status["refused"]["runbooks"] == problems
    assert (files.data / STATUS_FILE).stat().st_mode & 0o077 == 0


async def test_the_policy_reloads_and_a_broken_policy_keeps_the_old_one(tmp_path: Path) -> None:
    files = Files(tmp_path)
    async with runbook_stack(groups=ApprovalGroups({"ops": []})) as stack:
        audit = AuditTrail()
        config = reloader(stack, files, audit)
        assert (await config.reload()).outcome == "reloaded"
        card = (
            await stack.service.request_text(
                text=f"/tws run reload-probe job={JOB}", actor=REQUESTER
            )
        ).reply

        files.write_policy("approver2@example.com, approver3@example.com")  # approver1 leaves
        changed = await config.reload()
        assert changed.outcome == "reloaded"
        policy = changed.changes["approval policy"]
        assert policy["hash"] != policy["previous_hash"]
        assert await approve(stack, card, "approver1") == DecisionStatus.REFUSED
        assert await approve(stack, card, "approver3") == DecisionStatus.RECORDED

        files.policy.write_text("groups:\n  ops: [approver1@example.com, {nested: 1}]\n")
        refused = await config.reload()
        assert refused.outcome == "partial"
        assert any(f"{files.policy}:2" in p for p in refused.refused["approval policy"])
        # approver1 is still out: the previous policy (approver2, approver3) stays in force.
        assert await approve(stack, card, "approver1") == DecisionStatus.REFUSED
    assert [r["outcome"] for r in audit.actions("config.reload")] == [
        "reloaded",
        "reloaded",
        "partial",
    ]


class _NoChat:
    """Where remediations would be announced; a reload never calls it."""

    async def place(self, finding: object) -> None:
        raise AssertionError("not called by a reload")

    async def announce(self, remedy: object) -> None:
        raise AssertionError("not called by a reload")


async def test_watch_rules_reload_against_the_catalog_in_force(tmp_path: Path) -> None:
    files = Files(tmp_path)
    async with runbook_stack() as stack:
        remediator = Remediator(
            rules=load_rules(files.rules),
            runbooks=stack.service,
            store=stack.store,
            chat=_NoChat(),
        )
        config = reloader(stack, files, AuditTrail(), remediator)
        files.write_rules(("one", "rerun-abended-job"), ("two", "reload-probe"))
        grown = await config.reload()
        assert grown.outcome == "reloaded", grown.refused
        assert grown.changes["watch rules"] == {"rules": 2, "previous_rules": 1}

        files.write_rules(("one", "rerun-abended-job"), ("two", "no-such-runbook"))
        refused = await config.reload()
        assert refused.outcome == "partial"
        assert refused.applied == ["runbooks", "approval policy"]
        assert any(
            f"{files.rules}:" in p and "no-such-runbook" in p
            for p in refused.refused["watch rules"]
        )

        files.write_rules(("one", "rerun-abended-job"))
        back = await config.reload()  # the two rules of the last good file were in force
        assert back.changes["watch rules"] == {"rules": 1, "previous_rules": 2}


def test_config_validate_names_every_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = Files(tmp_path)
    assert run_validate(argparse.Namespace(), files.settings()) == 0
    shown = capsys.readouterr().out
    assert "runbooks: OK" in shown
    assert "watch rules: OK, 1 rule(s)" in shown

    files.probe.write_text(BROKEN)
    files.write_rules(("one", "rerun-abended-job"), ("one", "rerun-abended-job"))
    assert run_validate(argparse.Namespace(), files.settings()) == 1
    shown = capsys.readouterr().out
    assert f"{files.probe}:5: risk:" in shown
    assert f"{files.rules}:" in shown
    assert "used twice" in shown


async def test_a_reload_between_recheck_and_execute_runs_the_approved_version(
    tmp_path: Path,
) -> None:
    files = Files(tmp_path)
    reloaded: list[str] = []
    config: list[ConfigReloader] = []

    async def hook(request_id: str, phase: str) -> None:
        if phase == "before_execute" and not reloaded:
            files.write_probe(version=2, title="second edition")
            files.probe.write_text(files.probe.read_text().replace("rerun", "hold"))
            reloaded.append((await config[0].reload()).outcome)

    async with runbook_stack(groups=ApprovalGroups({"ops": []}), on_phase=hook) as stack:
        config.append(reloader(stack, files, AuditTrail()))
        await config[0].reload()
        card = (
            await stack.service.request_text(
                text=f"/tws run reload-probe job={JOB}", actor=REQUESTER
            )
        ).reply
        assert await approve(stack, card, "approver1") == DecisionStatus.RECORDED
        await approve(stack, card, "approver2")
        assert reloaded == ["reloaded"]
        calls = [r["parameters"]["call"] for r in stack.audit.actions("runbook.tws_call")]
        assert not any("/action/hold" in call for call in calls), calls  # v2 was not approved
        assert await stack.rerun_count() == 1  # v1 (rerun) was approved, v1 ran


def test_reload_without_a_running_server_says_so_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = Files(tmp_path)
    (files.data / "serve.pid").write_text("999999999\n")  # a stale pid file: no such process
    assert run_reload(argparse.Namespace(timeout=1.0), files.settings()) == 1
    assert "no running `resync serve`" in capsys.readouterr().err
