"""The scaled-out deployment files (compose.yaml, deploy/) agree with the code.

Docker Compose itself is not on the CI machines, so this checks what can drift silently:
every setting the files name exists, the secrets script really produces a configuration
Resync accepts (run here, with the real openssl), and the replicas share what they must.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from config.settings import Settings
from integrations.audit.keys import load_signing_key

ROOT = Path(__file__).resolve().parents[2]
SETTING_NAMES = {f"RESYNC_{name.upper()}" for name in Settings.model_fields}


def _compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _env_lines(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value for key, value in pairs if not key.lstrip().startswith("#")}


def test_replicas_share_state_and_every_setting_named_exists() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    resync = services["resync"]
    assert resync["deploy"]["replicas"] >= 2
    environment = resync["environment"]
    assert environment["RESYNC_REDIS_URL"].startswith("redis://")
    assert environment["RESYNC_AUDIT_SIGNING_KEY_FILE"].startswith("/run/secrets/")
    named = set(environment) | set(
        _env_lines((ROOT / "deploy" / "resync.env.example").read_text(encoding="utf-8"))
    )
    unknown = {name for name in named if name.startswith("RESYNC_")} - SETTING_NAMES
    assert not unknown, f"not settings: {sorted(unknown)}"
    assert {"balancer", "postgres", "redis", "simulator"} <= set(services)
    # The balancer's upstream is the replicated service.
    assert "server resync:8080" in (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_secrets_script_writes_a_configuration_resync_accepts(tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    run = subprocess.run(
        ["sh", str(deploy / "make-secrets.sh")], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    env_file = deploy / "resync.env"
    assert env_file.stat().st_mode & 0o077 == 0  # secrets readable by the owner only
    values = _env_lines(env_file.read_text(encoding="utf-8"))
    assert not [value for value in values.values() if "__" in value]
    settings = Settings(
        _env_file=None,
        audit_key=values["RESYNC_AUDIT_KEY"],
        runbook_signing_key=values["RESYNC_RUNBOOK_SIGNING_KEY"],
        database_url=values["RESYNC_DATABASE_URL"],
        metrics_token=values["RESYNC_METRICS_TOKEN"],
        audit_signing_key_file=deploy / "secrets" / "audit-signing.pem",
        data_dir=tmp_path / "data",
    )
    assert load_signing_key(settings, create=False) is not None
    assert values["POSTGRES_PASSWORD"] in values["RESYNC_DATABASE_URL"]
    again = subprocess.run(
        ["sh", str(deploy / "make-secrets.sh")], capture_output=True, check=False
    )
    assert again.returncode == 1  # never overwrites existing secrets
