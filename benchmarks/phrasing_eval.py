"""The phrasing set (issue 14): accuracy per question class, "as of"/source, invented names.

Asks every case of `tests/phrasing/cases/*.yaml` of the real assistant (Dispatcher ->
graph -> TWSClient -> HTTP -> bundled simulator, one simulator per scenario, clock frozen)
and scores each answer against the plan read over the simulator's own HTTP API.

Prints accuracy per class and overall, the share of fact-stating answers with "as of" and a
source, the invented-name count, latency p50/p95 per class, then every failure (id,
question, why). Target: overall >= 98 %, 100 % as-of + source, 0 invented names.

    .venv/bin/python benchmarks/phrasing_eval.py [--class root_cause] [--show-answers]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "phrasing")]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from phrasing_cases import load_cases  # noqa: E402
from phrasing_report import format_report  # noqa: E402
from phrasing_runner import run_cases  # noqa: E402

from bot.logging import configure_logging  # noqa: E402


def main() -> int:
    """Run the set and print the report; exit 1 when the targets are not met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="kind", help="only this question class")
    parser.add_argument("--id", dest="ids", action="append", help="only these case ids")
    parser.add_argument("--show-answers", action="store_true", help="print failing answers")
    args = parser.parse_args()
    configure_logging(level="ERROR", fmt="json", stream=open(os.devnull, "w"))  # noqa: SIM115
    cases = [
        case
        for case in load_cases()
        if (args.kind is None or case.kind == args.kind) and (not args.ids or case.id in args.ids)
    ]
    results = asyncio.run(run_cases(cases))
    report, met = format_report(results, show_answers=args.show_answers)
    print(report)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
