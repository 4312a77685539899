"""The runbook definition: typed parameters, approval policy, steps, undo (pydantic models).

What a YAML file says, as validated models; `agents.runbooks.validation` reads the files and
adds the checks that span several fields. Every model is frozen and forbids unknown keys, so
a typo in a runbook file is an error with its line, never a silently ignored setting.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from integrations.tws.models import JobStatus

__all__ = [
    "ActionKind",
    "ActionStep",
    "ApprovalSpec",
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
]


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
