"""The data directory holds conversations in clear, the audit log and keys: this user only.

Real processes with the usual umask (022): every file Resync or its libraries create there
is 0600, files already there are tightened, and a directory others can write is refused.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

RESYNC = [sys.executable, "-m", "bot.cli"]


def run(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESYNC_")}
    env.update(RESYNC_DATA_DIR=str(data), RESYNC_SIM_SPEED="0")
    return subprocess.run(
        [*RESYNC, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        umask=0o022,  # what most shells and service managers give a process
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_in_an_existing_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # created by an operator: readable by everyone
    (data / "resync.log").write_text("")
    (data / "resync.log").chmod(0o644)
    with closing(sqlite3.connect(data / "checkpoints.db")) as conn:  # an earlier run's
        conn.execute("CREATE TABLE earlier (x)")
    (data / "checkpoints.db").chmod(0o644)

    done = run(data, "ask", "--demo", "what failed tonight?")
    assert done.returncode == 0, done.stderr

    assert mode(data) == 0o700
    files = sorted(p for p in data.iterdir() if p.is_file())
    names = {p.name for p in files}
    assert {"checkpoints.db", "audit.db", "resync.log", "audit.key"} <= names
    loose = {p.name: oct(mode(p)) for p in files if mode(p) & 0o077}
    assert not loose, loose
    log = (data / "resync.log").read_text(encoding="utf-8")
    assert '"event": "data_dir.tightened"' in log  # the operator learns what was changed


def test_a_data_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    data.mkdir()
    data.chmod(0o775)
    done = run(data, "ask", "--demo", "help")
    assert done.returncode == 2
    assert f"{data} is writable by group or others (mode 0775)" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(data.iterdir()) == []  # nothing written into it, not even the log
    audit = run(data, "audit", "verify")
    assert audit.returncode == 2
    assert "writable by group or others" in audit.stderr
