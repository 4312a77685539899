"""The catalog, its validation (file, line, what), ``resync runbooks``, parsing, signing, policy."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from agents.runbooks.catalog import SHIPPED_DIR, ActionKind, load_catalog, validate_paths
from agents.runbooks.decisions import DecisionKind
from agents.runbooks.errors import CatalogError, GroupLookupError, ParameterError
from agents.runbooks.params import parse_command
from agents.runbooks.policy import (
    DEFAULT_POLICY_FILE,
    ApprovalGroups,
    check_approver,
    may_approve,
)
from agents.runbooks.signing import ButtonSigner, ForgedValueError
from bot import cli_runbooks
from bot.directory import GroupDirectoryRouter
from config.settings import Settings

BROKEN = """\
id: broken-one
title: Broken
description: has three mistakes
version: 1
risk: medium
parameters:
  - {name: job, type: job}
approval: {groups: [tws-operators]}
steps:
  - kind: action
    action: rerunn
    target: job
  - kind: wait
    target: job
    status: [SUCC]
    timeout_seconds: -5
"""

SEMANTIC = """\
id: semantic-one
title: Semantic
description: parses, but makes no sense
version: 1
risk: low
parameters:
  - {name: job, type: job}
steps:
  - {kind: action, action: hold, target: job}
  - {kind: action, action: jobstream-hold, target: job}
  - {kind: wait, target: nothing, status: [SUCC]}
