"""Auto-remediation rules: which failures may request a runbook without a person asking.

Off by default; ``RESYNC_WATCH_RULES_FILE`` names a YAML file::

    rules:
      - name: payroll-deadlock          # unique; named in the audit record and the thread
        job: "PAYROLL_DAILY.*"          # glob on the job's qualified or short name
        error: "ORA-00060"              # regular expression (case-insensitive) searched in
                                        # the failure's explanation and evidence lines
        runbook: rerun-job              # a runbook of the catalog; parameter job = the job
        attempts_per_night: 1           # at most this many requests per job and plan date

A rule matches only a new failure (`FindingKind.FAILURE`) of a job. Validation reports every
problem with the file and line (`load_rules`; ``resync watch validate-rules FILE``), like the
runbook catalog. `RuleBook.match` finds the first matching rule; `RuleBook.take_attempt`
numbers attempts per rule, job and plan date in the shared store, so a replica taking over
the watch does not start again from zero. What happens on a match is
`agents.watch.remediation`; which runbooks a rule may approve is the approval policy's to say
(`agents.runbooks.rulegrant`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.runbooks.errors import Problem
from agents.runbooks.validation import line_of
from agents.watch.model import Finding, FindingKind
from config.yaml_files import compose_and_load
from integrations.store import Store

__all__ = ["Rule", "RuleBook", "RulesError", "load_rules"]

_ATTEMPT_WINDOW_SECONDS: Final = 36 * 3600.0
"""Longer than a production day: the plan date in the key separates the nights."""


class RulesError(Exception):
    """The rules file is unreadable or invalid; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Rule(BaseModel):
    """One auto-remediation rule (see the module docstring for the file's shape)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    job: str = Field(min_length=1, max_length=200)
    error: str = Field(min_length=1, max_length=500)
    runbook: str = Field(min_length=1, max_length=80)
    attempts_per_night: int = Field(default=1, ge=1, le=10)

    @field_validator("error")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def matches(self, finding: Finding) -> bool:
        """Whether this rule applies to ``finding`` (a job's failure, name and error match).

        Args:
            finding: A finding of a watch cycle.

        Returns:
            True when it is a failure of a job the pattern names, showing the error.
        """
        if finding.kind is not FindingKind.FAILURE or finding.job_id is None:
            return False
        pattern = self.job.upper()
        names = {finding.object_name.upper(), finding.object_name.rsplit(".", 1)[-1].upper()}
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            return False
        error = re.compile(self.error, re.IGNORECASE)
        text = "\n".join((finding.headline, finding.explanation, *finding.evidence))
        return error.search(text) is not None


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The rules in file order (the first match wins)."""

    rules: tuple[Rule, ...] = ()
    source: str = ""

    def match(self, finding: Finding) -> Rule | None:
        """The first rule that applies to ``finding``, or None."""
        return next((rule for rule in self.rules if rule.matches(finding)), None)

    async def take_attempt(self, rule: Rule, finding: Finding, *, store: Store) -> int | None:
        """Count one attempt of ``rule`` on the finding's job tonight, if any are left.

        Attempt ``i`` is the key ``…:{i}`` claimed once (``SET NX``) for the rule, the job
        and the plan date: replicas asking at once get different numbers, and a replica
        taking over the watch goes on counting where the last one stopped.

        Args:
            rule: The matching rule.
            finding: The failure.
            store: The shared store.

        Returns:
            The attempt's number (1 … ``attempts_per_night``), or None when the night's
            attempts are used up.

        Raises:
            integrations.store.StoreError: The store failed (no attempt is made then).
        """
        base = f"resync:watch:rule:{rule.name}:{finding.object_id}:{finding.plan_date.isoformat()}"
        for attempt in range(1, rule.attempts_per_night + 1):
            if await store.claim(f"{base}:{attempt}", ttl_seconds=_ATTEMPT_WINDOW_SECONDS):
                return attempt
        return None


def _where(loc: list[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_rules(path: Path, *, runbooks: Collection[str] | None = None) -> RuleBook:
    """Read and validate a rules file.

    Args:
        path: The YAML file.
        runbooks: The runbook ids of the catalog; when given, a rule naming another one is
            a problem.

    Returns:
        The rules.

    Raises:
        RulesError: Every problem found, each with the file and line.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError([Problem(name, 0, "", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        root, data = compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else 0
        raise RulesError([Problem(name, line, "", f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
        line = line_of(root=root, loc=["rules"])
        raise RulesError([Problem(name, line, "", "the file holds one key, rules: [...]")])
    rules: list[Rule] = []
    problems: list[Problem] = []
    for index, item in enumerate(data["rules"]):
        try:
            rule = Rule.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                loc: list[str | int] = ["rules", index, *error["loc"]]
                message = error["msg"].removeprefix("Value error, ")
                problems.append(Problem(name, line_of(root=root, loc=loc), _where(loc), message))
            continue
        place: list[str | int] = ["rules", index]
        if rule.name in {r.name for r in rules}:
            loc = [*place, "name"]
            message = f"rule name {rule.name!r} is used twice"
            problems.append(Problem(name, line_of(root=root, loc=loc), _where(loc), message))
        if runbooks is not None and rule.runbook not in runbooks:
            loc = [*place, "runbook"]
            known = ", ".join(sorted(runbooks)) or "none"
            message = f"no runbook {rule.runbook!r} in the catalog (known: {known})"
            problems.append(Problem(name, line_of(root=root, loc=loc), _where(loc), message))
        rules.append(rule)
    if problems:
        raise RulesError(problems)
    return RuleBook(rules=tuple(rules), source=name)
