"""The runbook catalog: YAML files, validated with the file, the line and what is wrong.

One file holds one runbook (a mapping) or several (``runbooks: [...]``). Shipped defaults
live in ``config/runbooks/``; a deployment adds its own directory. Each file is composed
with `yaml.compose` so that a pydantic error location (``steps.1.action``) maps back to the
line of the node it names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.runbooks.errors import CatalogError, Problem
from integrations.tws.models import JobStatus

__all__ = [
    "SHIPPED_DIR",
    "ActionKind",
    "ActionStep",
    "ApprovalSpec",
    "Catalog",
    "CheckStep",
    "DiagnoseStep",
    "MessageStep",
    "ParamSpec",
    "ParamType",
    "Risk",
    "Runbook",
    "Step",
    "UndoSpec",
    "WaitStep",
    "load_catalog",
    "validate_paths",
]

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "config" / "runbooks"


class ParamType(StrEnum):
    """What a parameter names."""

    JOB = "job"
    JOB_STREAM = "job_stream"
    WORKSTATION = "workstation"
    STRING = "string"
    INTEGER = "integer"


class Risk(StrEnum):
    """How much harm a wrong run can do."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ActionKind(StrEnum):
    """The TWS actions a step may take."""

    HOLD = "hold"
    RELEASE = "release"
    RERUN = "rerun"
    CANCEL = "cancel"
    KILL = "kill"
    CONFIRM_SUCC = "confirm-succ"
    CONFIRM_ABEND = "confirm-abend"
    RELEASE_DEPENDENCIES = "release-dependencies"
    STREAM_HOLD = "jobstream-hold"
    STREAM_RELEASE = "jobstream-release"
    STREAM_CANCEL = "jobstream-cancel"
    STREAM_SUBMIT = "jobstream-submit"

    @property
    def on_stream(self) -> bool:
        """True for job stream actions (their target is a ``job_stream`` parameter)."""
        return self.value.startswith("jobstream-")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(_Strict):
    """A typed runbook parameter.

    Attributes:
        name: The key in ``key=value``.
        type: What it names; job, job stream and workstation must exist in the plan.
        description: Shown in the catalog and on the card.
        required: A request without it is refused (unless it has a default).
        default: The value when not given.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    type: ParamType
    description: str = ""
    required: bool = True
    default: str | None = None


class ApprovalSpec(_Strict):
    """Who may approve, how many, for how long. Self-approval is never allowed.

    Attributes:
        groups: Approval groups (from the approval policy file) whose members may approve.
        users: Identities (e-mail, or ``slack:U…`` / ``teams:…``) who may approve.
        min_approvers: Distinct approvers needed (the requester never counts).
        expires_minutes: The request expires this long after it was made.
    """

    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    min_approvers: Annotated[int, Field(ge=1, le=5)] = 1
    expires_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30

    @field_validator("users")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(user.strip().lower() for user in value)


class ActionStep(_Strict):
    """Take a TWS action on the object a parameter names."""

    kind: Literal["action"] = "action"
    action: ActionKind
    target: str
    title: str = ""


class WaitStep(_Strict):
    """Wait until the target (or its direct successors) reach one of some statuses."""

    kind: Literal["wait"] = "wait"
    target: str
    status: tuple[JobStatus, ...]
    scope: Literal["self", "successors"] = "self"
    timeout_seconds: Annotated[float, Field(gt=0, le=24 * 3600)] = 600
    title: str = ""


class CheckStep(_Strict):
    """Check the plan; stop (or only warn) when the check fails."""

    kind: Literal["check"] = "check"
    target: str
    status: tuple[str, ...] = ()
    workstation_available: bool | None = None
    on_fail: Literal["stop", "warn"] = "stop"
    title: str = ""


class MessageStep(_Strict):
    """Post a message in the thread; ``{param}`` is replaced by the parameter's value."""

    kind: Literal["message"] = "message"
    text: str
    title: str = ""