reversible: true
"""


def test_shipped_catalog_is_valid_and_complete() -> None:
    catalog = load_catalog()
    ids = {runbook.id for runbook in catalog.all()}
    assert {
        "rerun-abended-job",
        "hold-job-stream",
        "release-job-stream",
        "cancel-job",
        "kill-job",
        "confirm-succ",
        "release-dependencies",
        "restart-failed-chain",
        "workstation-down",
    } <= ids
    assert not catalog.get("workstation-down").changes_plan  # type: ignore[union-attr]
    hold = catalog.get("hold-job-stream")
    assert hold is not None
    assert hold.reversible
    assert hold.undo is not None
    groups = ApprovalGroups.load(DEFAULT_POLICY_FILE)
    for runbook in catalog.all():
        for group in runbook.approval.groups if runbook.approval else ():
            assert groups.members(group), f"{runbook.id}: group {group} is empty"


def test_pydantic_errors_name_file_line_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    runbooks, problems = validate_paths([path])
    assert runbooks == []
    text = [str(p) for p in problems]
    assert any(t.startswith(f"{path}:11: steps[0].action: Input should be 'hold'") for t in text), (
        text
    )
    assert any(
        t.startswith(f"{path}:16: steps[1].timeout_seconds: Input should be greater than 0")
        for t in text
    ), text


def test_semantic_errors_name_file_line_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "semantic.yaml"
    path.write_text(SEMANTIC)
    _, problems = validate_paths([path])
    text = "\n".join(str(p) for p in problems)
    assert f"{path}:10: steps[1].target: this step needs a job_stream parameter" in text
    assert f"{path}:11: steps[2].target: target 'nothing' is not a parameter" in text
    assert f"{path}:1: approval: a runbook that changes the plan needs an approval policy" in text
    assert f"{path}:12: reversible: a reversible runbook must say how to undo it" in text


def test_yaml_syntax_errors_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: x\n  bad: [\n")
    dup = (SHIPPED_DIR / "kill_job.yaml").read_text()
    (tmp_path / "b.yaml").write_text(dup)
    with pytest.raises(CatalogError) as caught:
        load_catalog([tmp_path])
    text = str(caught.value)
    assert f"{tmp_path / 'a.yaml'}:2: not valid YAML" in text
    assert "runbook id 'kill-job' is already defined" in text


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def test_cli_validate_rejects_broken_yaml_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    parser = argparse.ArgumentParser()
    cli_runbooks.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["runbooks", "validate", str(tmp_path)])
    assert args.handler(args, _settings(tmp_path)) == 1
    out = capsys.readouterr()
    assert f"{tmp_path / 'broken.yaml'}:11: steps[0].action" in out.out
    assert "problem(s) in the runbook catalog" in out.err


def test_cli_validate_and_list_accept_the_shipped_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    cli_runbooks.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["runbooks", "validate"])
    assert args.handler(args, _settings(tmp_path)) == 0
    assert "OK: 9 runbooks valid" in capsys.readouterr().out
    args = parser.parse_args(["runbooks", "list"])
    assert args.handler(args, _settings(tmp_path)) == 0
    assert "/tws run rerun-abended-job job=<job>" in capsys.readouterr().out
    args = parser.parse_args(["runbooks", "validate", str(tmp_path / "missing")])
    assert args.handler(args, _settings(tmp_path)) == 2


def test_cli_validate_flags_unknown_approval_groups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("groups:\n  tws-operators: [a@example.com]\n")
    parser = argparse.ArgumentParser()
    cli_runbooks.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["runbooks", "validate", "--policy", str(policy)])
    assert args.handler(args, _settings(tmp_path)) == 1
    assert "group 'tws-admins' is not defined" in capsys.readouterr().out


def test_parse_command() -> None:
    parsed = parse_command(
        '/tws run Rerun-Abended-Job job=PAYROLL_DAILY.PAYROLL_EXTRACT note="a b"'
    )
    assert parsed.runbook_id == "rerun-abended-job"
    assert parsed.values == {"job": "PAYROLL_DAILY.PAYROLL_EXTRACT", "note": "a b"}
    assert parse_command("run kill-job job=A.B").values == {"job": "A.B"}
    with pytest.raises(ParameterError, match="is not key=value"):
        parse_command("/tws run kill-job PAYROLL")
    with pytest.raises(ParameterError, match="given twice"):
        parse_command("/tws run kill-job job=A.B job=C.D")
    with pytest.raises(ParameterError, match="expected"):
        parse_command("status of PAYROLL")


def test_signed_values_resist_forgery() -> None:
    signer = ButtonSigner(b"k" * 32)
    value = signer.value(request_id="r1", decision=DecisionKind.APPROVE, nonce="n1")
    assert signer.parse(action_id="runbook.approve", value=value).request_id == "r1"
    other = ButtonSigner(b"x" * 32)
    with pytest.raises(ForgedValueError):
        other.parse(action_id="runbook.approve", value=value)
    with pytest.raises(ForgedValueError):
        signer.parse(action_id="runbook.approve", value=value.replace("r1", "r2"))
    with pytest.raises(ForgedValueError):
        signer.parse(action_id="runbook.reject", value=value)
    with pytest.raises(ForgedValueError):
        signer.parse(action_id="runbook.approve", value="garbage")
    with pytest.raises(ValueError, match="16 bytes"):
        ButtonSigner(b"short")


def test_policy_never_allows_self_approval() -> None:
    catalog = load_catalog()
    spec = catalog.get("cancel-job").approval  # type: ignore[union-attr]
    assert spec is not None
    groups = ApprovalGroups({"tws-admins": ["Boss@Example.com", "other@example.com"]})
    assert (
        may_approve(
            identity="boss@example.com", requester="other@example.com", spec=spec, groups=groups
        )
        is None
    )
    assert "self-approval" in (
        may_approve(
            identity="BOSS@example.com", requester="boss@example.com", spec=spec, groups=groups
        )
        or ""
    )
    assert "not an approver" in (
        may_approve(
            identity="x@example.com", requester="boss@example.com", spec=spec, groups=groups
        )
        or ""
    )


def test_action_kinds_cover_the_scheduler_job_actions() -> None:
    from integrations.tws.models import JobAction

    assert {a.value for a in JobAction} <= {a.value for a in ActionKind}


POLICY_WITH_USERGROUPS = """\
groups:
  tws-operators:
    - ops.lead@example.com
    - slack-usergroup:S0OPS
  tws-admins:
    - tws.admin@example.com
    - slack-usergroup:s0admins
    - slack-usergroup:G0123
    - slack-usergroup: S0OPS
