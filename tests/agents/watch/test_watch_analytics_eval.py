"""Acceptance: watch detection on labelled simulator nights meets its targets.

Runs `benchmarks/watch_eval.py` on three nights (one normal, two slow jobs, an agent
outage) at 10-minute steps and 300 samples; the full run is
``.venv/bin/python benchmarks/watch_eval.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]


def _load_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "watch_eval", ROOT / "benchmarks" / "watch_eval.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["watch_eval"] = module
    spec.loader.exec_module(module)
    return module


async def test_detection_meets_its_targets_on_labelled_nights() -> None:
    ev = _load_eval()
    nights = await ev.evaluate(ev.QUICK_NIGHTS, step=10, hours=16, samples=300)
    assert {n.name for n in nights} == set(ev.QUICK_NIGHTS)
    assert any(not n.truth["injected"] for n in nights)  # a normal night is in the set
    scores = ev.table(nights)
    ours = scores["resync"]
    assert ours.precision >= 0.9
    assert ours.recall >= 0.9
    assert ours.false_per_normal <= 1.0
    assert ours.median_lead >= 30
    for name in ("tws-late", "naive-3sigma"):
        other = scores[name]
        assert ours.recall > other.recall, name
        assert ours.median_lead > other.median_lead, name
        assert ours.share_30 >= other.share_30, name
    naive = scores["naive-3sigma"]
    assert ours.precision >= naive.precision
    assert ours.false_per_normal <= naive.false_per_normal
    # The late flag is never wrong by construction: Resync must match it there.
    assert ours.precision >= scores["tws-late"].precision
    assert ours.false_per_normal <= scores["tws-late"].false_per_normal
    assert ev.meets_targets(scores) == []
