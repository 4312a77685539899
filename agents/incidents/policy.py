"""`IncidentPolicy`: severities, id prefix, who may manage incidents, paging and reminders.

Defaults (all configurable, e.g. from YAML with `IncidentPolicy.load`)::

    SEV1 critical  pages (PagerDuty critical)  status update every 30 min
    SEV2 major     pages (error)               every 60 min
    SEV3 moderate  does not page (warning)     every 4 h
    SEV4 minor     does not page (info)        no reminders

Who may change severity, status and roles, and close: the incident's lead, or a member of
one of ``manager_groups`` (groups of ``config/approval_policy.yaml``, read through
`agents.runbooks.policy.ApprovalGroups`; Slack user group references are resolved through
a `GroupDirectory`). Anyone may declare, note, post updates and link objects.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import structlog
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.incidents.errors import IncidentInputError
from agents.incidents.model import Incident
from agents.runbooks.policy import ApprovalGroups, GroupDirectory, GroupLookupError
from config.yaml_files import safe_load
from integrations.pager.base import PageSeverity

__all__ = ["DEFAULT_SEVERITIES", "IncidentPolicy", "SeverityLevel", "may_manage"]

log = structlog.get_logger(__name__)


class SeverityLevel(BaseModel):
    """One severity level.

    Attributes:
        name: What people type and see (``SEV1``).
        label: Its meaning in a word (``critical``).
        pager_severity: The page's severity when it pages.
        pages: Declaring at (or raising to) this level pages the on-call person.
        reminder_minutes: A status update is expected this often; None: no reminders.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,15}$")
    label: str
    pager_severity: PageSeverity
    pages: bool = False
    reminder_minutes: int | None = Field(default=None, gt=0)

    @property
    def cadence(self) -> timedelta | None:
        """The reminder cadence, if any."""
        return None if self.reminder_minutes is None else timedelta(minutes=self.reminder_minutes)


DEFAULT_SEVERITIES = (
    SeverityLevel(
        name="SEV1",
        label="critical",
        pager_severity=PageSeverity.CRITICAL,
        pages=True,
        reminder_minutes=30,
    ),
    SeverityLevel(
        name="SEV2",
        label="major",
        pager_severity=PageSeverity.ERROR,
        pages=True,
        reminder_minutes=60,
    ),
    SeverityLevel(
        name="SEV3", label="moderate", pager_severity=PageSeverity.WARNING, reminder_minutes=240
    ),
    SeverityLevel(name="SEV4", label="minor", pager_severity=PageSeverity.INFO),
)


class IncidentPolicy(BaseModel):
    """The configurable rules of incidents.

    Attributes:
        id_prefix: Ids read ``{prefix}-{year}-{number:04d}``.
        severities: Most severe first.
        default_severity: Used when a declaration names none.
        manager_groups: Approval-policy groups whose members may manage any incident.
        lease_seconds: How long one replica drives an incident's side effects before
            another may take over.
        page_attempts: Attempts of one page step (each with the pager's own retries)
            before the room is told it failed.
        retry_seconds: Wait before a failed side-effect step is tried again.
        room_attempts: Attempts to open the rooms before giving up (logged as an error).
    """

    model_config = ConfigDict(frozen=True)

    id_prefix: str = Field(default="INC", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    severities: tuple[SeverityLevel, ...] = DEFAULT_SEVERITIES
    default_severity: str = "SEV3"
    manager_groups: tuple[str, ...] = ("incident-managers",)
    lease_seconds: float = Field(default=30.0, gt=0)
    page_attempts: int = Field(default=3, ge=1)
    retry_seconds: float = Field(default=30.0, ge=0)
    room_attempts: int = Field(default=10, ge=1)

    @field_validator("severities")
    @classmethod
    def _unique(cls, value: tuple[SeverityLevel, ...]) -> tuple[SeverityLevel, ...]:
        names = [level.name.upper() for level in value]
        if not value or len(set(names)) != len(names):
            raise ValueError("at least one severity, with distinct names")
        return value

    @model_validator(mode="after")
    def _default_known(self) -> IncidentPolicy:
        self.level(self.default_severity)
        return self

    @classmethod
    def load(cls, path: Path) -> IncidentPolicy:
        """Read a policy from YAML (the attributes above; severities as a list).

        Args:
            path: The file.

        Returns:
            The policy.

        Raises:
            IncidentInputError: The file is unreadable or invalid (every problem listed).
        """
        try:
            data = safe_load(path.read_text(encoding="utf-8")) or {}
            return cls.model_validate(data)
        except (OSError, yaml.YAMLError) as exc:
            raise IncidentInputError(f"{path}: cannot read: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise IncidentInputError(f"{path}: {problems}") from None

    def level(self, name: str) -> SeverityLevel:
        """The level called ``name`` (case-blind).

        Raises:
            IncidentInputError: No such level (the message lists the levels).
        """
        for level in self.severities:
            if level.name.upper() == name.strip().upper():
                return level
        names = ", ".join(level.name for level in self.severities)
        raise IncidentInputError(f"unknown severity {name!r}: one of {names}")

    def rank(self, name: str) -> int:
        """0 for the most severe level, 1 for the next, ..."""
        return self.severities.index(self.level(name))

    def raised(self, name: str) -> SeverityLevel:
        """The next more severe level (the same when ``name`` is the most severe)."""
        return self.severities[max(0, self.rank(name) - 1)]


async def may_manage(
    *,
    identity: str,
    incident: Incident,
    policy: IncidentPolicy,
    groups: ApprovalGroups | None,
    directory: GroupDirectory | None,
) -> bool:
    """Whether ``identity`` may change severity, status or roles of ``incident``, or close it.

    Args:
        identity: The person's identity.
        incident: The incident.
        policy: The policy (its manager groups).
        groups: The approval groups; None: only the lead may manage.
        directory: Resolves group references (``slack-usergroup:S…``); None resolves none.

    Returns:
        True for the lead and for members of a manager group.
    """
    who = identity.strip().lower()
    if incident.lead is not None and incident.lead.same(who):
        return True
    if groups is None:
        return False
    if any(who in groups.members(group) for group in policy.manager_groups):
        return True
    for group in policy.manager_groups:
        for reference in groups.references(group):
            if directory is None:
                continue
            try:
                members = await directory.members(reference)
            except GroupLookupError as exc:
                # Counted as "not a member", like runbook approvals; the log says why.
                log.warning("incident.group_lookup_failed", reference=reference, error=exc.reason)
                continue
            if members is not None and who in members:
                return True
    return False
