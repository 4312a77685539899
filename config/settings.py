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
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.chat_settings import ChatSettings
from config.handover_settings import HandoverSettings
from config.incident_settings import IncidentSettings
from config.knowledge_settings import KnowledgeSettings
from config.llm_settings import LLMAgentSettings
from config.siem_settings import SiemSettings
from config.watch_settings import WatchSettings

__all__ = ["ConfigurationError", "Settings", "load_settings"]

LogFormat = Literal["auto", "json", "console"]

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


class Settings(
    BaseSettings,
    ChatSettings,
    IncidentSettings,
    WatchSettings,
    SiemSettings,
    HandoverSettings,
    KnowledgeSettings,
    LLMAgentSettings,
):
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
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token `GET /metrics` requires (Prometheus `authorization` "
        "credentials); unset: /metrics is open (it shows counts only, never names or ids).",
    )
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
        problems += self.incident_problems()
        problems += self.siem_problems()
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
