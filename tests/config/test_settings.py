"""Settings: every bad field listed at once, secrets masked, `resync config show`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigurationError, load_settings


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