"""


def test_policy_accepts_slack_user_groups_and_reports_malformed_ones_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(POLICY_WITH_USERGROUPS.rsplit("    - slack-usergroup:s0admins", 1)[0])
    groups = ApprovalGroups.load(good)
    assert groups.members("tws-operators") == {"ops.lead@example.com"}
    assert groups.references("tws-operators") == ("slack-usergroup:S0OPS",)
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY_WITH_USERGROUPS)
    with pytest.raises(CatalogError) as caught:
        ApprovalGroups.load(bad)
    text = [str(p) for p in caught.value.problems]
    assert len(text) == 1  # shape first: the mapping in line 9
    assert text[0].startswith(f"{bad}:9: groups.tws-admins[3]: expected an identity")
    bad.write_text(POLICY_WITH_USERGROUPS.replace("- slack-usergroup: S0OPS", "- x@example.com"))
    with pytest.raises(CatalogError) as caught:
        ApprovalGroups.load(bad)
    text = [str(p) for p in caught.value.problems]
    assert len(text) == 2
    assert text[0].startswith(f"{bad}:7: groups.tws-admins[1]: 'slack-usergroup:s0admins'")
    assert text[1].startswith(f"{bad}:8: groups.tws-admins[2]: 'slack-usergroup:G0123'")
    parser = argparse.ArgumentParser()
    cli_runbooks.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["runbooks", "validate", "--policy", str(bad)])
    assert args.handler(args, _settings(tmp_path)) == 1
    assert f"{bad}:7: groups.tws-admins[1]" in capsys.readouterr().out


class FakeDirectory:
    def __init__(self, members: frozenset[str] | None = None, fail: bool = False) -> None:
        self.asked: list[str] = []
        self._members = members
        self._fail = fail

    async def members(self, reference: str) -> frozenset[str] | None:
        self.asked.append(reference)
        if self._fail:
            raise GroupLookupError(reference, "missing_scope")
        return self._members


async def test_check_approver_resolves_group_references_through_the_directory() -> None:
    spec = load_catalog().get("rerun-abended-job").approval  # type: ignore[union-attr]
    assert spec is not None
    groups = ApprovalGroups({"tws-operators": ["ops.lead@example.com", "slack-usergroup:S0OPS"]})

    async def check(identity: str, directory: object) -> str | None:
        return await check_approver(
            identity=identity,
            requester="req@example.com",
            spec=spec,
            groups=groups,
            directory=directory,  # type: ignore[arg-type]
        )

    members = FakeDirectory(frozenset({"member@example.com"}))
    assert await check("Member@Example.com", members) is None
    assert "not an approver" in (await check("x@example.com", members) or "")
    assert await check("ops.lead@example.com", members) is None
    assert members.asked == ["slack-usergroup:S0OPS"] * 2  # listed people need no lookup
    assert "self-approval" in (await check("req@example.com", members) or "")
    failing = FakeDirectory(fail=True)
    assert "could not check your membership of the Slack user group S0OPS; ask an admin" in (
        await check("member@example.com", failing) or ""
    )
    assert "not an approver" in (await check("member@example.com", None) or "")
    router = GroupDirectoryRouter()  # nothing registered: not resolvable on this deployment
    assert "not an approver" in (await check("member@example.com", router) or "")
    router.register("slack-usergroup:", members)
    assert await check("member@example.com", router) is None


def test_slack_user_groups_in_a_runbook_users_list_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ug.yaml"
    path.write_text(
        (SHIPPED_DIR / "kill_job.yaml")
        .read_text()
        .replace("id: kill-job", "id: kill-job-ug")
        .replace("{groups: [tws-admins],", "{groups: [tws-admins], users: [slack-usergroup:S0OPS],")
    )
    _, problems = validate_paths([path])
    assert any("approval.users[0]: a Slack user group belongs in" in str(p) for p in problems), [
        str(p) for p in problems
    ]
