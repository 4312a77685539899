"""litellm is imported at start-up in a worker thread, never on the event loop.

Importing litellm takes seconds; on the loop it stalled every conversation of the process.
Each test runs a fresh interpreter (this one may have imported litellm already) that
records, from an import hook, which thread imported litellm and whether
``LITELLM_LOCAL_MODEL_COST_MAP`` was set by then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]

WATCH = """
import asyncio, importlib.abc, json, os, sys, threading
seen = []
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "litellm":
            seen.append({
                "on_loop_thread": threading.current_thread() is threading.main_thread(),
                "cost_map": os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"),
            })
        return None
sys.meta_path.insert(0, Watch())
"""

START_UP = """
from bot.app import runtime
from config.settings import Settings

async def main():
    before = "litellm" in sys.modules
    settings = Settings(
        _env_file=None,
        data_dir=sys.argv[1],
        llm_model="openai/fake-model",
        llm_api_base="http://127.0.0.1:9/v1",
    )
    async with runtime(settings, embedded=True):
        # Started: no question asked yet.
        print(json.dumps({"before": before, "after_start": "litellm" in sys.modules, "seen": seen}))

asyncio.run(main())
"""

FIRST_QUESTION = """
from agents.llm_understand import LLMUnderstander
from integrations.llm import LLMClient

async def main():
    ticks = 0
    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1
    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    llm = LLMClient(model="openai/fake-model", api_base="http://127.0.0.1:9/v1", timeout_seconds=2)
    started = ticks
    # The parser cannot read this, so it goes to the LLM router (the agent, off here, would
    # take it without the router; the LLM is down: the parser's answer).
    understander = LLMUnderstander(llm=llm, open_questions=False)
    await understander("could you look into the payroll extraction for me", None, None)
    ticker.cancel()
    print(json.dumps({"seen": seen, "ticks_while_answering": ticks - started}))

asyncio.run(main())
"""


def run_fresh(script: str, *args: str) -> dict[str, Any]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RESYNC_") and key != "LITELLM_LOCAL_MODEL_COST_MAP"
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WATCH + script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last)
    return result


def test_start_up_with_an_llm_imports_litellm_in_a_worker_thread(tmp_path: Path) -> None:
    result = run_fresh(START_UP, str(tmp_path / "data"))

    assert result["before"] is False
    assert result["after_start"] is True  # before the first question
    assert result["seen"] == [{"on_loop_thread": False, "cost_map": "True"}]


def test_without_start_up_the_first_llm_question_still_imports_off_the_loop() -> None:
    result = run_fresh(FIRST_QUESTION)

    assert result["seen"] == [{"on_loop_thread": False, "cost_map": "True"}]
    # The import takes seconds; the loop kept running meanwhile.
    assert result["ticks_while_answering"] > 10, result
