"""Watch analytics speed: baselines, one watch cycle, the deadline Monte Carlo.

Prints three figures (targets in brackets):

1. Building every job's baseline from 1,000,000 synthetic historical runs (≤ 5 s).
2. One `Scanner.cycle()` on the bundled plans, CPU ms of this process after warm-up
   (≤ 100 ms). The simulator runs in a child process so its work is not counted; the
   cycle's HTTP parsing is.
3. The deadline forecast for every deadline of a synthetic 50,000-job DAG with 1,000
   samples (≤ 1 s).

    .venv/bin/python benchmarks/watch_bench.py [--runs 1000000] [--jobs 50000] [--samples 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import numpy as np

from agents.watch.baseline import build_baselines
from agents.watch.risk import Graph, RiskInput, simulate
from agents.watch.scan import Scanner
from integrations.tws.client import TWSClient

SIM_NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def bench_baselines(runs: int, seed: int = 3) -> None:
    """Baselines of 10,000 jobs from ``runs`` runs (about 100 nights each)."""
    rng = np.random.default_rng(seed)
    jobs = 10_000
    job = rng.integers(0, jobs, runs).astype(np.int64)
    nights = np.datetime64("2026-11-30") - rng.integers(1, 120, runs).astype("timedelta64[D]")
    medians = np.exp(rng.uniform(np.log(60), np.log(1800), jobs))
    seconds = medians[job] * np.exp(rng.normal(0, 0.2, runs))
    started = time.perf_counter()
    out = build_baselines(job, nights, seconds, day=date(2026, 11, 30), jobs=jobs)
    took = time.perf_counter() - started
    built = sum(1 for b in out if b is not None)
    print(f"baselines: {runs:,} runs, {built:,} jobs in {took:.2f} s   [target ≤ 5 s]")


def _serve(scenario: str, queue: Any) -> None:
    from integrations.tws.simulator import SimulatorServer

    async def run() -> None:
        async with SimulatorServer(scenario=scenario, speed=0, control=True, now=SIM_NOW) as sim:
            queue.put(sim.url)
            await asyncio.Event().wait()

    asyncio.run(run())


async def _cycles(url: str, cycles: int) -> list[float]:
    client = TWSClient(base_url=url, user="twsuser", password="twspass", retries=0)
    scanner = Scanner(client, seed=1)
    headers = {"Authorization": aiohttp.BasicAuth("twsuser", "twspass").encode()}
    out: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for i in range(cycles + 12):
            started = time.process_time()
            report = await scanner.cycle()
            took = (time.process_time() - started) * 1000
            if i >= 12:  # warm-up: edges and histories are read over the first cycles
                out.append(took)
            assert report.paused is None, report.paused
            async with session.post(f"{url}/_sim/clock/advance", json={"seconds": 300}) as r:
                await r.read()
    await client.close()
    return out


def bench_cycle(scenario: str, cycles: int) -> None:
    """CPU ms of one cycle after warm-up, the simulator in a child process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_serve, args=(scenario, queue), daemon=True)
    child.start()
    try:
        url = queue.get(timeout=60)
        times = asyncio.run(_cycles(url, cycles))
    finally:
        child.terminate()
        child.join()
    print(
        f"watch cycle ({scenario}): median {statistics.median(times):.0f} ms CPU, "
        f"max {max(times):.0f} ms over {len(times)} cycles   [target ≤ 100 ms]"
    )


def synthetic_dag(jobs: int, seed: int = 5) -> tuple[list[list[int]], list[int]]:
    """Streams of 10 chained jobs; each stream follows 0–2 earlier ones; deadlines on the last jobs."""
    rng = np.random.default_rng(seed)
    preds: list[list[int]] = []
    lasts: list[int] = []
    for stream in range(jobs // 10):
        first = len(preds)
        follows = rng.integers(0, stream, min(stream, int(rng.integers(0, 3)))) if stream else []
        preds.append([lasts[int(s)] for s in follows])
        for _ in range(9):
            preds.append([len(preds) - 1])
        lasts.append(first + 9)
    return preds, lasts


def bench_forecast(jobs: int, samples: int) -> None:
    """Every deadline of a ``jobs``-job DAG, ``samples`` samples."""
    preds, targets = synthetic_dag(jobs)
    n = len(preds)
    rng = np.random.default_rng(9)
    started = time.perf_counter()
    graph = Graph(preds)
    built = time.perf_counter() - started
    inp = RiskInput(
        floor=np.zeros(n),
        fixed_end=np.full(n, np.nan),
        run_start=np.full(n, np.nan),
        mu=np.log(rng.uniform(1, 30, n)),
        sigma=np.full(n, 0.25),
    )
    walls, cpus = [], []
    for seed in range(3):  # the machine is shared: report the spread, not one lucky run
        started, cpu = time.perf_counter(), time.process_time()
        sim = simulate(graph, inp, targets, samples=samples, seed=seed)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        assert sim.ends.shape == (len(targets), samples)
    print(
        f"deadline forecast: {n:,} jobs, {len(targets):,} deadlines, {samples} samples, "
        f"{graph.edge_count:,} edges, {len(graph.levels)} levels: median {statistics.median(walls):.2f} s "
        f"(best {min(walls):.2f} s, CPU {statistics.median(cpus):.2f} s) "
        f"+ {built:.2f} s to prepare the graph, once per plan   [target ≤ 1 s]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    bench_baselines(args.runs)
    for scenario in ("normal", "month-end"):
        bench_cycle(scenario, args.cycles)
    bench_forecast(args.jobs, args.samples)


if __name__ == "__main__":
    main()
