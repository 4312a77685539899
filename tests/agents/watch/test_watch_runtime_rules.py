"""Auto-remediation rules: validation with file:line, matching, attempts per night."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from agents.watch.model import Finding, FindingKind, Severity
from agents.watch.rules import RulesError, load_rules
from integrations.store.memory import MemoryStore

GOOD = """\
rules:
  - name: payroll-deadlock
    job: "PAYROLL_DAILY.*"
    error: "ORA-00060"
    runbook: rerun-abended-job
    attempts_per_night: 2
  - name: any-timeout
    job: "*_EXTRACT"
    error: "timed? ?out"
    runbook: rerun-abended-job
"""

FAILURE = Finding(
    kind=FindingKind.FAILURE,
    object_id="J42",
    object_name="PAYROLL_DAILY.PAYROLL_EXTRACT",
    plan_date=date(2026, 1, 15),
    severity=Severity.CRITICAL,
    headline="PAYROLL_EXTRACT abended (rc 12)",
    explanation="ABEND at 22:14",
    evidence=("ORA-00060: deadlock detected while waiting for resource",),
    job_id="J42",
    run_id="R1",
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads_in_order(tmp_path: Path) -> None:
    book = load_rules(write(tmp_path, GOOD), runbooks={"rerun-abended-job"})
    assert [rule.name for rule in book.rules] == ["payroll-deadlock", "any-timeout"]
    assert book.rules[0].attempts_per_night == 2
    assert book.rules[1].attempts_per_night == 1  # the default


def test_every_problem_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    text = """\
rules:
  - name: ok-rule
    job: "A*"
    error: "ORA-0006("
    runbook: rerun-abended-job
  - name: ok-rule
    job: "B*"
    error: "x"
    runbook: no-such-runbook
    attempts_per_night: 0
  - job: "C*"
    error: "x"
    runbook: rerun-abended-job
    colour: red
"""
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_rules(path, runbooks={"rerun-abended-job"})
    lines = [str(problem) for problem in caught.value.problems]
    assert any(
        line.startswith(f"{path}:4: rules[0].error: not a valid regular expression")
        for line in lines
    ), lines
    assert any(line.startswith(f"{path}:10: rules[1].attempts_per_night:") for line in lines)
    assert any(line.startswith(f"{path}:11: rules[2].name: Field required") for line in lines)
    assert any(line.startswith(f"{path}:14: rules[2].colour: Extra inputs") for line in lines)
    # A rule that did not validate is not checked further; the duplicate name did.
    assert not any("used twice" in line for line in lines)


def test_duplicate_names_and_unknown_runbooks_are_problems(tmp_path: Path) -> None:
    text = GOOD.replace("any-timeout", "payroll-deadlock")
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_rules(path, runbooks={"cancel-job"})
    lines = [str(problem) for problem in caught.value.problems]
    assert f"{path}:7: rules[1].name: rule name 'payroll-deadlock' is used twice" in lines
    assert any(line.startswith(f"{path}:5: rules[0].runbook: no runbook") for line in lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n  {name: x\n", ":3: not valid YAML"),
        ("- name: x\n", ":1: the file holds one key, rules: [...]"),
        ("rules: {}\n", ":1: the file holds one key, rules: [...]"),
    ],
)
def test_a_file_of_the_wrong_shape_says_where(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}{expected}"), str(caught.value)


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")


def test_a_rule_matches_a_failure_of_its_job_showing_its_error(tmp_path: Path) -> None:
    book = load_rules(write(tmp_path, GOOD))
    rule = book.match(FAILURE)
    assert rule is not None
    assert rule.name == "payroll-deadlock"
    other_stream = replace(FAILURE, object_name="GL_DAILY.GL_EXTRACT", evidence=("timed out",))
    matched = book.match(other_stream)
    assert matched is not None
    assert matched.name == "any-timeout"  # the short name matches "*_EXTRACT"
    assert book.match(replace(FAILURE, evidence=("ORA-01555 snapshot too old",))) is None
    assert book.match(replace(FAILURE, kind=FindingKind.SLOW_RUNNING)) is None
    assert book.match(replace(FAILURE, object_name="GL_DAILY.GL_CLOSE")) is None


async def test_attempts_are_counted_per_job_and_night(tmp_path: Path) -> None:
    book = load_rules(write(tmp_path, GOOD))
    rule = book.rules[0]  # two attempts per night
    store = MemoryStore()
    taken = [await book.take_attempt(rule, FAILURE, store=store) for _ in range(3)]
    assert taken == [1, 2, None]
    next_night = replace(FAILURE, plan_date=date(2026, 1, 16))
    assert await book.take_attempt(rule, next_night, store=store) == 1
    other_job = replace(FAILURE, object_id="J43")
    assert await book.take_attempt(rule, other_job, store=store) == 1
