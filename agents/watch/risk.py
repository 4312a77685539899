"""Deadline risk: Monte Carlo over the dependency graph, vectorised with numpy.

Every sample draws a duration for each job that has not finished (log-normal, from its
baseline) and propagates ends through the graph: a job starts at the latest of now, its
at-time and its predecessors' ends. A finished job's end is known; a running job's
duration is drawn given that it already ran this long (and, once past its median, as if
the whole run were that much slower); a failed job never ends until a person acts (its end
is infinite, so everything behind it misses); a job whose workstation is down starts when
it is back (an outage's length is drawn given how long it lasted already).

The graph is processed level by level (a job's level is one more than its deepest
predecessor's), all samples of a level at once, so the Python loop runs once per level,
not per job and sample. Samples are taken in chunks so memory stays bounded on a
50,000-job plan. For the critical chain, each edge counts the samples in which that
predecessor decided its successor's start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["Graph", "RiskInput", "Simulation", "critical_chain", "inverse_normal", "simulate"]

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]

# A running job this many sigmas past its median is treated as anomalous (heavy tail).
_OVERRUN_SIGMAS: Final = 2.0
_PARETO_ALPHA: Final = 1.5
# Minutes in single precision: plenty for a night, half the memory traffic.
_DTYPE: Final = np.float32
# Keep one chunk's end-time matrix (jobs × samples) under ~25 M floats (100 MB).
_CHUNK_CELLS: Final = 25_000_000


def inverse_normal(p: FloatArray) -> FloatArray:
    """The standard normal quantile function (Acklam's rational approximation, |error| < 1.2e-9).

    Args:
        p: Probabilities in (0, 1).

    Returns:
        z with Φ(z) = p.
    """
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-7.784894002430293e-03, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    p = np.clip(p, 1e-12, 1 - 1e-12)
    out = np.empty_like(p)
    low, high = p < 0.02425, p > 1 - 0.02425
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1
    out[mid] = num / den
    for mask, sign in ((low, 1.0), (high, -1.0)):
        tail = p[mask] if sign > 0 else 1 - p[mask]
        s = np.sqrt(-2 * np.log(tail))
        num = ((((c[0] * s + c[1]) * s + c[2]) * s + c[3]) * s + c[4]) * s + c[5]
        den = (((d[0] * s + d[1]) * s + d[2]) * s + d[3]) * s + 1
        out[mask] = sign * num / den
    return out


class Graph:
    """A dependency graph prepared for level-by-level simulation (build once per plan)."""

    def __init__(self, preds: Sequence[Sequence[int]]) -> None:
        """Order the jobs by level and lay the edges out per level.

        Args:
            preds: For each job index, the indices of its predecessors. Edges that close a
                cycle are ignored (a cycle cannot run in TWS either).
        """
        n = len(preds)
        self.size = n
        succs: list[list[int]] = [[] for _ in range(n)]
        missing = np.zeros(n, dtype=np.int64)
        for job, plist in enumerate(preds):
            for pred in plist:
                succs[pred].append(job)
                missing[job] += 1
        level = np.zeros(n, dtype=np.int64)
        frontier = [job for job in range(n) if missing[job] == 0]
        seen = 0
        while frontier:
            seen += len(frontier)
            nxt: list[int] = []
            for job in frontier:
                for succ in succs[job]:
                    level[succ] = max(level[succ], level[job] + 1)
                    missing[succ] -= 1
                    if missing[succ] == 0:
                        nxt.append(succ)
            frontier = nxt
        acyclic = missing == 0
        if seen < n:  # jobs on a cycle run last, their cyclic edges ignored
            level[~acyclic] = int(level.max()) + 1
        self.preds = [list(p) for p in preds]
        self.edge_index: dict[tuple[int, int], int] = {}
        # Jobs are renumbered so each level is a contiguous block, the jobs with
        # predecessors first: a level then reads and writes slices, not scattered rows.
        has_preds = np.array([bool(p) for p in preds], dtype=bool) if n else np.zeros(0, bool)
        self.order: IntArray = np.lexsort((~has_preds, level)).astype(np.int64)
        self.rank: IntArray = np.empty(n, dtype=np.int64)
        self.rank[self.order] = np.arange(n)
        self.levels: list[tuple[int, int]] = []
        self.edges: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray]] = []
        counter = 0
        lo = 0
        for value in range(int(level.max()) + 1 if n else 0):
            hi = lo + int(np.count_nonzero(level == value))
            self.levels.append((lo, hi))
            src: list[int] = []
            pos: list[int] = []
            ids: list[int] = []
            for position, job in enumerate(self.order[lo:hi].tolist()):
                for pred in preds[job]:
                    if level[pred] < value:
                        src.append(int(self.rank[pred]))
                        pos.append(position)
                        ids.append(counter)
                        self.edge_index[(pred, job)] = counter
                        counter += 1
            pos_arr = np.array(pos, dtype=np.int64)
            seg = np.flatnonzero(np.r_[True, pos_arr[1:] != pos_arr[:-1]]) if pos else pos_arr
            seg_of = np.repeat(np.arange(seg.size), np.diff(np.r_[seg, pos_arr.size]))
            self.edges.append(
                (np.array(src, dtype=np.int64), pos_arr, seg, np.array(ids, dtype=np.int64), seg_of)
            )
            lo = hi
        self.edge_count = counter


@dataclass(frozen=True, slots=True)
class RiskInput:
    """Each job's state, in minutes after now (the simulation's origin).

    Attributes:
        floor: Earliest start (its at-time, or 0 = now).
        fixed_end: End when it is decided (finished: its end; failed or blocked: inf),
            NaN otherwise.
        run_start: Start of a running job (≤ 0), NaN otherwise.
        mu: Log of the median duration in minutes.
        sigma: Spread of the log-duration.
        blocked_by: Index of the outage that keeps the job from starting (-1: none).
        outage_mu: Per outage, log of the median minutes an outage lasts from its start.
        outage_sigma: Per outage, spread of that log.
        outage_elapsed: Per outage, minutes it lasted already (None: it starts now).
    """

    floor: FloatArray
    fixed_end: FloatArray
    run_start: FloatArray
    mu: FloatArray
    sigma: FloatArray
    blocked_by: IntArray | None = None
    outage_mu: FloatArray | None = None
    outage_sigma: FloatArray | None = None
    outage_elapsed: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class Simulation:
    """Simulated ends of the target jobs and which edges decided starts.

    Attributes:
        targets: The job indices asked for.
        ends: Minutes after now, one row per target, one column per sample (inf: never).
        edge_decided: Per edge (`Graph.edge_index`), in how many samples it decided the start.
        samples: Samples drawn.
    """

    targets: IntArray
    ends: FloatArray
    edge_decided: IntArray
    samples: int

    def miss_probability(self, row: int, deadline: float) -> float:
        """Share of samples in which target ``row`` ends after ``deadline`` (minutes)."""
        return float(np.mean(self.ends[row] > deadline))

    def median(self, row: int) -> float:
        """Median end of target ``row``, minutes (inf when it mostly never ends)."""
        return float(np.median(self.ends[row]))


def _durations(
    mu: FloatArray,
    sigma: FloatArray,
    run_start: FloatArray,
    z: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Durations (minutes), one row per job; running jobs given how long they ran."""
    out: FloatArray = np.exp(mu[:, None] + sigma[:, None] * z)
    rows = np.flatnonzero(~np.isnan(run_start))
    if rows.size:
        uniform = rng.random((rows.size, z.shape[1]))
        elapsed = np.maximum(-run_start[rows], 1e-3)
        # Past its median, assume the whole run is that much slower than usual.
        mu_r = np.maximum(mu[rows], np.log(elapsed))
        sig_r = sigma[rows]
        out[rows] = _lognormal_above(mu_r, sig_r, elapsed, uniform)
        # Far past its usual range a run is anomalous: its total is heavy-tailed (Pareto)
        # above what it ran so far, rather than "about to end".
        over = np.log(elapsed) > mu[rows] + _OVERRUN_SIGMAS * sig_r
        if over.any():
            tail = np.clip(uniform[over], 1e-6, 1.0) ** (-1 / _PARETO_ALPHA)
            out[rows[over]] = elapsed[over][:, None] * tail
    return out


