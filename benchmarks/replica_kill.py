"""The replica-kill test at full size: three `resync serve` replicas, minutes of mixed load,
the watch leader killed with SIGKILL midway and restarted; prints the figures.

The same run as `tests/scenarios/test_replica_kill.py` (which CI runs for 20 s of load),
on the real Redis and PostgreSQL (``RESYNC_TEST_KILL_REDIS``, default
redis://127.0.0.1:6379: a free one of databases 1-14, locked for the run, whose ``resync:``
keys it removes; ``RESYNC_TEST_POSTGRES_URL``: a fresh database per run). Runs of three minutes or more also see incident reminders (one
a minute for SEV3 in the run's policy), before and after the kill.

    .venv/bin/python benchmarks/replica_kill.py [--seconds 180] [--people 40] [--rate 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))
sys.path.insert(0, str(_ROOT / "tests" / "scenarios"))

from replica_kill_run import Figures, run  # noqa: E402


def _report(figures: Figures) -> None:
    print(figures.line())
    lat = sorted(figures.latencies) or [0.0]
    print(
        f"  answer latency: p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )
    print(f"  killed replica {figures.killed}; watch takeover {figures.takeover_seconds} s")
    print(f"  lost: {figures.lost} (acked by the killed replica: {figures.lost_acked_by_killed})")
    for event_id, where in figures.lost_where.items():
        print(f"    {event_id}: {where}")
    print(f"  doubled: {figures.doubled}; missing audit: {figures.missing_audit}")
    print(f"  reruns at the engine per requested job: {figures.runbooks}")
    print(f"  reminders: {dict(figures.reminders)}")
    print(f"  audit verify: {figures.audit_verify}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--people", type=int, default=40, help="people asking")
    parser.add_argument("--rate", type=float, default=4.0, help="questions a second in all")
    parser.add_argument("--keep", type=Path, help="keep the replicas' logs in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resync-kill-") as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(tmp, seconds=args.seconds, people=args.people, rate=args.rate))
    _report(figures)
    broken = figures.doubled or figures.missing_audit or not figures.audit_ok
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
