"""Scoring retrieval against the labelled query set (``knowledge/eval/queries.yaml``).

Exceptions: `ValueError` for a malformed query file.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from knowledge.passages import Passage
from knowledge.retrieval import KnowledgeBase, Mode

__all__ = ["LabelledQuery", "Score", "evaluate", "load_queries", "target_of"]


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    """A question and the passages that answer it.

    Attributes:
        text: The question.
        expect: Acceptable targets, each ``"DOC_ID | SECTION"``.
    """

    text: str
    expect: frozenset[str]


@dataclass(frozen=True, slots=True)
class Score:
    """Retrieval quality over a query set.

    Attributes:
        recall_at_5: Share of queries with an expected passage in the top 5.
        mrr: Mean reciprocal rank of the first expected passage (0 when absent from top 10).
        misses: The queries without an expected passage in the top 5.
    """

    recall_at_5: float
    mrr: float
    misses: tuple[str, ...]


def target_of(passage: Passage) -> str:
    """A passage's label: its document id and the last part of its section path.

    Args:
        passage: The passage.

    Returns:
        ``"DOC_ID | SECTION"``.
    """
    return f"{passage.doc_id} | {passage.section.split(' > ')[-1]}"


def load_queries(path: Path | None = None) -> list[LabelledQuery]:
    """The labelled queries.

    Args:
        path: A query file; default: the shipped ``knowledge/eval/queries.yaml``.

    Returns:
        The queries.

    Raises:
        ValueError: The file is malformed.
    """
    source: Any = path if path is not None else files("knowledge") / "eval" / "queries.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    out: list[LabelledQuery] = []
    for number, item in enumerate(data["queries"], start=1):
        if not item.get("q") or not item.get("expect"):
            raise ValueError(f"query {number}: needs q and expect")
        out.append(LabelledQuery(text=str(item["q"]), expect=frozenset(item["expect"])))
    return out


def evaluate(kb: KnowledgeBase, queries: list[LabelledQuery], *, mode: Mode) -> Score:
    """Recall@5 and MRR of one ranking mode.

    Args:
        kb: The knowledge base.
        queries: The labelled queries.
        mode: ``keyword``, ``vector`` or ``hybrid``.

    Returns:
        The score.
    """
    found = 0
    reciprocal = 0.0
    misses: list[str] = []
    for query in queries:
        hits = kb.search(query.text, limit=10, mode=mode).hits
        ranks = [i for i, hit in enumerate(hits, 1) if target_of(hit.passage) in query.expect]
        if ranks:
            reciprocal += 1.0 / ranks[0]
        if ranks and ranks[0] <= 5:
            found += 1
        else:
            misses.append(query.text)
    total = len(queries) or 1
    return Score(recall_at_5=found / total, mrr=reciprocal / total, misses=tuple(misses))
