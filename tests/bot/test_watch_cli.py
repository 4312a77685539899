"""`resync watch ...` as an operator runs it: real processes, the bundled simulator, a mock
Slack Web API for the alerts of the standalone watcher."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from slack_support import MockSlack, serve

RESYNC = [sys.executable, "-m", "bot.cli"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
    env.update(RESYNC_DATA_DIR=str(tmp_path / "data"), RESYNC_SIM_SPEED="0", **extra)
    return env


def resync(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RESYNC, *args],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path, **env),
        cwd=tmp_path,
        timeout=180,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_watch_once_demo_prints_what_it_would_alert(tmp_path: Path) -> None:
    done = resync(tmp_path, "watch", "once", "--demo")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Watch cycle as of ")
    assert "bundled TWS simulator, scenario normal" in lines[0]
    assert lines[1].endswith("alert(s):")
    # The normal night: PAYROLL_EXTRACT abends (ORA-01555) and puts deadlines at risk.
    assert any(line.startswith("[CRITICAL]") and "PAYROLL_EXTRACT" in line for line in lines)
    assert "ORA-01555" in done.stdout
    assert "may miss its deadline" in done.stdout or "missed its deadline" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_watch_once_against_an_unreachable_engine_pauses_and_exits_1(tmp_path: Path) -> None:
    done = resync(
        tmp_path,
        "watch",
        "once",
        RESYNC_TWS_URL=f"http://127.0.0.1:{closed_port()}",
        RESYNC_TWS_USER="u",
        RESYNC_TWS_PASSWORD="p",
        RESYNC_TWS_RETRIES="0",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Watching would pause: engine unreachable (no all-clear while blind)." in done.stdout
    assert "alert(s)" not in done.stdout


def test_watch_baseline_says_how_it_was_built(tmp_path: Path) -> None:
    done = resync(tmp_path, "watch", "baseline", "PAYROLL_EXTRACT", "--demo")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("PAYROLL_DAILY.PAYROLL_EXTRACT: usually ")
    assert "runs)" in first
    assert "median" in first
    nights = [line for line in done.stdout.splitlines() if line.endswith(" min")]
    assert len(nights) >= 3

    missing = resync(tmp_path, "watch", "baseline", "NO_SUCH_JOB", "--demo")
    assert missing.returncode == 1
    assert "NO_SUCH_JOB" in missing.stderr


def test_validate_rules_reports_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "rules:\n  - name: deadlock\n    job: 'PAYROLL_*'\n    error: ORA-00060\n"
        "    runbook: rerun-abended-job\n",
        encoding="utf-8",
    )
    done = resync(tmp_path, "watch", "validate-rules", str(good))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"OK: 1 rule(s) valid ({good})"

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - name: deadlock\n    job: 'PAYROLL_*'\n    error: ORA-00060\n"
        "    runbook: reboot-the-world\n",
        encoding="utf-8",
    )
    done = resync(tmp_path, "watch", "validate-rules", str(bad))
    assert done.returncode == 1
    assert done.stdout.startswith(f"{bad}:5: rules[0].runbook: no runbook 'reboot-the-world'")


async def test_resync_watch_alone_posts_alerts_and_stops_on_sigterm(tmp_path: Path) -> None:
    slack = MockSlack()
    async with serve(slack.app()) as url:
        env = clean_env(
            tmp_path,
            RESYNC_SLACK_BOT_TOKEN="xoxb-test",
            RESYNC_SLACK_SIGNING_SECRET="s" * 32,
            RESYNC_SLACK_API_URL=f"{url}/api",
            RESYNC_ALERTS_SLACK_CHANNEL="CALERTS",
        )
        errors = tmp_path / "stderr.txt"
        with errors.open("wb") as sink:  # a file, not a pipe nobody reads: logs never block
            process = await asyncio.create_subprocess_exec(
                *RESYNC, "watch", "--demo", env=env, cwd=tmp_path, stdout=PIPE, stderr=sink
            )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line.startswith(b"resync watch: watching TWS 127.0.0.1:"), line
            deadline = time.monotonic() + 60
            # Alerts go out one by one: wait for the failure the normal night always has
            # (PAYROLL_EXTRACT, forced ABEND), not merely the first alert.
            while not any(
                "PAYROLL_EXTRACT" in str(c)
                for c in slack.of("chat.postMessage")
                if c.get("channel") == "CALERTS"
            ):
                assert process.returncode is None, tail(errors)
                if time.monotonic() > deadline:
                    pytest.fail("no alert posted within 60 s: " + tail(errors))
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), timeout=30) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    posted = [c for c in slack.of("chat.postMessage") if c.get("channel") == "CALERTS"]
    assert any("PAYROLL_EXTRACT" in str(call) for call in posted)


def tail(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-3000:]


async def test_resync_serve_runs_the_watcher_when_an_alerts_channel_is_set(tmp_path: Path) -> None:
    slack = MockSlack()
    async with serve(slack.app()) as url:
        env = clean_env(
            tmp_path,
            RESYNC_SLACK_BOT_TOKEN="xoxb-test",
            RESYNC_SLACK_SIGNING_SECRET="s" * 32,
            RESYNC_SLACK_API_URL=f"{url}/api",
            RESYNC_ALERTS_SLACK_CHANNEL="CALERTS",
            RESYNC_PORT=str(closed_port()),
            RESYNC_HOST="127.0.0.1",
        )
        errors = tmp_path / "stderr.txt"
        with errors.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *RESYNC, "serve", "--demo", env=env, cwd=tmp_path, stdout=PIPE, stderr=sink
            )
        try:
            deadline = time.monotonic() + 60
            while '"watch.cycle"' not in tail(errors):  # a whole cycle, its alerts posted
                assert process.returncode is None, tail(errors)
                if time.monotonic() > deadline:
                    pytest.fail("no watch cycle within 60 s: " + tail(errors))
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), timeout=60) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    posted = [c for c in slack.of("chat.postMessage") if c.get("channel") == "CALERTS"]
    assert any("PAYROLL_EXTRACT" in str(call) for call in posted)
    log = errors.read_text(encoding="utf-8")
    assert "watch.leading" in log
    assert "watch.cycle" in log
    assert "cpu_ms" in log
    assert "engine_calls" in log
    assert "watch.released" in log  # a clean stop hands the lease on at once