def _lognormal_above(
    mu: FloatArray, sigma: FloatArray, floor: FloatArray, uniform: FloatArray
) -> FloatArray:
    """Log-normal draws given they exceed ``floor`` (one row per entry, from uniforms)."""
    z_lo = (np.log(np.maximum(floor, 1e-6)) - mu) / sigma
    cdf_lo = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in z_lo])
    u = cdf_lo[:, None] + uniform * (1 - cdf_lo[:, None])
    return np.exp(mu[:, None] + sigma[:, None] * inverse_normal(u))


def _outage_left(inp: RiskInput, samples: int, rng: np.random.Generator) -> FloatArray | None:
    """Minutes until each outage ends, given how long it lasted (one row per outage)."""
    if inp.blocked_by is None or inp.outage_mu is None or inp.outage_sigma is None:
        return None
    mu, sigma, lasted = inp.outage_mu, inp.outage_sigma, np.zeros(inp.outage_mu.size)
    if inp.outage_elapsed is not None:
        lasted = np.maximum(inp.outage_elapsed, 0.0)
    total = _lognormal_above(mu, sigma, lasted, rng.random((mu.size, samples)))
    return np.maximum(total - lasted[:, None], 0.0)


def _track(
    inp: RiskInput,
    lo: int,
    edges: tuple[IntArray, IntArray, IntArray, IntArray, IntArray],
    gathered: FloatArray,
    best: FloatArray,
    decided: IntArray,
) -> None:
    """Count, per edge, the samples in which that predecessor decided the start."""
    _, pos, seg, ids, seg_of = edges
    targets = lo + pos[seg]
    # A finished, failed or running job's end does not depend on its predecessors.
    live = np.isnan(inp.fixed_end[targets]) & np.isnan(inp.run_start[targets])
    sizes = np.diff(np.r_[seg, pos.size])
    floor = inp.floor[targets][:, None]
    one = np.flatnonzero((sizes == 1) & live)
    if one.size:  # the only predecessor decides whenever it ends after the at-time
        decided[ids[seg[one]]] += (best[one] > floor[one]).sum(axis=1)
    many = np.flatnonzero(((sizes > 1) & live)[seg_of])
    if many.size:
        win = (gathered[many] >= best[seg_of[many]]) & (gathered[many] > floor[seg_of[many]])
        np.add.at(decided, ids[many], win.sum(axis=1))


