"""Keyword tokens for BM25: lower-cased, stop-word-free, lightly stemmed, a few aliases.

Exceptions: none.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["tokenize"]

_WORD: Final = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_STOPWORDS: Final = frozenset(
    "a an and are as at be by can did do does for from has have how i in is it its me my of "
    "on or our so that the their them then this to was we were what when where which why "
    "will with you your e g".split()
)
# A few words operators use for the corpus's words; kept small and obvious.
_ALIASES: Final = {
    "held": "hold",
    "holding": "hold",
    "unreachable": "reach",
    "reachable": "reach",
    "connect": "connection",
    "hung": "stuck",
    "hang": "stuck",
    "hanging": "stuck",
}


def _stem(word: str) -> str:
    word = _ALIASES.get(word, word)
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return _ALIASES.get(word[: -len(suffix)], word[: -len(suffix)])
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed word tokens.

    Words joined by ``-`` or ``_`` (``ORA-01555``, ``PAYROLL_EXTRACT``) stay one token, and
    their parts are added too, so "01555" and "ora-01555" both find the code.

    Args:
        text: Any text.

    Returns:
        The tokens, in order.
    """
    tokens: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS:
            continue
        tokens.append(_stem(word))
        if "-" in word or "_" in word:
            tokens.extend(_stem(p) for p in re.split(r"[-_]", word) if p and p not in _STOPWORDS)
    return tokens
