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

The terminal never cuts a word: text wraps within the terminal's width, table cells wrap
inside their column, and a table whose longest words do not fit is simply wider than the
terminal. The tone of a reply is a symbol a person reads at a glance (✔ ⚠ ✖), or a word
when the terminal cannot show them (not UTF-8).
"""

from __future__ import annotations

import re
import textwrap
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

__all__ = ["CONTROL_MARKER", "neutralise_controls", "render_text", "tone_marker"]

CONTROL_MARKER: Final = "\ufffd"
"""What a control or bidirectional formatting character is shown as."""

# Newline and tab are the only controls that carry meaning in answers (tab is expanded by
# each renderer); carriage returns are normalised to newlines first.
_UNSAFE: Final = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_SYMBOLS: Final = {Tone.INFO: "", Tone.SUCCESS: "✔ ", Tone.WARNING: "⚠ ", Tone.ERROR: "✖ "}
_WORDS: Final = {
    Tone.INFO: "",
    Tone.SUCCESS: "OK: ",
    Tone.WARNING: "WARNING: ",
    Tone.ERROR: "ERROR: ",
}
_GAP: Final = 2  # spaces between table columns


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


def tone_marker(tone: Tone, *, unicode: bool = True) -> str:
    """What the headline of a reply of this tone starts with.

    Args:
        tone: The reply's tone.
        unicode: The terminal shows UTF-8 (symbols); else words.

    Returns:
        ``✔ ``/``⚠ ``/``✖ `` or ``OK: ``/``WARNING: ``/``ERROR: ``; empty for plain information.
    """
    return (_SYMBOLS if unicode else _WORDS)[tone]


def _clean(text: str) -> str:
    return neutralise_controls(text.replace("\t", "    "))


def _wrap(text: str, width: int | None, *, indent: str = "", hanging: str = "") -> list[str]:
    """Wrap one line of text, never inside a word (a longer word overflows instead)."""
    if width is None or len(indent) + len(text) <= width:
        return [indent + text]
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 1),
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]


def _fit_columns(natural: list[int], shortest: list[int], room: int) -> list[int]:
    """Column widths that fit ``room`` when they can; never below a column's longest word."""
    widths = list(natural)
    while sum(widths) > room:
        shrinkable = [i for i, w in enumerate(widths) if w > shortest[i]]
        if not shrinkable:
            break  # the longest words do not fit: the table is wider than the terminal
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _table(block: Table, width: int | None) -> list[str]:
    rows = [
        [_clean(c).replace("\n", " ") for c in block.columns],
        *([_clean(c).replace("\n", " ") for c in row] for row in block.rows),
    ]
    count = len(block.columns)
    natural = [max(len(row[i]) for row in rows) for i in range(count)]
    shortest = [
        max((len(word) for row in rows for word in row[i].split()), default=1) for i in range(count)
    ]
    widths = natural
    if width is not None:
        widths = _fit_columns(natural, shortest, width - 2 - _GAP * (count - 1))
    lines: list[str] = []
    for number, row in enumerate(rows):
        cells = [
            textwrap.wrap(cell, widths[i], break_long_words=False, break_on_hyphens=False) or [""]
            for i, cell in enumerate(row)
        ]
        for depth in range(max(len(cell) for cell in cells)):
            parts = [
                (cell[depth] if depth < len(cell) else "").ljust(widths[i])
                for i, cell in enumerate(cells)
            ]
            lines.append(("  " + (" " * _GAP).join(parts)).rstrip())
        if number == 0:
            lines.append("  " + (" " * _GAP).join("-" * w for w in widths))
    if block.total is not None and block.total > len(block.rows):
        lines.append(f"  (showing {len(block.rows)} of {block.total})")
    return lines


def _fields(block: Fields, width: int | None) -> list[str]:
    label_width = max((len(_clean(label)) for label, _ in block.items), default=0)
    hanging = " " * (label_width + 2)
    lines: list[str] = []
    for label, value in block.items:
        head = f"  {_clean(label).ljust(label_width)}  "
        for number, line in enumerate(_clean(value).splitlines() or [""]):
            wrapped = _wrap(line, None if width is None else width - len(head))
            for depth, piece in enumerate(wrapped):
                first = number == 0 and depth == 0
                lines.append((head if first else "  " + hanging) + piece)
    return [line.rstrip() for line in lines]


def render_text(reply: Reply, *, width: int | None = None, unicode: bool = True) -> str:
    """Render a reply for a terminal.

    Args:
        reply: The reply.
        width: The terminal's width in columns: text and tables wrap within it (words are
            never cut; a table whose words do not fit is wider). None: no wrapping.
        unicode: The terminal shows UTF-8; else the tone is a word, not a symbol.

    Returns:
        The text, lines separated by newlines, no trailing newline.
    """
    lines = _wrap(
        tone_marker(reply.tone, unicode=unicode) + _clean(reply.headline), width, hanging="  "
    )
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            for line in _clean(block.text).splitlines():
                body = line.lstrip(" ")
                lines.extend(_wrap(body, width, indent=line[: len(line) - len(body)]))
        elif isinstance(block, Fields):
            lines.extend(_fields(block, width))
        elif isinstance(block, Table):
            lines.extend(_table(block, width))
        elif isinstance(block, Preformatted):
            # Log lines stay as they were written (the terminal folds long ones).
            lines.extend("    | " + line for line in _clean(block.text).splitlines())
        elif isinstance(block, Context):
            separator = " · " if unicode else " - "
            lines.extend(
                _wrap(separator.join(_clean(item) for item in block.items), width, indent="  ")
            )
        elif isinstance(block, Actions):
            lines.append("  [" + "]  [".join(_clean(b.label) for b in block.buttons) + "]")
        elif isinstance(block, Image):
            lines.append(f"  [chart: {_clean(block.alt)}]")
        if isinstance(block, Table | Preformatted):
            lines.append("")  # air after big blocks
    return "\n".join(lines).rstrip()
