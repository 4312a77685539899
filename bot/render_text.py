"""Render a `Reply` as terminal text; neutralise control characters for every surface.

Job names, log lines and what people type come from outside. Two kinds of characters in
them can deceive whoever reads the answer, on any surface:

- controls (C0 except newline and tab, DEL, C1 ``U+0080``–``U+009F``): on a terminal they
  move the cursor, clear the screen or start escape sequences (``U+009B`` is a one-character
  CSI);
- bidirectional formatting (``U+061C``, ``U+200E``/``U+200F``, ``U+202A``–``U+202E``,
  ``U+2066``–``U+2069``): they reorder what is shown, so a job named ``PAYROLL``, U+202E,
  ``LX.TXE`` reads as ``PAYROLLEXT.XL``.

`neutralise_controls` replaces each of them with `CONTROL_MARKER` (``�``), visibly: a
reader sees that something was there, and the cleaned text keeps its length, so table
columns stay aligned. The terminal renderer, Slack's and Teams' escaping all call it, so
the three surfaces show the same text.
"""

from __future__ import annotations

import re
from typing import Final

from agents.messages import (
    Actions,
    Context,
    Fields,
    Image,
    Paragraph,
    Preformatted,
    Reply,
    Table,
    Tone,
)

__all__ = ["CONTROL_MARKER", "neutralise_controls", "render_text"]

CONTROL_MARKER: Final = "\ufffd"
"""What a control or bidirectional formatting character is shown as."""

# Newline and tab are the only controls that carry meaning in answers (tab is expanded by
# each renderer); carriage returns are normalised to newlines first.
_UNSAFE: Final = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_MARK: Final = {Tone.INFO: "", Tone.SUCCESS: "OK  ", Tone.WARNING: "!!  ", Tone.ERROR: "XX  "}
_MAX_CELL: Final = 48


def neutralise_controls(text: str) -> str:
    """Make control and bidirectional formatting characters visible and harmless.

    Args:
        text: Text from outside (a job name, a log line, what a person wrote).

    Returns:
        The text with CR LF and lone CR as newlines, and every other control character
        (except newline and tab) and every bidirectional formatting character replaced by
        `CONTROL_MARKER`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub(CONTROL_MARKER, text)


def _clean(text: str) -> str:
    return neutralise_controls(text.replace("\t", "    "))


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
        elif isinstance(block, Image):
            lines.append(f"  [chart: {_clean(block.alt)}]")
        if isinstance(block, Table | Preformatted):
            lines.append("")  # air after big blocks
    return "\n".join(lines).rstrip()
