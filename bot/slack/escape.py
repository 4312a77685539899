"""Escape text from people and from TWS before it reaches Slack.

Slack parses ``<...>`` sequences in message text as mentions (``<@U123>``), broadcasts
(``<!channel>``, ``<!here>``) and links (``<http://evil|disguised>``). Job names and log
lines come from outside, so every such text is escaped (``&``, ``<``, ``>`` to entities)
before it is put in any Slack text object. Where formatting could mislead (mrkdwn outside
code blocks) the formatting characters ``*_~``` are replaced by look-alikes; inside code
blocks only the backtick can break out, so it alone is replaced. Control and bidirectional
formatting characters (which would reorder a job name on screen) become a visible marker
first (`bot.render_text.neutralise_controls`, the same on every surface).
"""

from __future__ import annotations

from typing import Final

from bot.render_text import neutralise_controls

__all__ = ["escape", "escape_code", "escape_mrkdwn", "truncate"]

_ENTITIES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Full-width look-alikes: the text reads the same, Slack applies no formatting.
_FORMATTING: Final = str.maketrans({"*": "∗", "_": "＿", "~": "∼", "`": "ˋ"})
_BACKTICK: Final = str.maketrans({"`": "ˋ"})


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences, neutralise the rest.

    Args:
        text: Untrusted text.

    Returns:
        The text with ``&``, ``<`` and ``>`` as HTML entities (no mention, broadcast or
        link can be smuggled through it) and control or bidirectional formatting
        characters replaced by a visible marker (no reordered job names).
    """
    return neutralise_controls(text).translate(_ENTITIES)


def escape_mrkdwn(text: str) -> str:
    """Escape text for a mrkdwn field outside a code block.

    Args:
        text: Untrusted text.

    Returns:
        The escaped text with ``*_~``` replaced by look-alikes so it cannot bold, italicise,
        strike or open a code span.
    """
    return escape(text).translate(_FORMATTING)


def escape_code(text: str) -> str:
    """Escape text for the inside of a mrkdwn code block (triple backticks).

    Args:
        text: Untrusted text.

    Returns:
        The escaped text; backticks become look-alikes so the block cannot be closed early.
    """
    return escape(text).translate(_BACKTICK)


def truncate(text: str, *, limit: int, marker: str = "…") -> str:
    """Shorten text to at most ``limit`` characters, marking the cut.

    Args:
        text: Any text (already escaped when it goes to Slack).
        limit: Maximum length of the result.
        marker: What shows that text was cut.

    Returns:
        The text itself when short enough, else its start and the marker. An entity such as
        ``&amp;`` is never cut in half.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(marker), 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker
