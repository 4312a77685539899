"""The `resync` command as a user runs it: real processes, real stdin/stdout, real signals."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

RESYNC = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
    env.update(RESYNC_DATA_DIR=str(tmp_path / "data"), RESYNC_SIM_SPEED="0", **extra)
    return env


def test_demo_answers_what_failed_tonight(tmp_path: Path) -> None:
    done = subprocess.run(
        [*RESYNC, "demo"],
        input="what failed tonight?\nwhy did PAYROLL_EXTRACT abend?\nrerun it\n",
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "failed in the current plan" in done.stdout
    assert "PAYROLL_EXTRACT" in done.stdout
    assert "ORA-01555" in done.stdout
    assert "waiting for approval" in done.stdout  # "rerun it": the approval card ...
    assert "the terminal shows the card only" in done.stdout  # ... approved in Slack or Teams
    assert "Traceback" not in done.stdout + done.stderr
    # The question and the answer are in the structured log file, not on the screen.
    log = (tmp_path / "data" / "resync.log").read_text(encoding="utf-8")
    assert '"event": "question.answered"' in log


def test_demo_exits_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*RESYNC, "demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp_path),
        cwd=tmp_path,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()  # the chat is up and waiting for input
    assert banner.startswith("Resync")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_chat_without_an_engine_is_a_configuration_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*RESYNC, "chat"],
        input="",
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "RESYNC_TWS_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_ask_against_an_unreachable_engine_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [*RESYNC, "ask", "what failed tonight?"],
        capture_output=True,
        text=True,
        env=clean_env(
            tmp_path,
            RESYNC_TWS_URL="http://127.0.0.1:9",
            RESYNC_TWS_RETRIES="0",
        ),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1  # scripts and smoke tests see that there was no answer
    assert "I could not reach TWS at http://127.0.0.1:9: connection refused." in done.stdout
    assert f"details in {tmp_path / 'data' / 'resync.log'}" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_audit_show_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    first = subprocess.run(
        [*RESYNC, "ask", "--demo", "help"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert first.returncode == 0, first.stderr  # the audit log now holds a few records
    # `resync audit show | head -0`: the reader is gone before the first line is written.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [*RESYNC, "audit", "show"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(tmp_path),
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)
    assert done.returncode == 0, done.stderr
    assert "BrokenPipe" not in done.stderr
    assert "Broken pipe" not in done.stderr
    assert "Traceback" not in done.stderr


def test_pytest_is_not_a_runtime_dependency() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [dep.split(">")[0].split("[")[0].strip() for dep in project["dependencies"]]
    assert "pytest" not in runtime
    assert any(dep.startswith("pytest>") for dep in project["optional-dependencies"]["dev"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scenario", ["agent-down"])
def test_simulator_command_serves_the_api_with_auth(tmp_path: Path, scenario: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*RESYNC, "simulator", "--port", str(port), "--scenario", scenario, "--speed", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp_path),
    )
    try:
        url = f"http://127.0.0.1:{port}/twsd/api/v2/plan/workstation"
        deadline = time.monotonic() + 30
        status = None
        while status is None:
            try:
                urllib.request.urlopen(url, timeout=2)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.2)
        assert status == 401  # up, and refuses a request without credentials
        token = base64.b64encode(b"twsuser:twspass").decode()
        request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read().decode()
        assert '"linked": false' in body  # the agent-down scenario has an unlinked agent
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_serve_reports_health_and_mounts_slack(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*RESYNC, "serve", "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(
            tmp_path,
            RESYNC_PORT=str(port),
            RESYNC_SLACK_BOT_TOKEN="xoxb-test-token-0000",
            RESYNC_SLACK_SIGNING_SECRET="test-signing-secret",
            RESYNC_SLACK_API_URL="http://127.0.0.1:9/api/",
        ),
    )
    try:
        assert process.stdout is not None
        assert "listening on" in process.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.loads(response.read())
        assert health["status"] == "ok"
        assert health["surfaces"] == ["slack"]
        assert health["tws"]["circuit"] == "closed"
        unsigned = urllib.request.Request(
            f"http://127.0.0.1:{port}/slack/events", data=b"command=%2Ftws&text=help", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=5)
        assert refused.value.code == 401  # an unsigned request is refused before anything else
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert "xoxb-test-token-0000" not in stderr  # secrets never logged


def test_runbooks_validate_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "bad.yaml").write_text(
        "id: bad-one\ntitle: Broken\ndescription: x\nversion: 1\nrisk: extreme\n"
        "parameters: []\nsteps:\n  - {kind: message, text: hi}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [*RESYNC, "runbooks", "validate", str(folder)],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{folder / 'bad.yaml'}:5: risk:" in done.stdout + done.stderr
    shipped = subprocess.run(
        [*RESYNC, "runbooks", "list"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert shipped.returncode == 0
    assert "rerun-abended-job" in shipped.stdout


def test_unreachable_redis_stops_start_with_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [*RESYNC, "ask", "--demo", "help"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path, RESYNC_REDIS_URL="redis://127.0.0.1:9/0"),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot start the shared store (RESYNC_REDIS_URL)" in done.stderr
    assert "Traceback" not in done.stderr


def test_wrong_audit_key_stops_start_with_one_clear_line(tmp_path: Path) -> None:
    first = subprocess.run(
        [*RESYNC, "ask", "--demo", "help"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert first.returncode == 0, first.stderr  # the log now exists under a generated key
    other_key = base64.b64encode(bytes(range(32))).decode()
    second = subprocess.run(
        [*RESYNC, "ask", "--demo", "help"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path, RESYNC_AUDIT_KEY=other_key),
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "cannot start the audit log: wrong key-encryption key" in second.stderr
    assert other_key not in second.stderr + second.stdout  # never print a key
    assert "Traceback" not in second.stderr
