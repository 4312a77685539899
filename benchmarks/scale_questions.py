"""Every question kind at 2,000, 10,000 and 50,000 jobs: latency, engine calls, peak RSS, growth.

For each plan size a fresh child process asks the question set through the real path
(Dispatcher -> LangGraph graph -> TWSClient -> HTTP) against a simulator running in its own
process, so the child's peak RSS is Resync's alone. The parent prints one table per size
and, per question kind, the growth exponent k of latency ~ jobs^k and calls ~ jobs^k
(least squares on log-log; 1.0 is linear).

Targets (issue 16): list questions <= 1 s, "late / at risk" <= 2 s, engine calls for a list
<= jobs/500 + 2, peak RSS <= 400 MB at 50,000 jobs, growth no worse than linear.

Latency is wall time and depends on what else the machine runs; "cpu ms" is the CPU time
Resync's own process spent on the question (the simulator is another process), which a
loaded machine hardly changes: compare sizes and runs by it. "gc ms" is the part of it the
cyclic garbage collector took (timed with `gc.callbacks`).

The child applies the garbage-collector policy the product applies after start-up
(`bot.gc_policy.apply_gc_policy`: start-up objects frozen, young threshold raised), so the
figures are what users get; ``--cpython-gc`` keeps CPython's defaults, for comparison.

A question that stopped at its call budget ("I stopped: ...") is fast for the wrong reason:
the table marks it ``STOPPED`` and it never counts as meeting a target. The first round of
each question is a warm-up (caches, e.g. the dependency cache, fill there) and not timed.

The watcher's cycle (`ScannerDesk.cycle`, as `resync serve` runs it every
``RESYNC_WATCH_INTERVAL_SECONDS`` with the default settings: 1,000 Monte Carlo samples) is
timed too: its first cycle of the night, which reads run history and predecessors, once,
and the following ones (the plan, 3 reads, and the simulation of every deadline).

    .venv/bin/python benchmarks/scale_questions.py [--sizes 2000,10000,50000] [--rounds 3]
        [--cpython-gc]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# A fixed simulated now: the same night (same statuses, same chains) at every run, so runs
# before and after a change compare; with the wall clock, the plan moves with the hour.
START = "2026-11-23T22:30:00Z"
JOBS_PER_STREAM = 6.2  # the catalogue's average (355 jobs in 57 streams)
QUESTIONS: dict[str, str] = {
    "status (exact job)": "status of PAYROLL_EXTRACT",
    "status (wildcard)": "status of PAY*",
    "list (failed)": "what failed tonight?",
    "list (running)": "what is running?",
    "list (waiting)": "what is waiting?",
    "why": "why did PAYROLL_EXTRACT abend?",
    "late / at risk": "what will be late?",
    "successors": "what depends on PAYROLL_EXTRACT?",
    "workstations": "workstation status",
}
LIST_KINDS = {kind for kind in QUESTIONS if kind.startswith("list")}
FIRST_CYCLE = "watch cycle (first)"  # reads run history and predecessors: once a night
CYCLE = "watch cycle"  # the next ones: the plan (3 reads) and the Monte Carlo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _job_count(base: str) -> int:
    """Wait for the simulator (it builds the plan before it listens), then count its jobs."""
    import aiohttp

    headers = {"Authorization": aiohttp.encode_basic_auth("twsuser", "twspass")}
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(1200):
            try:
                async with session.get(f"{base}/twsd/api/v2/plan/job/count") as response:
                    return int((await response.json())["count"])
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.25)
    raise RuntimeError("the simulator did not start within 5 minutes")


async def _child(jobs: int, rounds: int, *, product_gc: bool) -> dict[str, Any]:
    """Run in the child: start a simulator process, ask every question, report."""
    from langgraph.checkpoint.memory import InMemorySaver

    from agents.answers.watch_desk import ScannerDesk
    from agents.assistant import Assistant
    from agents.messages import Actor, ChatEvent, Platform
    from bot.core.dispatcher import Dispatcher
    from bot.gc_policy import apply_gc_policy
    from bot.logging import configure_logging
    from config.settings import Settings
    from integrations.tws.client import TWSClient

    configure_logging(level="ERROR", fmt="json", stream=open(os.devnull, "w"))  # noqa: SIM115
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / f"scale-{jobs}.yaml"
        streams = max(57, round(jobs / JOBS_PER_STREAM))
        scenario.write_text(
            f"description: {jobs} jobs\nstreams: {streams}\nstart: {START}\n", encoding="utf-8"
        )
        started = time.perf_counter()
        simulator = subprocess.Popen(
            [
                *(sys.executable, "-m", "bot.cli", "simulator", "--port", str(port)),
                *("--scenario", str(scenario), "--speed", "0"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client = TWSClient(
                base_url=f"http://127.0.0.1:{port}", user="twsuser", password="twspass"
            )
            async with client:
                total = await _job_count(f"http://127.0.0.1:{port}")
                build_s = time.perf_counter() - started
                assistant = Assistant(
                    scheduler=client, checkpointer=InMemorySaver(), zone=ZoneInfo("UTC")
                )
                dispatcher = Dispatcher(assistant=assistant, audit=None, answer_timeout_seconds=600)
                actor = Actor(platform=Platform.CONSOLE, user_id="bench", display_name="bench")
                if product_gc:  # where `resync serve` applies it: the runtime is built
                    apply_gc_policy()
                gc_clock = _GcClock()
                gc.callbacks.append(gc_clock)
                results: dict[str, Any] = {}
                for kind, text in QUESTIONS.items():

                    async def ask(round_: int, kind: str = kind, text: str = text) -> bool:
                        event = ChatEvent(
                            event_id=f"{kind}-{round_}",
                            actor=actor,
                            channel_id=f"c-{kind}-{round_}",
                            text=text,
                        )
                        reply = await dispatcher.handle(event)
                        return reply.headline.startswith("I stopped")

                    results[kind] = await _timed(rounds, client, gc_clock, ask, warm_up=True)
                # The watcher's cycle, as `resync serve` builds it (RESYNC_WATCH_* defaults):
                # the first reads history and predecessors, the next ones the plan.
                desk = ScannerDesk.from_settings(client, Settings(_env_file=None))

                async def cycle(_: int) -> bool:
                    return (await desk.cycle()).paused is not None

                results[FIRST_CYCLE] = await _timed(1, client, gc_clock, cycle, warm_up=False)
                results[CYCLE] = await _timed(rounds, client, gc_clock, cycle, warm_up=False)
        finally:
            simulator.terminate()
            simulator.wait(10)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"jobs": total, "build_s": build_s, "peak_rss_mb": peak_mb, "kinds": results}


async def _timed(
    rounds: int,
    client: Any,
    gc_clock: _GcClock,
    run: Callable[[int], Awaitable[bool]],
    *,
    warm_up: bool,
) -> dict[str, Any]:
    """Wall, CPU and collector time and engine calls of ``run`` (True: it stopped short)."""
    latencies: list[float] = []
    cpu: list[float] = []
    collecting: list[float] = []
    calls: list[int] = []
    stopped = False
    for round_ in range(rounds + int(warm_up)):  # a warm-up round is not timed
        before, gc_tick = client.calls_made, gc_clock.total
        tick, cpu_tick = time.perf_counter(), time.process_time()
        stopped_now = await run(round_)
        if round_ or not warm_up:
            latencies.append(time.perf_counter() - tick)
            cpu.append(time.process_time() - cpu_tick)
            collecting.append(gc_clock.total - gc_tick)
            calls.append(client.calls_made - before)
            stopped = stopped or stopped_now
    return {
        "p50_s": statistics.median(latencies),
        "max_s": max(latencies),
        "cpu_s": statistics.median(cpu),
        "gc_s": statistics.median(collecting),
        "calls": max(calls),
        "stopped": stopped,
    }


class _GcClock:
    """Time spent in the cyclic garbage collector, from `gc.callbacks`."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start


