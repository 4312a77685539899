"""A real `resync serve` reloads its runbooks on SIGHUP, and keeps the old ones when broken.

The process (``resync serve --demo``, Teams in local unauthenticated mode) runs a runbook of
``RESYNC_RUNBOOKS_DIR`` asked for in a Teams message; the file is changed, ``resync reload``
(`bot.cli_reload.run_reload`: pid file, SIGHUP, status file) reports the new version and the
next request runs it; then the file is broken: ``resync reload`` exits 1 naming the file and
line, the log says ``config.reload_failed``, and the previous version still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest
from serve_support import FakeConnector, activity, resync_serve

from bot.cli_reload import run_reload
from bot.reload import PID_FILE
from config.settings import Settings

PROBE = """\
id: reload-probe
title: Say which edition runs (reload test)
description: Read only; its message names the edition of this file.
version: {version}
risk: low
parameters: [{{name: job, type: job}}]
steps:
  - {{kind: message, text: "probe edition {version} for {{job}}"}}
"""
BROKEN = PROBE.format(version=3).replace("risk: low", "risk: extreme")
ASK = "run reload-probe job=PAYROLL_DAILY.PAYROLL_EXTRACT"


async def ask(
    session: aiohttp.ClientSession, base: str, connector: FakeConnector, number: int
) -> str:
    """Send the run request as Teams message ``number`` and return everything posted for it."""
    seen = len(connector.delivered)
    message = activity(ASK, connector.url, f"m-{number}")
    async with session.post(f"{base}/api/messages", json=message) as response:
        assert response.status in (200, 201, 202)
    for _ in range(300):
        posted = json.dumps(connector.delivered[seen:])
        if "probe edition" in posted:
            return posted
        await asyncio.sleep(0.1)
    raise AssertionError(f"no outcome posted: {connector.delivered[seen:]}")


async def reload(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``resync reload`` as its handler runs it; its exit code and what it printed."""
    code = await asyncio.to_thread(
        run_reload, argparse.Namespace(timeout=30.0), Settings(data_dir=data_dir)
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def test_sighup_reloads_a_changed_runbook_and_keeps_it_when_the_file_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    probe = runbooks / "probe.yaml"
    probe.write_text(PROBE.format(version=1))
    data_dir = tmp_path / "data"
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log_handle:
        async with (
            resync_serve(
                tmp_path,
                "--demo",
                stderr=log_handle.fileno(),
                RESYNC_SIM_SPEED="0",
                RESYNC_TEAMS_ALLOW_UNAUTHENTICATED="true",
                RESYNC_LOG_FORMAT="json",
                RESYNC_RUNBOOKS_DIR=str(runbooks),
            ) as (process, base),
            FakeConnector() as connector,
            aiohttp.ClientSession() as session,
        ):
            assert (data_dir / PID_FILE).read_text().strip() == str(process.pid)
            assert "probe edition 1 for" in await ask(session, base, connector, 1)

            probe.write_text(PROBE.format(version=2))
            code, shown = await reload(data_dir, capsys)
            assert code == 0, shown
            assert "runbooks: reloaded: changed reload-probe v1 -> v2" in shown
            assert "probe edition 2 for" in await ask(session, base, connector, 2)

            probe.write_text(BROKEN)
            code, shown = await reload(data_dir, capsys)
            assert code == 1, shown
            assert "runbooks: REFUSED, the previous version stays in force" in shown
            assert f"{probe}:5: risk:" in shown
            assert "probe edition 2 for" in await ask(session, base, connector, 3)
            assert process.returncode is None  # SIGHUP never ends the server

            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
    assert not (data_dir / PID_FILE).exists()
    events = [
        json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")
    ]
    reloaded = [e for e in events if e.get("event") == "config.reloaded"]
    failed = [e for e in events if e.get("event") == "config.reload_failed"]
    assert reloaded[0]["changes"]["runbooks"]["changed"] == ["reload-probe v1 -> v2"]
    assert reloaded[0]["by"].startswith("cli:")
    assert len(failed) == 1
    assert any(f"{probe}:5: risk:" in p for p in failed[0]["problems"])
