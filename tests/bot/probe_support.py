"""Run a probe script in a fresh interpreter and read the JSON line it prints last.

Imported by name (``from probe_support import ...``): pytest puts this folder on the path
(rootdir-relative imports). A fresh interpreter is how the start-up tests see what a
command imports (``sys.modules``) without what other tests already imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def clean_env(*drop: str) -> dict[str, str]:
    """This process's environment without the variables starting with ``drop``."""
    return {key: value for key, value in os.environ.items() if not key.startswith(drop)}


def run_probe(code: str, *args: str, env: dict[str, str]) -> Any:
    """Run ``python -c code args...`` from the repository root; its last line, as JSON.

    Args:
        code: The probe script.
        args: Its command-line arguments.
        env: Its environment.

    Returns:
        The parsed last line of its standard output.
    """
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
