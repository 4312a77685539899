"""The garbage collector's settings for a Resync process, applied once after start-up.

Why: CPython frees most objects by reference counting; its cyclic collector only looks for
reference cycles, and how often it looks depends on how many container objects were
allocated, not on how much garbage there is. A full collection walks every tracked object
of the process, the ~150,000 that importing LangGraph, pydantic, aiohttp and the rest
leaves behind included. A question over a 50,000-job plan keeps ~17,000 jobs alive while
it reads them, enough to trigger one or two full collections; over a 2,000-job plan, none.
So the bigger the plan, the more full passes over that same fixed heap: with CPython's
defaults a question's CPU time grew as jobs^1.2 while the rest of its work grew linearly
(figures: ``benchmarks/scale_questions.py --cpython-gc`` against the default run, and the
scale paragraph of docs/architecture.md).

What, and why it is safe:

- ``gc.freeze()`` after start-up moves every object alive then (modules, classes,
  compiled schemas, the runtime's services) to the permanent generation, which
  collections ignore (https://docs.python.org/3/library/gc.html#gc.freeze). Those objects
  live as long as the process anyway; one that later becomes cyclic garbage is never
  freed, a one-time, bounded cost (at start-up a full collection finds a few dozen).
  Full collections then walk only what was created since, and CPython collects the oldest
  generation only once the objects waiting for it exceed 25% of it ("Collecting the
  oldest generation", https://devguide.python.org/internals/garbage-collector/), so their
  total cost stays proportional to what questions allocate.
- A higher young threshold (``gc.set_threshold``,
  https://docs.python.org/3/library/gc.html#gc.set_threshold): a young collection per
  `THRESHOLDS` [0] net new containers instead of 700, so the rows of a page are freed by
  reference counting before a collection has to look at them. At worst that many objects
  of cyclic garbage wait for the next young collection (a few MB).

The policy is applied once per process: freezing again later would pin whatever a
running service holds at that moment (answers in flight, caches) for good.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

__all__ = ["THRESHOLDS", "GcPolicy", "apply_gc_policy"]

THRESHOLDS: tuple[int, int, int] = (10_000, 10, 10)
"""``gc.set_threshold`` values: a young collection per 10,000 net new containers (CPython:
700); the older generations keep CPython's ratios to it."""


@dataclass(frozen=True, slots=True)
class GcPolicy:
    """What `apply_gc_policy` did.

    Attributes:
        frozen: Objects moved to the permanent generation (0 when it was already applied).
        thresholds: The collector's thresholds now.
        first: True when this call applied the policy, False when an earlier one had.
    """

    frozen: int
    thresholds: tuple[int, int, int]
    first: bool


_applied = False


def apply_gc_policy(*, collect: bool = True) -> GcPolicy:
    """Freeze what start-up built and raise the young-generation threshold, once.

    Call it when the process has built what it keeps for its lifetime (the runtime), before
    it starts answering. Later calls change nothing.

    Args:
        collect: Run a full collection first, so start-up garbage is freed rather than
            frozen (about 30 ms; a one-shot command can skip it: at that point only a few
            objects are garbage).

    Returns:
        What was done.
    """
    global _applied  # once per process, by design (see the module docstring)
    thresholds = THRESHOLDS
    if _applied:
        current = gc.get_threshold()
        return GcPolicy(frozen=0, thresholds=(current[0], current[1], current[2]), first=False)
    _applied = True
    if collect:
        gc.collect()
    before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(*thresholds)
    return GcPolicy(frozen=gc.get_freeze_count() - before, thresholds=thresholds, first=True)
