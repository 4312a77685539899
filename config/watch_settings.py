"""Watch and alert settings (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["WatchSettings"]


class WatchSettings(BaseModel):
    """The ``RESYNC_WATCH_*`` and ``RESYNC_ALERTS_*`` settings."""

    watch_enabled: bool = Field(
        default=True,
        description="Run the watcher inside `resync serve` when an alerts channel is set "
        "(one replica watches at a time).",
    )
    watch_interval_seconds: float = Field(
        default=60.0,
        ge=5,
        le=3600,
        description="Seconds between watch cycles (each reads what changed in the plan).",
    )
    watch_lease_seconds: float = Field(
        default=30.0,
        ge=5,
        le=600,
        description="The watcher's leadership lease: another replica takes over within two "
        "lease periods when the watching one dies.",
    )
    watch_risk_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Alert on a deadline when the probability of missing it reaches this.",
    )
    watch_samples: int = Field(
        default=1000,
        ge=100,
        le=100_000,
        description="Monte Carlo samples per deadline forecast.",
    )
    alerts_slack_channel: str | None = Field(
        default=None,
        description="Slack channel id (C…) where alerts are posted (the bot must be a member); "
        "unset: no alerts in Slack.",
    )
    alerts_teams_channel: str | None = Field(
        default=None,
        description="Teams channel conversation id (19:…@thread.tacv2) where alerts are posted; "
        "unset: no alerts in Teams.",
    )
    alerts_per_hour: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="New alerts per channel per hour; beyond it, one digest message sums up the rest.",
    )
    watch_rules_file: Path | None = Field(
        default=None,
        description="Auto-remediation rules (YAML: job pattern + error pattern + runbook + "
        "attempts per night); unset: no automatic runbook requests (the default).",
    )

    @property
    def watching(self) -> bool:
        """Whether `resync serve` runs the watcher: enabled, and an alerts channel to post to.

        Without a channel every cycle would cost engine calls for alerts nobody sees; chat
        questions ("what's unusual tonight?") then run a cycle when asked.
        """
        return self.watch_enabled and bool(self.alerts_slack_channel or self.alerts_teams_channel)
