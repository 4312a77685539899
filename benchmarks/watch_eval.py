"""Evaluation of watch detection on labelled simulator nights: Resync against two baselines.

Replays each night of ``integrations/tws/simulator/scenarios/eval/`` on the simulator's
frozen clock: every ``--step`` simulated minutes it runs `Scanner.cycle()` (Resync), the
TWS ``late`` flag detector, and a naive mean ± 3σ detector (history durations; deadlines
from mean-duration ETAs, `agents.forecast`), and keeps each alert the first time it is
seen. Ground truth is the simulator's ``GET /_sim/truth`` at the end of the night.

Scoring (docs/watch.md, "Evaluation"): an alert is true when it matches the truth
(failure ↔ a real failure; slow/duration ↔ an injected slow/short job; failure rate ↔ an
injected abend streak; workstation ↔ an injected outage; deadline ↔ that deadline was
missed). Recall is over the injections and the deadlines missed after the replay began.

    .venv/bin/python benchmarks/watch_eval.py [--quick] [--step 5] [--samples 1000] [--seed 1]
        [--nights NAME ...] [--list]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # watch_eval_scoring, loaded by path too

import aiohttp
import structlog
from watch_eval_scoring import (
    DETECTORS,
    Alert,
    Night,
    list_alerts,
    meets_targets,
    table,
)

from agents.forecast import EdgeCache, Forecaster
from agents.watch.scan import Scanner
from integrations.tws.client import TWSClient
from integrations.tws.models import FINISHED_STATUSES, JobStatus, PlanJob
from integrations.tws.simulator import SimulatorServer

QUICK_NIGHTS = ("normal-tue", "slow-two-jobs", "agent-outage-deadline")


def eval_nights() -> list[Path]:
    """The labelled scenario files, sorted."""
    folder = resources.files("integrations.tws.simulator").joinpath("scenarios", "eval")
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml"))


_KIND = {
    "failure": "failure",
    "slow_running": "duration",
    "duration": "duration",
    "failure_rate": "failure_rate",
    "workstation": "workstation",
    "deadline_risk": "deadline",
}


class Naive:
    """Mean ± 3σ of history durations; deadlines from mean-duration ETAs."""

    def __init__(self, client: TWSClient) -> None:
        self._client = client
        self._stats: dict[str, tuple[float, float] | None] = {}
        self._edges = EdgeCache(ttl_seconds=1e9)

    async def _stat(self, job: PlanJob, plan_start: datetime) -> tuple[float, float] | None:
        if job.id not in self._stats:
            runs = (await self._client.job_history(job.id, days=90)).value
            values = [
                r.duration.total_seconds()
                for r in runs
                if r.duration is not None and r.started_at < plan_start and r.status == "SUCC"
            ]
            self._stats[job.id] = (
                (statistics.fmean(values), statistics.pstdev(values)) if len(values) > 2 else None
            )
        return self._stats[job.id]

    async def alerts(self, jobs: list[PlanJob], now: datetime, plan_start: datetime) -> list[Alert]:
        out: list[Alert] = []
        for job in jobs:
            if job.started_at is None or job.status not in (JobStatus.EXEC, JobStatus.SUCC):
                continue
            stat = await self._stat(job, plan_start)
            if stat is None:
                continue
            mean, std = stat
            end = now if job.status == JobStatus.EXEC else (job.ended_at or now)
            took = (end - job.started_at).total_seconds()
            low_out = job.status == JobStatus.SUCC and took < mean - 3 * std
            if took > mean + 3 * std or low_out:
                out.append(Alert("duration", job.id, None, now))
        forecast = await Forecaster(
            scheduler=self._client, jobs=jobs, now=now, edges=self._edges
        ).forecast()
        for item in forecast.jobs:
            if item.overrun is not None and item.overrun > timedelta(0):
                out.append(Alert("deadline", item.job.id, None, now))
        return out


def _late_alerts(jobs: list[PlanJob], now: datetime) -> list[Alert]:
    return [Alert("deadline", job.id, None, now) for job in jobs if job.late]


async def _sim(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with session.request(method, url, json=body) as response:
        return await response.json()


async def replay(path: Path, *, step: int, hours: float, samples: int, seed: int = 1) -> Night:
    """Replay one labelled night and collect every detector's alerts.

    Args:
        path: The scenario file.
        step: Simulated minutes between cycles.
        hours: Simulated hours at most.
        samples: Monte Carlo samples per cycle.
        seed: Monte Carlo seed (the night itself is the scenario's).

    Returns:
        The night.
    """
    auth = aiohttp.BasicAuth("twsuser", "twspass")
    async with (
        SimulatorServer(scenario=str(path), speed=0, control=True) as sim,
        aiohttp.ClientSession(auth=auth) as session,
    ):
        client = TWSClient(base_url=sim.url, user="twsuser", password="twspass", retries=0)
        scanner = Scanner(client, samples=samples, seed=seed)
        naive = Naive(client)
        info = (await client.engine_info()).value
        night: Night | None = None
        steps = int(hours * 60 / step)
        for _ in range(steps):
            started = time.process_time()
            report = await scanner.cycle()
            if night is None:
                night = Night(path.stem, report.as_of, {d: {} for d in DETECTORS})
            night.cycle_ms.append((time.process_time() - started) * 1000)
            night.engine_calls.append(report.engine_calls)
            for f in report.findings:
                text = f"{f.object_name}: {f.headline}; {f.explanation}"
                alert = Alert(_KIND[f.kind.value], f.object_id, f.run_id, report.as_of, text)
                night.alerts["resync"].setdefault(f.key, alert)
            jobs = (await client.query_jobs()).value
            plan_start = info.plan_start or report.as_of
            for name, found in (
                ("tws-late", _late_alerts(jobs, report.as_of)),
                ("naive-3sigma", await naive.alerts(jobs, report.as_of, plan_start)),
            ):
                for alert in found:
                    night.alerts[name].setdefault(f"{alert.kind}:{alert.object_id}", alert)
            truth = await _sim(session, "GET", f"{sim.url}/_sim/truth")
            busy = any(j.status not in FINISHED_STATUSES and not j.failed for j in jobs)
            decided = all(d["missed"] is not None for d in truth["deadlines"])
            if decided and not busy:
                break
            await _sim(session, "POST", f"{sim.url}/_sim/clock/advance", {"seconds": step * 60})
        await client.close()
        assert night is not None
        night.truth = await _sim(session, "GET", f"{sim.url}/_sim/truth")
        return night


async def evaluate(
    names: Sequence[str] | None, *, step: int, hours: float, samples: int, seed: int = 1
) -> list[Night]:
    """Replay the named nights (all when None)."""
    paths = [p for p in eval_nights() if names is None or p.stem in names]
    return [await replay(p, step=step, hours=hours, samples=samples, seed=seed) for p in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="three nights, 10-minute steps, 300 samples"
    )
    parser.add_argument("--step", type=int, default=5, help="simulated minutes per cycle")
    parser.add_argument("--hours", type=float, default=16, help="simulated hours at most")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1, help="Monte Carlo seed")
    parser.add_argument(
        "--list", action="store_true", help="list Resync's false alerts, misses and leads"
    )
    parser.add_argument("--nights", nargs="*", help="only these nights (file stems)")
    args = parser.parse_args()
    # The engine client logs every call at debug level: thousands of lines per night.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    names = QUICK_NIGHTS if args.quick else (args.nights or None)
    step = 10 if args.quick else args.step
    samples = 300 if args.quick else args.samples
    started = time.perf_counter()
    nights = asyncio.run(
        evaluate(names, step=step, hours=args.hours, samples=samples, seed=args.seed)
    )
    scores = table(nights)
    if args.list:
        print("\n".join(list_alerts(nights)))
    misses = meets_targets(scores)
    print(
        f"wall time {time.perf_counter() - started:.0f} s; "
        + ("all targets met" if not misses else "MISSED: " + "; ".join(misses))
    )


if __name__ == "__main__":
    main()
