"""``resync incidents list|show|stats|export`` on a database in a temp dir (no chat)."""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
from pathlib import Path

import pytest
from chat_incident_support import T0, slack_actor
from slack_support import RecordingAudit

from agents.incidents import IncidentPolicy, IncidentService
from bot.cli_incidents import register
from bot.incidents.rooms import RoomsRouter
from config.settings import Settings
from integrations.db import SQLITE_FILE, open_database
from integrations.store import MemoryStore

ANA = slack_actor("ana")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("RESYNC_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]


def run(data_dir: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="resync")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["incidents", *argv])
    code: int = args.handler(args, settings(data_dir))
    return code


def seed(data_dir: Path) -> None:
    async def declare() -> None:
        db = await open_database(None, data_dir=data_dir)
        try:
            service = IncidentService(
                db=db,
                rooms=RoomsRouter(),  # no platform: the rooms step waits, the incident exists
                audit=RecordingAudit(),
                store=MemoryStore(),
                policy=IncidentPolicy(),
                clock=lambda: T0,
            )
            first = await service.declare(key="a", actor=ANA, title="PAYROLL_EXTRACT abended")
            await service.declare(
                key="b", actor=ANA, title="GL\x1b[31m late\u202e", severity="SEV1"
            )
            await service.set_status(first.incident.id, actor=ANA, status="active")
            await service.resolve(
                first.incident.id, actor=ANA, summary="Rerun after fixing the input"
            )
        finally:
            await db.close()

    asyncio.run(declare())


@pytest.fixture
def seeded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    seed(tmp_path)
    capsys.readouterr()  # the service's log lines (rooms cannot open here)
    return tmp_path


def test_no_database_is_an_error_and_none_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "list") == 1
    assert "no incident database at" in capsys.readouterr().err
    assert not (tmp_path / SQLITE_FILE).exists()


def test_list_show_and_stats(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path = seeded
    assert run(tmp_path, "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["INC-2026-0002", "INC-2026-0001"]
    assert "\x1b" not in out[0]
    assert "\u202e" not in out[0]
    assert "resolved" in out[1]
    assert "Ana" in out[1]

    assert run(tmp_path, "list", "--open") == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["INC-2026-0002"]

    assert run(tmp_path, "show", "inc-2026-0001") == 0
    shown = capsys.readouterr().out
    assert shown.startswith("INC-2026-0001: PAYROLL_EXTRACT abended")
    assert "resolution: Rerun after fixing the input" in shown
    assert "declared" in shown
    assert "timeline:" in shown

    assert run(tmp_path, "show", "INC-2026-0099") == 1
    assert "no incident INC-2026-0099" in capsys.readouterr().err

    assert run(tmp_path, "stats") == 0
    stats = capsys.readouterr().out.splitlines()
    assert stats[0] == "2 incidents, 1 open"
    sev3 = next(line for line in stats if line.startswith("SEV3"))
    assert sev3.split()[1:3] == ["1", "0"]


def test_export_writes_the_postmortem_markdown(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = seeded
    target = tmp_path / "pm.md"
    assert run(tmp_path, "export", "INC-2026-0001", "--output", str(target)) == 0
    assert "Wrote the postmortem draft of INC-2026-0001 to" in capsys.readouterr().out
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Postmortem (draft): INC-2026-0001 — PAYROLL_EXTRACT abended")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    assert run(tmp_path, "export", "INC-2026-0002") == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# Postmortem (draft): INC-2026-0002")
    assert "\x1b" not in printed

    assert run(tmp_path, "export", "INC-2026-0001", "--output", str(tmp_path / "no" / "x.md")) == 2
