"""Start-up time of the ``resync`` command: wall time per command, median of N subprocess runs.

Each run is a fresh ``python -m bot.cli`` process (imports included, as a user sees it):

- ``resync --help``
- ``resync config show``
- ``resync audit verify`` on a fresh log of a few records
- ``resync ask --demo "status of PAYROLL_EXTRACT"`` (bundled simulator started in-process)

Targets (start-up issue): ``--help`` <= 0.3 s, ``audit verify`` on a small log <= 0.5 s,
``ask`` <= 1 s. Find what a command imports with
``python -X importtime -m bot.cli --help 2>imp.txt``.

    .venv/bin/python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS: list[tuple[str, list[str]]] = [
    ("resync --help", ["--help"]),
    ("resync config show", ["config", "show"]),
    ("resync audit verify (small log)", ["audit", "verify"]),
    (
        'resync ask --demo "status of PAYROLL_EXTRACT"',
        ["ask", "--demo", "status of PAYROLL_EXTRACT"],
    ),
]


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESYNC_")}
    env["RESYNC_DATA_DIR"] = str(data_dir)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no network fetch if litellm is imported
    return env


def _small_log(data_dir: Path, records: int = 20) -> None:
    """A fresh audit log of ``records`` records (what ``audit verify`` reads)."""
    from config.settings import Settings
    from integrations.audit import open_audit_log

    async def fill() -> None:
        log = await open_audit_log(Settings(data_dir=data_dir))
        for i in range(records):
            await log.record(
                action="question",
                outcome="ok",
                actor_id=f"U{i % 3}",
                actor_identity=None,
                target="JS",
            )
        await log.close()

    asyncio.run(fill())


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"resync {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def main() -> None:
    """Print the median wall time of each command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        _small_log(data_dir)
        env = _environment(data_dir)
        print(f"{'command':<48} {'median':>8} {'min':>8} {'max':>8}  ({args.runs} runs)")
        for name, argv in COMMANDS:
            times = [_time_once(argv, env) for _ in range(args.runs)]
            print(
                f"{name:<48} {statistics.median(times):>7.3f}s {min(times):>7.3f}s "
                f"{max(times):>7.3f}s"
            )


if __name__ == "__main__":
    main()
