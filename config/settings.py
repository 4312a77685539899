"""Resync's one settings object.

Every setting is read here and nowhere else (house rule 8): `bot/app.py` builds one
`Settings` and passes it down. Environment variables carry the prefix ``RESYNC_``; a
``.env`` file in the working directory is read too. Secrets are `SecretStr` so they never
print by accident; `Settings.describe()` gives the effective configuration with secrets
masked, for ``resync config show``.

Errors:
    `ConfigurationError` carries every bad field at once, each with what is expected, so a
    person fixes the configuration in one pass instead of one restart per mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from string import Formatter
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConfigurationError", "Settings", "load_settings"]

LogFormat = Literal["auto", "json", "console"]

_SLACK_TEAM_ID = re.compile(r"[TE][A-Z0-9]+")
_SLACK_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_CHANNEL_PLACEHOLDERS = frozenset({"date", "year", "number", "id", "slug"})
# Where credentials go instead of a URL's user:password@ part.
_CREDENTIALS_GO = {
    "tws_url": "set RESYNC_TWS_USER and RESYNC_TWS_PASSWORD, or RESYNC_TWS_API_KEY, instead",
    "llm_api_base": "set RESYNC_LLM_API_KEY instead",
}


class ConfigurationError(Exception):
    """The configuration is unusable; `problems` lists every bad setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"Resync cannot start: the configuration has {len(problems)} problem(s):\n{lines}"
        )


