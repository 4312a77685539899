"""Deadline Monte Carlo: determinism, outages, failures, the critical chain."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from agents.watch.deadline import deadline_findings
from agents.watch.risk import Graph, RiskInput, critical_chain, inverse_normal, simulate
from integrations.tws.models import JobStatus, PlanJob

# 0 → 1 → 3 and 2 → 3: job 3 ends after the slower of its two branches.
PREDS = [[], [0], [], [1, 2]]


def _inputs(
    minutes: list[float],
    *,
    fixed: dict[int, float] | None = None,
    blocked: dict[int, int] | None = None,
    outages: int = 0,
) -> RiskInput:
    n = len(minutes)
    fixed_end = np.full(n, np.nan)
    for index, value in (fixed or {}).items():
        fixed_end[index] = value
    blocked_by: NDArray[np.int64] = np.full(n, -1, dtype=np.int64)
    for index, outage in (blocked or {}).items():
        blocked_by[index] = outage
    return RiskInput(
        floor=np.zeros(n),
        fixed_end=fixed_end,
        run_start=np.full(n, np.nan),
        mu=np.log(np.array(minutes)),
        sigma=np.full(n, 0.2),
        blocked_by=blocked_by,
        outage_mu=np.full(outages, math.log(90.0)),
        outage_sigma=np.full(outages, 0.8),
    )


def test_inverse_normal_matches_known_quantiles() -> None:
    z = inverse_normal(np.array([0.001, 0.025, 0.5, 0.975, 0.999]))
    assert np.allclose(z, [-3.0902, -1.95996, 0.0, 1.95996, 3.0902], atol=1e-4)


def test_same_seed_same_result() -> None:
    graph = Graph(PREDS)
    inp = _inputs([10, 20, 15, 5])
    first = simulate(graph, inp, [3], samples=500, seed=7)
    again = simulate(graph, inp, [3], samples=500, seed=7)
    other = simulate(graph, inp, [3], samples=500, seed=8)
    assert np.array_equal(first.ends, again.ends)
    assert not np.array_equal(first.ends, other.ends)
    # 0 → 1 is the long branch (30 min), then 5 min: median near 35.
    assert 31 < first.median(0) < 39


def test_the_critical_chain_is_the_branch_that_decides() -> None:
    graph = Graph(PREDS)
    sim = simulate(graph, _inputs([10, 20, 15, 5]), [3], samples=1000, seed=1)
    assert critical_chain(graph, sim, 3) == [0, 1, 3]
    sim = simulate(graph, _inputs([10, 20, 60, 5]), [3], samples=1000, seed=1)
    assert critical_chain(graph, sim, 3) == [2, 3]


def test_a_down_workstation_raises_the_probability() -> None:
    graph = Graph(PREDS)
    deadline = 45.0
    up = simulate(graph, _inputs([10, 20, 15, 5]), [3], samples=2000, seed=3)
    down = simulate(
        graph, _inputs([10, 20, 15, 5], blocked={2: 0}, outages=1), [3], samples=2000, seed=3
    )
    assert up.miss_probability(0, deadline) < 0.1
    assert down.miss_probability(0, deadline) > 0.5


def test_a_failed_predecessor_means_a_certain_miss() -> None:
    graph = Graph(PREDS)
    sim = simulate(graph, _inputs([10, 20, 15, 5], fixed={1: math.inf}), [3], samples=200, seed=1)
    assert sim.miss_probability(0, 10_000) == 1.0
    assert critical_chain(graph, sim, 3) == [1, 3]


def test_a_running_job_past_its_median_is_expected_to_run_on() -> None:
    graph = Graph([[]])
    inp = RiskInput(
        floor=np.zeros(1),
        fixed_end=np.full(1, np.nan),
        run_start=np.array([-30.0]),  # 30 min so far, usually 10
        mu=np.log(np.array([10.0])),
        sigma=np.full(1, 0.2),
    )
    sim = simulate(graph, inp, [0], samples=1000, seed=1)
    assert float(sim.ends.min()) >= 0.0  # it has not ended before now
    assert sim.miss_probability(0, 5.0) > 0.5  # an anomalous run rarely ends in 5 minutes


def test_cycles_are_ignored_not_fatal() -> None:
    graph = Graph([[1], [0], []])
    sim = simulate(graph, _inputs([5, 5, 5]), [0, 1, 2], samples=50, seed=1)
    assert np.isfinite(sim.ends).all()


def test_an_outage_that_lasted_is_drawn_given_how_long() -> None:
    # One job waiting on a workstation that is down; outages last a median 90 min
    # (log-normal, sigma 0.8). Seen down for 120 min already, it is not "90 more
    # minutes from now": given T > 120, the median of T is 90·exp(0.8·z) with
    # Φ(z) = 1 − S(120)/2, i.e. about 187 min, so about 67 more.
    graph = Graph([[]])
    fresh = _inputs([1.0], blocked={0: 0}, outages=1)
    lasted = RiskInput(
        floor=fresh.floor,
        fixed_end=fresh.fixed_end,
        run_start=fresh.run_start,
        mu=fresh.mu,
        sigma=fresh.sigma,
        blocked_by=fresh.blocked_by,
        outage_mu=fresh.outage_mu,
        outage_sigma=fresh.outage_sigma,
        outage_elapsed=np.array([120.0]),
    )
    survival = 0.5 * math.erfc((math.log(120 / 90) / 0.8) / math.sqrt(2))
    z = float(inverse_normal(np.array([1 - survival / 2]))[0])
    expected = 90 * math.exp(0.8 * z) - 120 + 1.0  # the job itself runs about a minute
    new = simulate(graph, fresh, [0], samples=4000, seed=2)
    old = simulate(graph, lasted, [0], samples=4000, seed=2)
    assert abs(new.median(0) - 91.0) < 6
    assert abs(old.median(0) - expected) < 6
    assert float(old.ends.min()) >= 0.0  # the workstation is not back in the past


def test_a_deadline_behind_many_failures_names_five_and_counts_the_rest() -> None:
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)

    def job(name: str, status: JobStatus, **extra: object) -> PlanJob:
        return PlanJob(
            id=name,
            name=name,
            job_stream_id="S",
            job_stream_name="NIGHT",
            job_stream_workstation="MASTER",
            workstation="AGT1",
            status=status,
            **extra,  # type: ignore[arg-type]
        )

    failed = [job(f"LOAD_{n:02d}", JobStatus.ABEND, ended_at=now) for n in range(12)]
    target = job("REPORT", JobStatus.HOLD, deadline=now + timedelta(hours=1))
    jobs = {j.id: j for j in [*failed, target]}
    preds = {"REPORT": [j.id for j in failed]}

    (risk,) = deadline_findings(
        jobs=jobs,
        preds=preds,
        histories=lambda _: None,
        blocked_ws=set(),
        now=now,
        plan_date=date(2026, 11, 23),
        samples=200,
        seed=1,
    )

    finding = risk.finding
    assert risk.probability == 1.0
    named = [line for line in finding.evidence if " ended ABEND" in line]
    assert len(named) == 5  # a card stays readable on a bad night
    assert "and 7 more failed jobs are fixed" in finding.explanation
    assert sum(f"NIGHT.LOAD_{n:02d}" in finding.explanation for n in range(12)) == 5