class DiagnoseStep(_Strict):
    """A read-only report on a workstation: link state, limit, fence, jobs waiting there."""

    kind: Literal["diagnose"] = "diagnose"
    target: str
    title: str = ""


Step = Annotated[
    ActionStep | WaitStep | CheckStep | MessageStep | DiagnoseStep, Field(discriminator="kind")
]


class UndoSpec(_Strict):
    """How to undo a run: another runbook with parameters taken from this request."""

    runbook: str
    parameters: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class Runbook(_Strict):
    """One runbook.

    Attributes:
        id: Stable id used in ``/tws run ID``.
        title: One line.
        description: What it does and when to use it.
        version: Bumped on every change; an approval binds to it.
        risk: low, medium or high.
        parameters: Typed parameters.
        approval: Who may approve; required when a step changes the plan.
        steps: What it does, in order.
        reversible: Whether it can be undone.
        undo: How, when reversible.
    """

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    title: str
    description: str
    version: Annotated[int, Field(ge=1)]
    risk: Risk
    parameters: tuple[ParamSpec, ...] = ()
    approval: ApprovalSpec | None = None
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]
    reversible: bool = False
    undo: UndoSpec | None = None
    source: str = Field(default="", exclude=True)

    @property
    def changes_plan(self) -> bool:
        """True when a step acts on the plan (the run then needs an approval)."""
        return any(isinstance(step, ActionStep) for step in self.steps)

    @property
    def digest(self) -> str:
        """A hash of the definition: an approval binds to it as well as to ``version``."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def param(self, name: str) -> ParamSpec | None:
        """The parameter called ``name``, if any."""
        return next((p for p in self.parameters if p.name == name), None)


class Catalog:
    """The runbooks by id."""

    def __init__(self, runbooks: Iterable[Runbook]) -> None:
        """Index runbooks by id (ids are unique: `load_catalog` checks it)."""
        self._by_id = {runbook.id: runbook for runbook in runbooks}

    def get(self, runbook_id: str) -> Runbook | None:
        """The runbook with this id, or None."""
        return self._by_id.get(runbook_id.strip().lower())

    def all(self) -> list[Runbook]:
        """Every runbook, by id."""
        return [self._by_id[key] for key in sorted(self._by_id)]

    def __len__(self) -> int:
        return len(self._by_id)


# --- validation --------------------------------------------------------------------------


def _line_of(root: yaml.Node | None, loc: Sequence[str | int]) -> int:
    """The 1-based line of the deepest node that ``loc`` reaches in a composed document."""
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
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [Problem(name, line, "", f"not valid YAML: {problem}")]
    if isinstance(data, dict) and "runbooks" in data:
        items = data["runbooks"]
        prefix: list[str | int] = ["runbooks"]
        if not isinstance(items, list):
            return [], [Problem(name, _line_of(root, prefix), "runbooks", "must be a list")]
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
                problems.append(Problem(name, _line_of(root, loc), _where(loc), error["msg"]))
            continue
        semantic = _semantic(runbook)
        for loc_tail, message in semantic:
            loc = [*base, *loc_tail]
            problems.append(Problem(name, _line_of(root, loc), _where(loc), message))
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


def load_catalog(extra_dirs: Sequence[Path] = (), *, shipped: bool = True) -> Catalog:
    """Load and validate the catalog (shipped defaults plus the given directories).

    Args:
        extra_dirs: Directories (or files) the deployment adds.
        shipped: Include the runbooks shipped in ``config/runbooks``.

    Returns:
        The catalog.

    Raises:
        CatalogError: Any file is broken; every problem names its file and line.
    """
    paths = [SHIPPED_DIR] if shipped else []
    paths.extend(extra_dirs)
    runbooks, problems = validate_paths(paths)
    if problems:
        raise CatalogError(problems)
    return Catalog(runbooks)