class Settings(BaseSettings):
    """Effective configuration of one Resync process."""

    model_config = SettingsConfigDict(
        env_prefix="RESYNC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        # A bad value may be a secret (a URL with a password): errors never repeat it.
        hide_input_in_errors=True,
    )

    # --- process -------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest log level written."
    )
    log_format: LogFormat = Field(
        default="auto",
        description="auto: key=value on a terminal, JSON otherwise; or force json / console.",
    )
    data_dir: Path = Field(
        default=Path(".resync"),
        description="Where the embedded stores live (SQLite files, vector index).",
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone in which answers show times (e.g. Europe/Rome).",
    )
    host: str = Field(default="127.0.0.1", description="Address `resync serve` listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `resync serve` listens on.")
    shutdown_grace_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Seconds `resync serve` lets answers and runbook steps in progress finish "
        "after SIGTERM before cancelling them; keep below the platform's stop timeout.",
    )

    # --- TWS / HWA engine ------------------------------------------------------------------
    tws_url: str | None = Field(
        default=None,
        description="Base URL of the HWA master, e.g. https://twsmaster:31116 (no path).",
    )
    tws_user: str | None = Field(default=None, description="Engine user for HTTP Basic auth.")
    tws_password: SecretStr | None = Field(default=None, description="Password of tws_user.")
    tws_api_key: SecretStr | None = Field(
        default=None, description="API key (a JWT) sent as a Bearer token instead of Basic auth."
    )
    tws_verify_tls: bool = Field(default=True, description="Verify the master's TLS certificate.")
    tws_ca_bundle: Path | None = Field(
        default=None, description="PEM file of the CA that signed the master's certificate."
    )
    tws_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Whole-request timeout for one engine call."
    )
    tws_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="TCP/TLS connect timeout for one engine call."
    )
    tws_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of idempotent reads (never of actions)."
    )
    tws_breaker_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures that open the circuit breaker."
    )
    tws_breaker_reset_seconds: float = Field(
        default=30.0, gt=0, description="Seconds the breaker stays open before one trial call."
    )
    tws_page_size: int = Field(
        default=500, ge=1, le=5000, description="Page size asked of the engine for plan queries."
    )

    # --- stores ----------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://... for audit, checkpoints and incidents; SQLite under data_dir when unset.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://... for dedupe, leases and rate limits; in-memory when unset.",
    )

    # --- audit log -------------------------------------------------------------------------
    audit_key: SecretStr | None = Field(
        default=None,
        description="Key-encryption key: 32 bytes, base64. Generated under data_dir when unset.",
    )
    audit_key_file: Path | None = Field(
        default=None, description="File holding the key-encryption key (instead of audit_key)."
    )
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs checkpoints; generated under data_dir when unset.",
    )
    audit_checkpoint_every_records: int = Field(
        default=1000, ge=1, description="A signed checkpoint at least every N records."
    )
    audit_checkpoint_every_seconds: float = Field(
        default=300.0, gt=0, description="A signed checkpoint at least every T seconds, even idle."
    )

    # --- LLM (optional) --------------------------------------------------------------------
    llm_model: str | None = Field(
        default=None,
        description="litellm model name (e.g. openai/gpt-4o-mini); unset: the deterministic parser only.",
    )
    llm_api_base: str | None = Field(
        default=None, description="OpenAI-compatible base URL for the LLM."
    )
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the LLM.")
    llm_timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one LLM call.")

    # --- Slack -----------------------------------------------------------------------------
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

    # --- runbooks --------------------------------------------------------------------------
    runbooks_dir: Path | None = Field(
        default=None,
        description="A directory of your own runbook YAML files, loaded after the shipped ones.",
    )
    approval_policy_file: Path | None = Field(
        default=None,
        description="Approval groups (YAML); the shipped config/approval_policy.yaml when unset.",
    )
    runbook_signing_key: SecretStr | None = Field(
        default=None,
        description="Key (16+ characters, the same on every replica) that signs approval buttons; generated under data_dir when unset.",
    )
    runbook_lease_seconds: float = Field(
        default=30.0, gt=0, description="Lease that makes one replica the executor of a runbook."
    )

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

    # --- bundled simulator -----------------------------------------------------------------
    sim_scenario: str = Field(
        default="normal", description="Scenario the bundled simulator loads for `resync demo`."
    )
    sim_speed: float = Field(
        default=60.0,
        ge=0,
        description="Simulated seconds per real second in `resync demo` (0: frozen).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"an IANA time zone name such as UTC or Europe/Rome, not {value!r}"
            ) from exc
        return value

    @field_validator(
        "tws_url",
        "llm_api_base",
        "slack_api_url",
        "teams_openid_metadata_url",
        "pagerduty_events_url",
        "pager_webhook_url",
    )
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value == "":
            return None
        authority = re.split(r"[/?#]", value.split("://", 1)[-1], maxsplit=1)[0]
        if "@" in authority:
            # user:password@host would be shown in answers' sources, /healthz and
            # `resync config show`; checked before anything that repeats the value.
            where = _CREDENTIALS_GO.get(info.field_name or "", "this URL needs none")
            raise ValueError(
                "a URL without user name or password (they would show in answers, /healthz "
                f"and `resync config show`): {where}"
            )
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"an http:// or https:// URL, not {value!r}")
        return value.rstrip("/")

    @field_validator("slack_allowed_workspaces", "teams_allowed_tenants")
    @classmethod
    def _id_list(cls, value: str | None, info: ValidationInfo) -> str | None:
        ids = _split_ids(value)
        if not ids:
            return None
        if info.field_name == "slack_allowed_workspaces":
            bad = [i for i in ids if not _SLACK_TEAM_ID.fullmatch(i)]
            if bad:
                raise ValueError(
                    f"Slack workspace ids (T…) or Enterprise Grid ids (E…), not {', '.join(bad)}"
                )
        return ",".join(ids)

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
        return ",".join(_split_ids(value))

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("a postgresql://user@host:port/db URL (SQLite is used when unset)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("a redis://host:port/db URL (in-memory store when unset)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems: list[str] = []
        if self.tws_user and self.tws_password is None:
            problems.append(
                "tws_password (RESYNC_TWS_PASSWORD): required when RESYNC_TWS_USER is set"
            )
        if self.tws_password is not None and not self.tws_user:
            problems.append("tws_user (RESYNC_TWS_USER): required when RESYNC_TWS_PASSWORD is set")
        if self.tws_ca_bundle is not None and not self.tws_ca_bundle.is_file():
            problems.append(
                f"tws_ca_bundle (RESYNC_TWS_CA_BUNDLE): no such file {self.tws_ca_bundle}"
            )
        if self.runbooks_dir is not None and not self.runbooks_dir.is_dir():
            problems.append(
                f"runbooks_dir (RESYNC_RUNBOOKS_DIR): no such directory {self.runbooks_dir}"
            )
        if self.approval_policy_file is not None and not self.approval_policy_file.is_file():
            problems.append(
                f"approval_policy_file (RESYNC_APPROVAL_POLICY_FILE): no such file {self.approval_policy_file}"
            )
        if (
            self.runbook_signing_key is not None
            and len(self.runbook_signing_key.get_secret_value()) < 16
        ):
            problems.append(
                "runbook_signing_key (RESYNC_RUNBOOK_SIGNING_KEY): at least 16 characters"
            )
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
        if self.audit_key is not None and self.audit_key_file is not None:
            problems.append("audit_key / audit_key_file: set one of them, not both")
        if self.teams_app_type != "MultiTenant" and self.teams_app_id and not self.teams_tenant_id:
            problems.append(
                f"teams_tenant_id (RESYNC_TEAMS_TENANT_ID): required for app type {self.teams_app_type}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def slack_workspace_ids(self) -> frozenset[str] | None:
        """The Slack workspaces and grids to answer; None: the bot token's own workspace."""
        ids = _split_ids(self.slack_allowed_workspaces)
        return frozenset(ids) if ids else None

    @property
    def teams_tenant_ids(self) -> frozenset[str]:
        """The Teams tenants to answer: the allowed list, else the app's tenant, else none."""
        ids = _split_ids(self.teams_allowed_tenants) or _split_ids(self.teams_tenant_id)
        return frozenset(i.lower() for i in ids)  # tenant ids are GUIDs: case does not matter

    @property
    def incident_manager_group_names(self) -> tuple[str, ...]:
        """The approval-policy groups that may manage any incident."""
        return tuple(_split_ids(self.incident_manager_groups))

    @property
    def tws_configured(self) -> bool:
        """True when a real engine URL is set (``resync chat`` needs one)."""
        return self.tws_url is not None

    @property
    def zone(self) -> ZoneInfo:
        """The display time zone."""
        return ZoneInfo(self.timezone)

    def describe(self) -> dict[str, Any]:
        """Return the effective configuration, secrets masked, keyed by environment variable.

        Returns:
            A mapping ``RESYNC_NAME -> value`` where secrets that are set show as ``'********'``.
        """
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            shown[f"RESYNC_{name.upper()}"] = value
        return shown


def _split_ids(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _describe_error(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if not location:
        return message
    return f"{location} (RESYNC_{location.upper()}): {message}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, ``.env`` and explicit overrides.

    Args:
        **overrides: Values that win over the environment (used by the CLI and tests).

    Returns:
        The validated settings.

    Raises:
        ConfigurationError: One or more settings are bad; every one is listed.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors():
            # The cross-field validator joins several problems into one message.
            text = _describe_error(error)
            problems.extend(part.strip() for part in text.split("; ") if part.strip())
        raise ConfigurationError(problems) from None
