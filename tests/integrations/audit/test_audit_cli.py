"""``resync audit ...`` handlers: exit codes and output."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot import cli_audit
from config.settings import Settings
from integrations.audit import open_audit_log


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="resync")
    cli_audit.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    result: int = args.handler(args, settings)
    return result


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_records=4)

    async def fill() -> None:
        log = await open_audit_log(settings)
        for i in range(10):
            await log.record(
                action="job.rerun" if i % 2 else "question",
                outcome="ok",
                actor_id=f"U{i % 2}",
                actor_identity=f"p{i % 2}@example.com",
                target=f"JS{i}",
            )
        await log.close()

    asyncio.run(fill())
    return settings


def test_verify_show_export_erase_rotate_checkpoint(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(settings, "verify") == 0
    assert "OK: 10 records" in capsys.readouterr().out

    assert _run(settings, "show", "--action", "question") == 0
    out = capsys.readouterr().out
    assert "(5 records)" in out
    assert "p0@example.com" in out

    cp = tmp_path / "cp.json"
    assert _run(settings, "checkpoint", "--out", str(cp)) == 0
    assert json.loads(cp.read_text())["format"] == "resync-audit-checkpoint/1"
    assert _run(settings, "verify", "--checkpoint", str(cp)) == 0

    out_file = tmp_path / "x.cef"
    assert _run(settings, "export", "--format", "cef", "--out", str(out_file)) == 0
    assert out_file.read_text().count("CEF:0|Resync|Resync|") == 10
    capsys.readouterr()
    assert _run(settings, "export", "--format", "jsonl", "--actor", "U1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert all(json.loads(x)["actor_id"] == "U1" for x in lines)

    assert _run(settings, "erase", "--subject", "p1@example.com") == 0
    assert _run(settings, "show") == 0
    assert capsys.readouterr().out.count("[erased]") == 5
    assert _run(settings, "verify", "--checkpoint", str(cp), "--deep") == 0

    assert _run(settings, "rotate-key") == 0
    assert _run(settings, "show") == 0
    assert "(10 records)" in capsys.readouterr().out


def test_verify_failure_names_the_seq(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with closing(sqlite3.connect(settings.data_dir / "audit.db")) as conn, conn:
        conn.execute("UPDATE audit_records SET ts_us = ts_us + 1 WHERE seq = 6")
    assert _run(settings, "verify") == 1
    captured = capsys.readouterr()
    assert "FAIL: seq 6:" in captured.out
    assert "verification failed" in captured.err


def test_bad_input_exits_2(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    assert _run(settings, "verify", "--checkpoint", str(bogus)) == 2
    assert "checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        _run(settings, "show", "--since", "yesterday-ish")
    assert caught.value.code == 2
    assert _run(settings, "rotate-key", "--new-key-file", str(tmp_path / "k")) == 0
    wrong = Settings(data_dir=settings.data_dir, audit_key_file=tmp_path / "missing")
    assert _run(wrong, "show") == 2
