"""The bundled simulator on large plans: build time, page latency and memory at 2k/10k/50k jobs.

Each size runs in its own process (so its peak RSS is its own): the simulator builds the plan
and replays the night up to "now" (timed: the build), then serves ``GET /plan/job`` pages of
500 over real HTTP from a client on the same machine. Before each timed request the
simulated clock moves 30 s (untimed), so every timed answer also replays the events due
since the last one, as with a running clock. Pages are read at offsets spread over the whole
plan, unfiltered and filtered by status (``status IN ('ABEND', 'FAIL', 'EXEC')``).

Targets (issue 16): build <= 10 s at 50,000 jobs; a page of 500 jobs <= 50 ms p95.

    .venv/bin/python benchmarks/sim_scale.py [--requests 200] [--sizes 2k,10k,50k]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from integrations.tws import paths
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
AUTH = aiohttp.BasicAuth("twsuser", "twspass")
SIZES = {"2k": "330", "10k": "scale-10k", "50k": "scale-50k"}


def _scenario(size: str, folder: Path) -> str:
    name = SIZES[size]
    if name.isdigit():  # no bundled 2k scenario: the catalogue and a few regional copies
        path = folder / f"scale-{size}.yaml"
        path.write_text(f"streams: {name}\nhistory_days: 30\n", encoding="utf-8")
        return str(path)
    return name


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def _measure(scenario: str, requests: int) -> dict[str, Any]:
    started = time.perf_counter()
    sim = SimulatorServer(scenario=scenario, speed=0, now=NOW, control=True)
    build = time.perf_counter() - started
    jobs = len(sim.state.plan.jobs)
    timings: dict[str, list[float]] = {"all": [], "status": []}
    async with sim, aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http:
        for i in range(requests):
            async with http.post("/_sim/clock/advance", json={"seconds": 30}) as resp:
                assert resp.status == 200
            kind = "all" if i % 2 == 0 else "status"
            params: dict[str, Any] = {"limit": 500}
            if kind == "all":
                params["offset"] = (i * 7919) % max(1, jobs - 500)
            else:
                params["oql"] = "status IN ('ABEND', 'FAIL', 'EXEC')"
            t0 = time.perf_counter()
            async with http.get(paths.JOBS, params=params) as resp:
                body = await resp.read()
            timings[kind].append((time.perf_counter() - t0) * 1000)
            assert resp.status == 200, body[:200]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out: dict[str, Any] = {"jobs": jobs, "build_s": round(build, 2), "peak_rss_mb": round(rss_mb)}
    for kind, values in timings.items():
        out[f"{kind}_p50_ms"] = round(statistics.median(values), 1)
        out[f"{kind}_p95_ms"] = round(_percentile(values, 95), 1)
    return out


def main() -> None:
    """Run every size in its own process and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sizes", default="2k,10k,50k")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_measure(args.one, args.requests))))
        return
    print(
        "size  jobs    build_s  page p50/p95 ms (all)  page p50/p95 ms (status filter)  peak RSS MB"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes.split(","):
            scenario = _scenario(size, Path(folder))
            command = [
                sys.executable,
                __file__,
                "--one",
                scenario,
                "--requests",
                str(args.requests),
            ]
            line = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            r = json.loads(line.strip().splitlines()[-1])
            print(
                f"{size:5} {r['jobs']:<7} {r['build_s']:<8} "
                f"{r['all_p50_ms']:>7} / {r['all_p95_ms']:<14} "
                f"{r['status_p50_ms']:>7} / {r['status_p95_ms']:<24} {r['peak_rss_mb']}"
            )


if __name__ == "__main__":
    main()
