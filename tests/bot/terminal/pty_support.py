"""Run ``resync demo`` in a pseudo-terminal, as a person at a keyboard does.

The process sees a real terminal (``isatty``, a width and height, line discipline, Ctrl-C
and Ctrl-D as keys), so the prompt, "working…", paging and wrapping are tested as they are
seen, not by calling functions.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TextIO

import pexpect

ROOT = Path(__file__).resolve().parents[3]
PROMPT = "you> "
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh demo: its own data directory, a frozen simulated clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
    env.update(
        RESYNC_DATA_DIR=str(tmp_path / "data"),
        RESYNC_SIM_SPEED="0",
        TERM="xterm",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        **extra,
    )
    return env


def start_demo(
    tmp_path: Path,
    *args: str,
    columns: int = 80,
    lines: int = 24,
    transcript: TextIO | None = None,
    **env: str,
) -> pexpect.spawn:
    """``resync demo`` in a terminal of ``columns`` x ``lines``, waiting at its first prompt.

    Everything the terminal shows is copied to ``transcript`` when given.
    """
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "demo", *args],
        cwd=str(ROOT),
        env=demo_env(tmp_path, **env),
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(lines, columns),
        timeout=90,
    )
    child.logfile_read = transcript
    child.expect_exact(PROMPT)
    return child


def screen_lines(text: str) -> list[str]:
    """What the terminal shows, line by line (escape sequences removed; a carriage return
    inside a line means what follows it overwrote the start of that line)."""
    lines = []
    for line in _ESCAPES.sub("", text).split("\n"):
        line = line.rstrip("\r")
        lines.append(line.rsplit("\r", 1)[-1])
    return lines


def ask(child: pexpect.spawn, question: str) -> str:
    """Type a question and return everything shown until the next prompt."""
    child.sendline(question)
    child.expect_exact(PROMPT)
    return str(child.before)
