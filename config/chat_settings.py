"""Slack and Teams settings (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields
and their checks. URL settings among them are checked by `Settings` with the other URLs.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationInfo, field_validator

from config.incident_settings import split_ids

__all__ = ["ChatSettings"]

_SLACK_TEAM_ID = re.compile(r"[TE][A-Z0-9]+")


class ChatSettings(BaseModel):
    """The ``RESYNC_SLACK_*`` and ``RESYNC_TEAMS_*`` settings."""

    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "RESYNC_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN", "slack_bot_token"
        ),
        description="Bot token (xoxb-...).",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "RESYNC_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET", "slack_signing_secret"
        ),
        description="Signing secret that verifies Slack's requests.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "RESYNC_SLACK_APP_TOKEN", "SLACK_APP_TOKEN", "slack_app_token"
        ),
        description="App-level token (xapp-...): connect over Socket Mode instead of HTTP.",
    )
    slack_api_url: str | None = Field(
        default=None,
        description="Slack Web API base URL (proxies, GovSlack); Slack's own when unset.",
    )
    slack_command: str = Field(default="/tws", description="The slash command Resync answers.")
    slack_allowed_workspaces: str | None = Field(
        default=None,
        description="Comma-separated Slack workspace (T…) and Enterprise Grid (E…) ids answered; "
        "others are ignored. Unset: the workspace of the bot token (auth.test).",
    )

    # --- Teams -----------------------------------------------------------------------------
    teams_app_id: str | None = Field(default=None, description="Bot Framework app (client) id.")
    teams_app_password: SecretStr | None = Field(default=None, description="App secret.")
    teams_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        default="MultiTenant", description="Bot Framework app type."
    )
    teams_tenant_id: str | None = Field(
        default=None,
        description="Tenant id of the app (SingleTenant and UserAssignedMSI); also the tenant "
        "answered when RESYNC_TEAMS_ALLOWED_TENANTS is unset.",
    )
    teams_allowed_tenants: str | None = Field(
        default=None,
        description="Comma-separated Entra ID tenant ids answered in Teams; others are ignored. "
        "Unset: RESYNC_TEAMS_TENANT_ID; with neither set, Teams answers no one (warned at start).",
    )
    teams_allow_unauthenticated: bool = Field(
        default=False,
        description="Serve /api/messages without an app id and without token checks: local testing only.",
    )
    teams_openid_metadata_url: str | None = Field(
        default=None,
        description="OpenID metadata for inbound token checks; the Bot Framework's own when unset.",
    )

    @field_validator("slack_allowed_workspaces", "teams_allowed_tenants")
    @classmethod
    def _id_list(cls, value: str | None, info: ValidationInfo) -> str | None:
        ids = split_ids(value)
        if not ids:
            return None
        if info.field_name == "slack_allowed_workspaces":
            bad = [i for i in ids if not _SLACK_TEAM_ID.fullmatch(i)]
            if bad:
                raise ValueError(
                    f"Slack workspace ids (T…) or Enterprise Grid ids (E…), not {', '.join(bad)}"
                )
        return ",".join(ids)

    @property
    def slack_workspace_ids(self) -> frozenset[str] | None:
        """The Slack workspaces and grids to answer; None: the bot token's own workspace."""
        ids = split_ids(self.slack_allowed_workspaces)
        return frozenset(ids) if ids else None

    @property
    def teams_tenant_ids(self) -> frozenset[str]:
        """The Teams tenants to answer: the allowed list, else the app's tenant, else none."""
        ids = split_ids(self.teams_allowed_tenants) or split_ids(self.teams_tenant_id)
        return frozenset(i.lower() for i in ids)  # tenant ids are GUIDs: case does not matter
