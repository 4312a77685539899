"""Render a `Reply` as terminal text: a headline, aligned tables, indented log lines.

Terminal output is plain text, but job names and log lines come from outside: control
characters are removed so a log line cannot move the cursor or clear the screen.
"""

from __future__ import annotations

import re
from typing import Final

from agents.messages import Actions, Context, Fields, Paragraph, Preformatted, Reply, Table, Tone

__all__ = ["render_text"]

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")
_MARK: Final = {Tone.INFO: "", Tone.SUCCESS: "OK  ", Tone.WARNING: "!!  ", Tone.ERROR: "XX  "}
_MAX_CELL: Final = 48


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\t", "    "))


def _cell(text: str) -> str:
    text = _clean(text).replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _table(block: Table) -> list[str]:
    rows = [
        tuple(_cell(c) for c in block.columns),
        *(tuple(_cell(c) for c in row) for row in block.rows),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(block.columns))]
    lines = [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  " + "  ".join("-" * width for width in widths))
    if block.total is not None and block.total > len(block.rows):
        lines.append(f"  (showing {len(block.rows)} of {block.total})")
    return lines


def render_text(reply: Reply) -> str:
    """Render a reply for a terminal.

    Args:
        reply: The reply.

    Returns:
        The text, lines separated by newlines, no trailing newline.
    """
    lines = [_MARK[reply.tone] + _clean(reply.headline)]
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            lines.extend(_clean(block.text).splitlines())
        elif isinstance(block, Fields):
            width = max((len(label) for label, _ in block.items), default=0)
            lines.extend(
                f"  {_clean(label).ljust(width)}  {_clean(value)}" for label, value in block.items
            )
        elif isinstance(block, Table):
            lines.extend(_table(block))
        elif isinstance(block, Preformatted):
            lines.extend("    | " + line for line in _clean(block.text).splitlines())
        elif isinstance(block, Context):
            lines.append("  " + " · ".join(_clean(item) for item in block.items))
        elif isinstance(block, Actions):
            lines.append("  [" + "]  [".join(_clean(b.label) for b in block.buttons) + "]")
        if isinstance(block, Table | Preformatted):
            lines.append("")  # air after big blocks
    return "\n".join(lines).rstrip()
