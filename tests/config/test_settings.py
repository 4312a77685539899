"""Settings: every bad field listed at once, secrets masked, `resync config show`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import ConfigurationError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("RESYNC_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_embedded_default() -> None:
    settings = load_settings()
    assert settings.tws_url is None
    assert settings.database_url is None
    assert settings.sim_scenario == "normal"


def test_every_bad_field_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESYNC_TWS_URL", "twsmaster:31116")
    monkeypatch.setenv("RESYNC_PORT", "99999")
    monkeypatch.setenv("RESYNC_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("RESYNC_TWS_VERIFY_TLS", "maybe")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    text = str(caught.value)
    for name in ("RESYNC_TWS_URL", "RESYNC_PORT", "RESYNC_TIMEZONE", "RESYNC_TWS_VERIFY_TLS"):
        assert name in text, text


def test_inconsistent_fields_are_listed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # Cross-field checks run once every field is valid on its own.
    monkeypatch.setenv("RESYNC_TWS_USER", "twsuser")  # no password
    monkeypatch.setenv("RESYNC_TWS_CA_BUNDLE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith("tws_password (RESYNC_TWS_PASSWORD)")
    assert any("RESYNC_TWS_CA_BUNDLE" in problem for problem in caught.value.problems)


def test_describe_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESYNC_TWS_URL", "https://twsmaster:31116")
    monkeypatch.setenv("RESYNC_TWS_USER", "twsuser")
    monkeypatch.setenv("RESYNC_TWS_PASSWORD", "hunter2-secret")
    shown = load_settings().describe()
    assert shown["RESYNC_TWS_PASSWORD"] == "********"
    assert "hunter2-secret" not in repr(shown)
    assert shown["RESYNC_TWS_USER"] == "twsuser"


def _resync(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
    env.update(extra)
    return env


def test_config_show_masks_and_bad_config_exits_2(tmp_path: Path) -> None:
    ok = _resync(
        "config",
        "show",
        env=_env(RESYNC_TWS_API_KEY="eyJabc.def.ghi", RESYNC_DATA_DIR=str(tmp_path)),
    )
    assert ok.returncode == 0, ok.stderr
    assert "RESYNC_TWS_API_KEY" in ok.stdout
    assert "eyJabc" not in ok.stdout
    bad = _resync("config", "show", env=_env(RESYNC_PORT="0", RESYNC_TWS_VERIFY_TLS="maybe"))
    assert bad.returncode == 2
    assert "RESYNC_PORT" in bad.stderr
    assert "RESYNC_TWS_VERIFY_TLS" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_env_example_and_readme_document_every_setting() -> None:
    from config.reference import env_example, markdown_table

    root = Path(__file__).parents[2]
    hint = "run: .venv/bin/python -m config.reference"
    assert (root / ".env.example").read_text(encoding="utf-8") == env_example(), hint
    assert markdown_table() in (root / "README.md").read_text(encoding="utf-8"), hint


def test_credentials_in_the_tws_url_are_refused_and_never_repeated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for url in ("https://twsuser:hunter2@twsmaster:31116", "twsuser:hunter2@twsmaster"):
        monkeypatch.setenv("RESYNC_TWS_URL", url)
        with pytest.raises(ConfigurationError) as caught:
            load_settings()
        (problem,) = caught.value.problems
        assert problem.startswith("tws_url (RESYNC_TWS_URL)")
        for where in ("RESYNC_TWS_USER", "RESYNC_TWS_PASSWORD", "RESYNC_TWS_API_KEY"):
            assert where in problem
        assert "hunter2" not in str(caught.value)
        with pytest.raises(ValidationError) as raw:  # nor in pydantic's own message
            Settings(_env_file=None)  # type: ignore[call-arg]
        assert "hunter2" not in str(raw.value)
    monkeypatch.setenv("RESYNC_TWS_URL", "https://twsmaster:31116/twsd?owner=ops@example.com")
    assert load_settings().tws_url == "https://twsmaster:31116/twsd?owner=ops@example.com"


def test_config_show_refuses_a_tws_url_with_a_password(tmp_path: Path) -> None:
    done = _resync(
        "config",
        "show",
        env=_env(RESYNC_TWS_URL="https://u:hunter2@twsmaster:31116", RESYNC_DATA_DIR=str(tmp_path)),
    )
    assert done.returncode == 2
    assert "RESYNC_TWS_PASSWORD" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_allowed_workspaces_and_tenants(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.slack_workspace_ids is None  # the bot token's own workspace
    assert settings.teams_tenant_ids == frozenset()  # no tenant: Teams answers none
    monkeypatch.setenv("RESYNC_TEAMS_TENANT_ID", "AAAA-1")
    assert load_settings().teams_tenant_ids == {"aaaa-1"}
    monkeypatch.setenv("RESYNC_SLACK_ALLOWED_WORKSPACES", " T0123ABC, E0456DEF ,")
    monkeypatch.setenv("RESYNC_TEAMS_ALLOWED_TENANTS", "bbbb-2,CCCC-3")
    settings = load_settings()
    assert settings.slack_workspace_ids == {"T0123ABC", "E0456DEF"}
    assert settings.teams_tenant_ids == {"bbbb-2", "cccc-3"}  # the list wins over the tenant id
    monkeypatch.setenv("RESYNC_SLACK_ALLOWED_WORKSPACES", "T0123ABC,acme")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "RESYNC_SLACK_ALLOWED_WORKSPACES" in str(caught.value)
    assert "acme" in str(caught.value)
