"""Writers in several processes on one SQLite file keep one chain (BEGIN IMMEDIATE)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from config.settings import Settings
from integrations.audit import open_audit_log

WRITER = """
import asyncio, sys
from pathlib import Path
from config.settings import Settings
from integrations.audit import open_audit_log

async def main() -> None:
    log = await open_audit_log(Settings(data_dir=Path(sys.argv[1]), audit_checkpoint_every_records=40))
    await asyncio.gather(*(log.record(action="w", outcome="ok", actor_id=f"{sys.argv[2]}-{i % 3}",
                                      actor_identity=None) for i in range(120)))
    await log.close()

asyncio.run(main())
"""


async def test_sqlite_writers_in_three_processes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_checkpoint_every_records=40)
    log = await open_audit_log(settings)  # keys and schema created once
    await log.close()
    root = Path(__file__).resolve().parents[3]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"P{i}"], cwd=root)
        for i in range(3)
    ]
    codes = await asyncio.gather(*(asyncio.to_thread(p.wait, 60) for p in procs))
    assert codes == [0, 0, 0]
    log = await open_audit_log(settings)
    try:
        report = await log.verify(deep=True)
        assert report.fault is None, report.fault
        assert report.last_seq == 360
        records = await log.read()
        assert {str(r.content["actor_id"])[:2] for r in records if r.content} == {"P0", "P1", "P2"}
    finally:
        await log.close()
