"""The collector policy a Resync process applies after start-up (`bot.gc_policy`).

Each case runs in a fresh interpreter: freezing the test process would pin every object
pytest holds for the rest of the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    out = _run(
        "import gc, json\n"
        "from bot.gc_policy import THRESHOLDS, apply_gc_policy\n"
        "kept = [{'n': n} for n in range(1000)]  # what start-up built\n"
        "policy = apply_gc_policy()\n"
        "print(json.dumps({'frozen': policy.frozen, 'count': gc.get_freeze_count(),\n"
        "    'first': policy.first, 'thresholds': gc.get_threshold(),\n"
        "    'policy': policy.thresholds, 'wanted': THRESHOLDS,\n"
        "    'young': len(gc.get_objects(0)) + len(gc.get_objects(2))}))\n"
    )
    assert out["first"] is True
    assert out["frozen"] == out["count"] >= 1000
    assert out["thresholds"] == out["policy"] == out["wanted"]
    assert out["thresholds"][0] > 700  # CPython's default young threshold
    assert out["young"] < 100  # the generations collections walk are (nearly) empty


def test_a_second_call_freezes_nothing_more() -> None:
    out = _run(
        "import gc, json\n"
        "from bot.gc_policy import apply_gc_policy\n"
        "apply_gc_policy(collect=False)\n"
        "after_first = gc.get_freeze_count()\n"
        "later = [{'n': n} for n in range(1000)]  # what a running service holds\n"
        "again = apply_gc_policy()\n"
        "print(json.dumps({'first': again.first, 'frozen': again.frozen,\n"
        "    'moved': gc.get_freeze_count() - after_first,\n"
        "    'thresholds': gc.get_threshold(), 'reported': again.thresholds}))\n"
    )
    assert out["first"] is False
    assert out["frozen"] == out["moved"] == 0
    assert out["thresholds"] == out["reported"]