def _segment_max(values: FloatArray, seg: IntArray, total: int) -> FloatArray:
    """Row-wise max of each segment of rows (faster than ``reduceat`` for short segments)."""
    best = values[seg]
    sizes = np.diff(np.r_[seg, total])
    for k in range(1, int(sizes.max()) if sizes.size else 0):
        rows = np.flatnonzero(sizes > k)
        best[rows] = np.maximum(best[rows], values[seg[rows] + k])
    return best


def _permuted(inp: RiskInput, order: IntArray) -> RiskInput:
    return RiskInput(
        floor=inp.floor[order].astype(_DTYPE),
        fixed_end=inp.fixed_end[order].astype(_DTYPE),
        run_start=inp.run_start[order].astype(_DTYPE),
        mu=inp.mu[order].astype(_DTYPE),
        sigma=inp.sigma[order].astype(_DTYPE),
        blocked_by=None if inp.blocked_by is None else inp.blocked_by[order],
        outage_mu=inp.outage_mu,
        outage_sigma=inp.outage_sigma,
        outage_elapsed=inp.outage_elapsed,
    )


def _run_chunk(
    graph: Graph,
    inp: RiskInput,
    samples: int,
    rng: np.random.Generator,
    decided: IntArray | None,
) -> FloatArray:
    """One chunk of samples; ``inp`` and the result are in the graph's level order."""
    ends: FloatArray = np.empty((graph.size, samples), dtype=_DTYPE)
    outage = _outage_left(inp, samples, rng)
    fixed_all = ~np.isnan(inp.fixed_end)
    for (lo, hi), edges in zip(graph.levels, graph.edges, strict=True):
        src, seg = edges[0], edges[2]
        fixed = fixed_all[lo:hi]
        if fixed.all():
            ends[lo:hi] = inp.fixed_end[lo:hi, None]
            continue
        start = ends[lo:hi]  # a view: the level is written in place
        start[:] = inp.floor[lo:hi, None]
        if src.size:
            gathered = ends[src]
            best = _segment_max(gathered, seg, edges[1].size)
            np.maximum(start[: seg.size], best, out=start[: seg.size])
            if decided is not None:
                _track(inp, lo, edges, gathered, best, decided)
        if outage is not None and inp.blocked_by is not None:
            group = inp.blocked_by[lo:hi]
            rows = np.flatnonzero(group >= 0)
            if rows.size:
                start[rows] = np.maximum(start[rows], outage[group[rows]])
        run_start = inp.run_start[lo:hi]
        z = rng.standard_normal((hi - lo, samples), dtype=_DTYPE)
        duration = _durations(inp.mu[lo:hi], inp.sigma[lo:hi], run_start, z, rng)
        running = np.flatnonzero(~np.isnan(run_start))
        if running.size:
            start[running] = run_start[running, None]
        start += duration
        if fixed.any():
            start[fixed] = inp.fixed_end[lo:hi][fixed, None]
    return ends


