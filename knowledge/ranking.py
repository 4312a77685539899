"""Rank fusion and the small rules around it (identifiers, keyword-only reliability).

Exceptions: none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from knowledge.keywords import tokenize

__all__ = ["RRF_K", "fuse", "identifiers", "keyword_reliable"]

RRF_K: Final = 60
# Error codes and identifiers: letters and digits together (ora-01555, awsbht001e, sql0911n).
_IDENTIFIER: Final = re.compile(r"(?=.*[a-z])(?=.*\d)[a-z0-9]+(?:[-_][a-z0-9]+)*")


def fuse(rankings: Sequence[Sequence[int]]) -> dict[int, float]:
    """Reciprocal rank fusion: each ranking gives 1 / (60 + rank) to each item it holds.

    Args:
        rankings: Item indexes, best first, one list per ranker.

    Returns:
        The fused score per item.
    """
    fused: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, index in enumerate(ranking, start=1):
            fused[index] += 1.0 / (RRF_K + rank)
    return fused


def identifiers(query: str) -> set[str]:
    """The query's error codes and identifiers (tokens mixing letters and digits).

    The embedding model does not know what ORA-01555 is: a passage naming the exact code the
    operator typed gets a ranking of its own, so it does not lose to one that merely sounds
    similar.

    Args:
        query: The question.

    Returns:
        The identifier tokens.
    """
    return {t for t in tokenize(query) if _IDENTIFIER.fullmatch(t)}


def keyword_reliable(query: str, best: str) -> bool:
    """Keyword-only reliability: the best passage holds at least half of the query's words.

    Args:
        query: The question.
        best: The best passage's indexed text.

    Returns:
        Whether to quote it.
    """
    words = set(tokenize(query))
    return bool(words) and len(set(tokenize(best)) & words) * 2 >= len(words)
