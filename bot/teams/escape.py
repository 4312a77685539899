"""Make outside text inert in Teams markdown and Adaptive Card ``TextBlock`` text.

Job names, log lines and user text come from outside. Teams renders a markdown subset in
messages and in ``TextBlock`` elements, and auto-links bare URLs. `escape_markdown`
backslash-escapes every character that markdown (or Teams' HTML-ish ``<at>`` mentions)
could interpret, escapes list and heading markers at the start of a line, and breaks
auto-linking of ``scheme://`` and ``www.`` with a zero-width space, so the text shows as
written and nothing in it becomes a link, a mention or formatting. Control and
bidirectional formatting characters become a visible marker first
(`bot.render_text.neutralise_controls`, the same on every surface).
"""

from __future__ import annotations

import re
from typing import Final

from bot.render_text import neutralise_controls

__all__ = ["escape_markdown", "neutralise_text"]

# Every ASCII punctuation CommonMark lets a backslash escape that Teams could act on.
_SPECIAL: Final = re.compile(r"([\\`*_\[\]()<>#|~&])")
# Block markers that only mean something at the start of a line (lists, rules, setext headings).
_LINE_START: Final = re.compile(r"^(\s*)([-+=])", re.MULTILINE)
_ORDERED: Final = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
_SCHEME: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*):(?=//)")
_WWW: Final = re.compile(r"(?i)\bwww\.")
_ZWSP: Final = "\u200b"


def neutralise_text(text: str) -> str:
    """Neutralise control and bidirectional formatting characters (tabs become spaces).

    Args:
        text: Outside text.

    Returns:
        The text with every character that could hide or reorder what is shown replaced
        by a visible marker (``U+FFFD``), C1 controls and ``U+061C`` included.
    """
    return neutralise_controls(text.replace("\t", "    "))


def escape_markdown(text: str) -> str:
    """Escape text so Teams shows it literally.

    Args:
        text: Plain text (a job name, a log line, what a user wrote).

    Returns:
        Text safe to place in a Teams message or a ``TextBlock``: no formatting, links,
        mentions or HTML survive.
    """
    text = neutralise_text(text)
    # Break auto-links before escaping (the escapes would split the pattern otherwise).
    text = _SCHEME.sub(lambda m: f"{m.group(1)}:{_ZWSP}", text)
    text = _WWW.sub(lambda m: f"{m.group(0)[:3]}{_ZWSP}.", text)
    text = _SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _ORDERED.sub(r"\1\\\2", text)