def simulate(
    graph: Graph,
    inp: RiskInput,
    targets: Sequence[int],
    *,
    samples: int = 1000,
    seed: int | None = None,
    track: bool = True,
) -> Simulation:
    """Draw ``samples`` nights and return the targets' ends.

    Args:
        graph: The prepared graph.
        inp: Each job's state.
        targets: Job indices whose ends are wanted (e.g. those with a deadline).
        samples: Samples to draw.
        seed: Random seed (same seed, same inputs: same result).
        track: Count which edges decide starts (for `critical_chain`).

    Returns:
        The simulation.
    """
    rng = np.random.default_rng(seed)
    target_arr = np.asarray(list(targets), dtype=np.int64)
    rows = graph.rank[target_arr]
    ordered = _permuted(inp, graph.order)
    decided = np.zeros(graph.edge_count, dtype=np.int64)
    chunk = max(1, min(samples, _CHUNK_CELLS // max(1, graph.size)))
    parts: list[FloatArray] = []
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        ends = _run_chunk(graph, ordered, size, rng, decided if track else None)
        parts.append(ends[rows])
        done += size
    matrix = np.concatenate(parts, axis=1) if parts else np.zeros((0, 0))
    return Simulation(targets=target_arr, ends=matrix, edge_decided=decided, samples=samples)


def critical_chain(graph: Graph, sim: Simulation, target: int, *, limit: int = 12) -> list[int]:
    """The predecessor path that most often decided the target's start, upstream first.

    Args:
        graph: The graph simulated.
        sim: The simulation.
        target: The job index.
        limit: At most this many jobs.

    Returns:
        Job indices from the furthest upstream decider down to the target.
    """
    chain = [target]
    current = target
    while len(chain) < limit:
        best, best_count = -1, 0
        for pred in graph.preds[current]:
            edge = graph.edge_index.get((pred, current))
            if edge is not None and int(sim.edge_decided[edge]) > best_count:
                best, best_count = pred, int(sim.edge_decided[edge])
        # Stop where the job's own at-time (or now) decided more often than any predecessor.
        if best < 0 or best_count * 2 < sim.samples or best in chain:
            break
        chain.append(best)
        current = best
    return list(reversed(chain))