def _exponent(xs: list[float], ys: list[float]) -> float | None:
    import numpy as np

    points = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return None
    slope, _ = np.polyfit(np.log([p[0] for p in points]), np.log([p[1] for p in points]), 1)
    return float(slope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,10000,50000", help="plan sizes in jobs")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per question")
    parser.add_argument(
        "--cpython-gc",
        action="store_true",
        help="keep CPython's collector defaults instead of the product's policy",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(_child(args.child, args.rounds, product_gc=not args.cpython_gc))
        print(json.dumps(result))
        return
    print("collector:", "CPython defaults" if args.cpython_gc else "bot.gc_policy (as the product)")
    runs: list[dict[str, Any]] = []
    for size in (int(part) for part in args.sizes.split(",")):
        done = subprocess.run(
            [
                *(sys.executable, __file__, "--child", str(size), "--rounds", str(args.rounds)),
                *(["--cpython-gc"] if args.cpython_gc else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        run = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(run)
        jobs = run["jobs"]
        print(
            f"\n{jobs} jobs: simulator ready in {run['build_s']:.1f} s, "
            f"Resync peak RSS {run['peak_rss_mb']:.0f} MB (target <= 400 at 50,000)"
        )
        print(
            f"{'question kind':<22} {'p50 ms':>9} {'max ms':>9} {'cpu ms':>8} {'gc ms':>6} "
            f"{'calls':>6}  target"
        )
        for kind, figures in run["kinds"].items():
            target = ""
            answered = not figures.get("stopped", False)
            if kind in LIST_KINDS:
                budget = jobs // 500 + 2
                ok = answered and figures["max_s"] <= 1 and figures["calls"] <= budget
                target = f"<= 1 s, <= {budget} calls: {'ok' if ok else 'MISS'}"
            elif kind == "late / at risk":
                ok = answered and figures["max_s"] <= 2
                target = f"<= 2 s: {'ok' if ok else 'MISS'}"
            if not answered:
                target += " (STOPPED at its call budget: no answer)"
            print(
                f"{kind:<22} {figures['p50_s'] * 1000:>9.1f} {figures['max_s'] * 1000:>9.1f} "
                f"{figures.get('cpu_s', 0.0) * 1000:>8.1f} {figures.get('gc_s', 0.0) * 1000:>6.1f} "
                f"{figures['calls']:>6}  {target}"
            )
    if len(runs) > 1:
        sizes = [float(run["jobs"]) for run in runs]
        print("\ngrowth exponent k (value ~ jobs^k; 1.0 = linear)")
        print(f"{'question kind':<22} {'latency':>8} {'cpu':>8} {'calls':>8}")
        for kind in runs[0]["kinds"]:
            figures = [run["kinds"][kind] for run in runs]
            values = (
                _exponent(sizes, [f["p50_s"] for f in figures]),
                _exponent(sizes, [f.get("cpu_s", 0.0) for f in figures]),
                _exponent(sizes, [float(f["calls"]) for f in figures]),
            )
            shown = [f"{v:>8.2f}" if v is not None else f"{'-':>8}" for v in values]
            print(f"{kind:<22} {' '.join(shown)}")
        rss = _exponent(sizes, [run["peak_rss_mb"] for run in runs])
        print(f"{'peak RSS':<22} {f'{rss:.2f}' if rss is not None else '-':>8}")


if __name__ == "__main__":
    main()
