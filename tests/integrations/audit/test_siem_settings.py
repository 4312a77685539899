"""`SiemSettings`: addresses, URLs, and the checks across settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config.siem_settings import SiemSettings, split_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("siem.example.com:6514", ("siem.example.com", 6514)),
        ("10.0.0.5:514", ("10.0.0.5", 514)),
        ("[::1]:6514", ("::1", 6514)),
    ],
)
def test_split_address(text: str, expected: tuple[str, int]) -> None:
    assert split_address(text) == expected


@pytest.mark.parametrize("text", ["siem.example.com", "host:0", "host:70000", "a b:1", ":514"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="host:port"):
        SiemSettings(siem_syslog_address=text)


def test_hec_url_without_credentials_and_with_a_scheme() -> None:
    assert SiemSettings(siem_hec_url="https://splunk:8088/").siem_hec_url == "https://splunk:8088"
    with pytest.raises(ValidationError, match="RESYNC_SIEM_HEC_TOKEN"):
        SiemSettings(siem_hec_url="https://admin:pw@splunk:8088")
    with pytest.raises(ValidationError, match="http"):
        SiemSettings(siem_hec_url="splunk:8088")


def test_problems_across_settings(tmp_path: Path) -> None:
    assert SiemSettings().siem_problems() == []
    assert SiemSettings().siem_destinations == ()
    problems = SiemSettings(
        siem_hec_url="https://splunk:8088",
        siem_syslog_ca_file=tmp_path / "nope.pem",
    ).siem_problems()
    assert any("RESYNC_SIEM_HEC_TOKEN" in p for p in problems)
    assert any("nope.pem" in p for p in problems)
    lonely = SiemSettings(siem_forward_in_serve=True).siem_problems()
    assert lonely
    assert "RESYNC_SIEM_FORWARD_IN_SERVE" in lonely[0]
    both = SiemSettings(
        siem_hec_url="https://s:8088", siem_hec_token="t", siem_syslog_address="h:514"
    )
    assert both.siem_destinations == ("hec", "syslog")
    assert both.siem_problems() == []
