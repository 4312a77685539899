"""SIEM forwarding settings: Splunk HEC and syslog (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields,
their checks, and `siem_problems` for the checks that involve several of them.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

__all__ = ["SiemSettings", "split_address"]

_ADDRESS = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(?P<port>[0-9]{1,5})$")


def split_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6) into its parts.

    Args:
        value: The address.

    Returns:
        ``(host, port)``; an IPv6 host without its brackets.

    Raises:
        ValueError: Not ``host:port`` with a port from 1 to 65535.
    """
    match = _ADDRESS.match(value.strip())
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(f"host:port (e.g. siem.example.com:6514), not {value!r}")
    return match["host"].strip("[]"), int(match["port"])


class SiemSettings(BaseModel):
    """The ``RESYNC_SIEM_*`` settings: where the audit log is forwarded, and how."""

    siem_hec_url: str | None = Field(
        default=None,
        description="Splunk HTTP Event Collector URL (https://splunk:8088, or the full "
        ".../services/collector/event); unset: no forwarding to Splunk.",
    )
    siem_hec_token: SecretStr | None = Field(
        default=None, description="HEC token, sent as `Authorization: Splunk <token>`."
    )
    siem_hec_index: str | None = Field(
        default=None, description="Splunk index of the events; unset: the token's default index."
    )
    siem_hec_sourcetype: str = Field(
        default="resync:audit", description="Splunk sourcetype of the events."
    )
    siem_hec_ca_file: Path | None = Field(
        default=None, description="PEM file of the CA that signed the HEC's certificate."
    )
    siem_syslog_address: str | None = Field(
        default=None,
        description="host:port of a syslog receiver (RFC 5424 over TCP, octet counting, CEF "
        "payload); unset: no forwarding to syslog.",
    )
    siem_syslog_tls: bool = Field(default=False, description="Speak TLS to the syslog receiver.")
    siem_syslog_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the syslog receiver's certificate "
        "(TLS; the system's CAs when unset).",
    )
    siem_forward_in_serve: bool = Field(
        default=False,
        description="Forward the audit log from inside `resync serve` (enable on one replica "
        "only); otherwise run `resync audit forward`.",
    )
    siem_batch_size: int = Field(
        default=100, ge=1, le=5000, description="Records per delivery (one HEC request)."
    )
    siem_poll_seconds: float = Field(
        default=1.0, gt=0, le=300, description="Seconds between looks for new audit records."
    )
    siem_retry_max_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="Longest wait between delivery attempts (exponential backoff with jitter).",
    )

    @field_validator("siem_hec_url")
    @classmethod
    def _hec_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        authority = re.split(r"[/?#]", value.split("://", 1)[-1], maxsplit=1)[0]
        if "@" in authority:
            raise ValueError(
                "a URL without user name or password: set RESYNC_SIEM_HEC_TOKEN instead"
            )
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"an http:// or https:// URL, not {value!r}")
        return value.rstrip("/")

    @field_validator("siem_syslog_address")
    @classmethod
    def _syslog_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split_address(value)
        return value.strip()

    def siem_problems(self) -> list[str]:
        """Problems that involve several SIEM settings (reported with the others)."""
        problems: list[str] = []
        if self.siem_hec_url and self.siem_hec_token is None:
            problems.append(
                "siem_hec_token (RESYNC_SIEM_HEC_TOKEN): required when RESYNC_SIEM_HEC_URL is set"
            )
        for name in ("siem_hec_ca_file", "siem_syslog_ca_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                problems.append(f"{name} (RESYNC_{name.upper()}): no such file {path}")
        if self.siem_forward_in_serve and not self.siem_destinations:
            problems.append(
                "siem_forward_in_serve (RESYNC_SIEM_FORWARD_IN_SERVE): set RESYNC_SIEM_HEC_URL "
                "or RESYNC_SIEM_SYSLOG_ADDRESS too"
            )
        return problems

    @property
    def siem_destinations(self) -> tuple[str, ...]:
        """The configured destinations: ``hec`` and/or ``syslog``."""
        found = []
        if self.siem_hec_url:
            found.append("hec")
        if self.siem_syslog_address:
            found.append("syslog")
        return tuple(found)
