"""Pick the lines of a job log that tell why it failed, not the whole stdlist."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["exit_status", "relevant_lines"]

_RELEVANT: Final = re.compile(
    r"\bAWS[A-Z]{3}\d{3}E\b|\bORA-\d{5}\b|\bSQL\d{4,5}N\b|\b(?:ERROR|FATAL|SEVERE|CRITICAL)\b|"
    r"\w+(?:Exception|Error)\b|\bfail(?:ed|ure)\b|permission denied|no space left|"
    r"not found|no such file|killed|segmentation fault|core dumped|timed? ?out|deadlock|"
    r"abort(?:ed)?|cannot|could not|unable to",
    re.IGNORECASE,
)
_EXIT: Final = re.compile(r"Exit Status\s*:\s*(-?\d+)", re.IGNORECASE)
_MAX_LINE = 240


def relevant_lines(log: str, *, limit: int = 8) -> list[str]:
    """The log's error lines, in order, each once, at most ``limit`` of them.

    Args:
        log: The stdlist, or the end of it that was read.
        limit: At most this many lines.

    Returns:
        The lines that name an error, trimmed; the banner and trailer are left out.
    """
    picked: list[str] = []
    seen: set[str] = set()
    for raw in log.splitlines():
        line = raw.strip()
        if not line or line.startswith("=") or line in seen:
            continue
        if _RELEVANT.search(line):
            seen.add(line)
            picked.append(line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…")
    if len(picked) > limit:
        # The last errors are usually the cause; the first one is usually the trigger.
        picked = [picked[0], *picked[-(limit - 1) :]]
    return picked


def exit_status(log: str) -> int | None:
    """The exit status from the JOBINFO trailer, if the log has one.

    Args:
        log: The stdlist, or the end of it that was read (the trailer is at the end).

    Returns:
        The exit status, or None.
    """
    matches = _EXIT.findall(log)
    return int(matches[-1]) if matches else None
