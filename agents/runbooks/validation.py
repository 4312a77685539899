"""Runbook files validated with the file, the line and what is wrong.

One file holds one runbook (a mapping) or several (``runbooks: [...]``). Each file is
composed with `yaml.compose` so that a pydantic error location (``steps.1.action``) maps back
to the line of the node it names (`line_of`); the checks pydantic cannot express (a step's
target must be a parameter of the right type, a plan-changing runbook needs an approval, ...)
are located the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from agents.runbooks.errors import Problem
from agents.runbooks.spec import (
    ActionStep,
    CheckStep,
    DiagnoseStep,
    MessageStep,
    ParamType,
    Runbook,
)
from config.yaml_files import compose_and_load

__all__ = ["line_of", "validate_paths"]


def line_of(*, root: yaml.Node | None, loc: Sequence[str | int]) -> int:
    """The 1-based line of the deepest node that ``loc`` reaches in a composed document.

    Args:
        root: The composed document (None: line 0).
        loc: Keys and indexes, e.g. ``["steps", 1, "action"]``.

    Returns:
        The line of the last node found on the way (the document's first line at worst).
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == part
                ),
                None,
            )
            if match is None:
                break
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _where(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _clean_loc(loc: Sequence[str | int]) -> list[str | int]:
    """Drop pydantic's discriminator tags (``action``, ``wait``…) from a location."""
    cleaned: list[str | int] = []
    for i, part in enumerate(loc):
        prev = loc[i - 1] if i else None
        if isinstance(prev, int) and i >= 2 and loc[i - 2] == "steps" and part in _STEP_KINDS:
            continue
        cleaned.append(part)
    return cleaned


_STEP_KINDS = {"action", "wait", "check", "message", "diagnose"}


def _semantic(runbook: Runbook) -> list[tuple[list[str | int], str]]:
    """Cross-field problems pydantic cannot see, with their locations."""
    found: list[tuple[list[str | int], str]] = []
    names = [p.name for p in runbook.parameters]
    for name in {n for n in names if names.count(n) > 1}:
        found.append((["parameters"], f"parameter {name!r} is declared twice"))
    for index, declared in enumerate(runbook.parameters):
        if declared.required and declared.default is not None:
            found.append(
                (["parameters", index, "default"], "a required parameter cannot have a default")
            )
    for index, step in enumerate(runbook.steps):
        if isinstance(step, MessageStep):
            continue
        spec = runbook.param(step.target)
        if spec is None:
            found.append(
                (
                    ["steps", index, "target"],
                    f"target {step.target!r} is not a parameter (parameters: {', '.join(names) or 'none'})",
                )
            )
            continue
        wanted: ParamType
        if isinstance(step, ActionStep):
            wanted = ParamType.JOB_STREAM if step.action.on_stream else ParamType.JOB
        elif isinstance(step, DiagnoseStep) or (
            isinstance(step, CheckStep) and step.workstation_available is not None
        ):
            wanted = ParamType.WORKSTATION
        elif isinstance(step, CheckStep):
            wanted = (
                spec.type if spec.type in (ParamType.JOB, ParamType.JOB_STREAM) else ParamType.JOB
            )
        else:
            wanted = ParamType.JOB
        if spec.type != wanted:
            found.append(
                (
                    ["steps", index, "target"],
                    f"this step needs a {wanted.value} parameter, {step.target!r} is a {spec.type.value}",
                )
            )
    if runbook.changes_plan and runbook.approval is None:
        found.append((["approval"], "a runbook that changes the plan needs an approval policy"))
    if runbook.approval is not None and not (runbook.approval.groups or runbook.approval.users):
        found.append((["approval"], "name at least one approver group or user"))
    for index, user in enumerate(runbook.approval.users if runbook.approval else ()):
        if user.startswith("slack-usergroup:"):
            found.append(
                (
                    ["approval", "users", index],
                    "a Slack user group belongs in the approval policy file "
                    "(groups: {name: [slack-usergroup:S…]}); name that group in approval.groups",
                )
            )
    if runbook.reversible and runbook.undo is None:
        found.append(
            (["reversible"], "a reversible runbook must say how to undo it (undo.runbook)")
        )
    if runbook.undo is not None and not runbook.reversible:
        found.append((["reversible"], "undo is set but reversible is false"))
    return found


def _file_runbooks(path: Path) -> tuple[list[Runbook], list[Problem]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [Problem(name, 0, "", f"cannot read: {exc}")]
    try:
        root, data = compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [Problem(name, line, "", f"not valid YAML: {problem}")]
    if isinstance(data, dict) and "runbooks" in data:
        items = data["runbooks"]
        prefix: list[str | int] = ["runbooks"]
        if not isinstance(items, list):
            return [], [Problem(name, line_of(root=root, loc=prefix), "runbooks", "must be a list")]
    elif isinstance(data, dict):
        items, prefix = [data], []
    else:
        return [], [Problem(name, 1, "", "a runbook file holds a mapping (or runbooks: [...])")]
    runbooks: list[Runbook] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        base: list[str | int] = [*prefix, index] if prefix else []
        try:
            runbook = Runbook.model_validate(
                {**item, "source": name} if isinstance(item, dict) else item
            )
        except ValidationError as exc:
            for error in exc.errors():
                loc = [*base, *_clean_loc(list(error["loc"]))]
                problems.append(
                    Problem(name, line_of(root=root, loc=loc), _where(loc), error["msg"])
                )
            continue
        semantic = _semantic(runbook)
        for loc_tail, message in semantic:
            loc = [*base, *loc_tail]
            problems.append(Problem(name, line_of(root=root, loc=loc), _where(loc), message))
        if not semantic:
            runbooks.append(runbook)
    return runbooks, problems


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            found.append(path)
    return found


def validate_paths(paths: Iterable[Path]) -> tuple[list[Runbook], list[Problem]]:
    """Validate runbook files and directories.

    Args:
        paths: Files, or directories whose ``*.yaml`` / ``*.yml`` files are read.

    Returns:
        The valid runbooks and every problem found (empty when all is well).
    """
    runbooks: list[Runbook] = []
    problems: list[Problem] = []
    seen: dict[str, Runbook] = {}
    for path in _files(paths):
        found, wrong = _file_runbooks(path)
        problems.extend(wrong)
        for runbook in found:
            if runbook.id in seen:
                problems.append(
                    Problem(
                        str(path),
                        0,
                        "id",
                        f"runbook id {runbook.id!r} is already defined in {seen[runbook.id].source}",
                    )
                )
                continue
            seen[runbook.id] = runbook
            runbooks.append(runbook)
    for runbook in runbooks:
        if runbook.undo is not None and runbook.undo.runbook not in seen:
            problems.append(
                Problem(
                    runbook.source,
                    0,
                    f"{runbook.id}.undo.runbook",
                    f"undo runbook {runbook.undo.runbook!r} does not exist",
                )
            )
    return runbooks, problems
