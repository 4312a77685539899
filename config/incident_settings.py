"""Incident settings: rooms, ids, managers, paging (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields,
their checks, and `incident_problems` for the checks that involve several of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Formatter

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator

__all__ = ["IncidentSettings", "split_ids"]

_SLACK_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_CHANNEL_PLACEHOLDERS = frozenset({"date", "year", "number", "id", "slug"})


def split_ids(value: str | None) -> list[str]:
    """The non-empty, stripped parts of a comma-separated setting."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class IncidentSettings(BaseModel):
    """The ``RESYNC_INCIDENT*`` and pager settings."""

    # --- incidents -------------------------------------------------------------------------
    incidents_slack_channel: str | None = Field(
        default=None,
        description="Slack channel id (C…) where new incidents are announced with a link to their "
        "channel (the bot must be a member); unset: announced where they were declared.",
    )
    incidents_teams_channel: str | None = Field(
        default=None,
        description="Teams channel conversation id (19:…@thread.tacv2) where incident threads "
        "start (the app must be installed in that team); unset: no incident rooms in Teams.",
    )
    incident_channel_template: str = Field(
        default="inc-{date}-{number}-{slug}",
        description="Name of an incident's Slack channel: {date} (YYYYMMDD declared), {year}, "
        "{number}, {id}, {slug} (of the title); lower-cased, at most 80 characters.",
    )
    incident_policy_file: Path | None = Field(
        default=None,
        description="Incident policy (YAML: severities, paging, reminders, retries); the "
        "built-in SEV1-SEV4 when unset. RESYNC_INCIDENT_* settings that are set win over it.",
    )
    incident_id_prefix: str = Field(
        default="INC",
        pattern=r"^[A-Z][A-Z0-9]{0,9}$",
        description="Incident ids read PREFIX-YEAR-NUMBER (upper-case letters and digits).",
    )
    incident_manager_groups: str = Field(
        default="incident-managers",
        description="Comma-separated approval-policy groups whose members may change any "
        "incident's severity, status and roles (besides its lead).",
    )
    incident_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Lease that makes one replica the driver of an incident's side effects.",
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None,
        description="PagerDuty Events API v2 integration key: severe incidents page on-call.",
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com",
        description="PagerDuty Events API origin (EU accounts: https://events.eu.pagerduty.com).",
    )
    pager_webhook_url: str | None = Field(
        default=None,
        description="Page through a generic webhook instead of PagerDuty (JSON POST).",
    )
    pager_webhook_secret: SecretStr | None = Field(
        default=None, description="Bearer token sent to RESYNC_PAGER_WEBHOOK_URL."
    )

    @field_validator("incidents_slack_channel", "incidents_teams_channel")
    @classmethod
    def _incident_channel(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if info.field_name == "incidents_slack_channel":
            if not _SLACK_CHANNEL_ID.fullmatch(value):
                raise ValueError(
                    f"a Slack channel id such as C0123ABCD (channel details → About), not {value!r}"
                )
        elif any(c.isspace() for c in value) or ";messageid=" in value:
            raise ValueError(
                "a Teams channel conversation id such as 19:abc…@thread.tacv2 (no spaces, "
                "no ;messageid= part)"
            )
        return value

    @field_validator("incident_channel_template")
    @classmethod
    def _channel_template(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"a template with {{placeholders}}: {exc}") from None
        unknown = sorted(names - _CHANNEL_PLACEHOLDERS)
        if unknown or not value.strip():
            raise ValueError(
                f"a channel name template using {', '.join(sorted(_CHANNEL_PLACEHOLDERS))} "
                f"in braces, not {', '.join(unknown) or 'an empty one'}"
            )
        return value

    @field_validator("incident_manager_groups")
    @classmethod
    def _group_list(cls, value: str) -> str:
        return ",".join(split_ids(value))

    def incident_problems(self) -> list[str]:
        """Problems that involve several incident settings (reported with the others)."""
        problems: list[str] = []
        if self.incident_policy_file is not None and not self.incident_policy_file.is_file():
            problems.append(
                f"incident_policy_file (RESYNC_INCIDENT_POLICY_FILE): no such file {self.incident_policy_file}"
            )
        if self.pagerduty_routing_key is not None and self.pager_webhook_url:
            problems.append(
                "pagerduty_routing_key / pager_webhook_url: set one of them, not both (one pager)"
            )
        if self.pager_webhook_secret is not None and not self.pager_webhook_url:
            problems.append(
                "pager_webhook_url (RESYNC_PAGER_WEBHOOK_URL): required when RESYNC_PAGER_WEBHOOK_SECRET is set"
            )
        return problems

    @property
    def incident_manager_group_names(self) -> tuple[str, ...]:
        """The approval-policy groups that may manage any incident."""
        return tuple(split_ids(self.incident_manager_groups))
