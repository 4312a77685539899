"""A writer killed with SIGKILL at random moments loses no acknowledged record."""

from __future__ import annotations

import asyncio
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.settings import Settings
from integrations.audit import open_audit_log

WRITER = """
import asyncio, sys
from pathlib import Path
from config.settings import Settings
from integrations.audit import open_audit_log

async def main() -> None:
    log = await open_audit_log(Settings(data_dir=Path(sys.argv[1]), audit_checkpoint_every_records=50))
    n = 0
    async def one(i: int) -> None:
        receipt = await log.record(action="load", outcome="ok", actor_id=f"U{i % 7}",
                                   actor_identity=None, parameters={"i": i, "pad": "x" * 200})
        sys.stdout.write(f"{receipt.sequence}\\n")
        sys.stdout.flush()
    while True:
        await asyncio.gather(*(one(n + i) for i in range(16)))
        n += 16

asyncio.run(main())
"""


def _run_and_kill(data_dir: Path, rng: random.Random) -> set[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data_dir)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    acked: set[int] = set()
    buffer = b""
    started = time.monotonic()
    deadline = None
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
        if deadline is None and re.search(rb"(^|\n)\d+\n", buffer):
            deadline = time.monotonic() + rng.uniform(0.05, 0.6)  # writing: kill soon
        if (
            deadline is not None and time.monotonic() >= deadline
        ) or time.monotonic() - started > 8:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    rest = os.read(proc.stdout.fileno(), 1 << 20)
    buffer += rest
    proc.stdout.close()
    *lines, _partial = buffer.split(b"\n")  # a line cut by the kill is not an acknowledgement
    acked.update(int(line) for line in lines if line.strip().isdigit())
    return acked


@pytest.mark.slow
async def test_sigkill_mid_write_loses_no_acknowledged_record(tmp_path: Path) -> None:
    rng = random.Random()
    acked: set[int] = set()
    for _ in range(4):
        got = await asyncio.to_thread(_run_and_kill, tmp_path, rng)
        assert got, "the writer acknowledged nothing before it was killed"
        acked |= got
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_records=50)
    log = await open_audit_log(settings)
    try:
        report = await log.verify()
        assert report.fault is None, report.fault
        records = await log.read()
    finally:
        await log.close()
    present = {r.seq for r in records if r.status == "ok"}
    assert acked <= present
    assert report.last_seq == max(present)
    assert sorted(present) == list(range(1, report.last_seq + 1))
