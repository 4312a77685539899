"""The labelled query set: every label names a real passage, and hybrid beats both halves."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.embedding import MiniLM
from knowledge.evaluation import evaluate, load_queries, target_of
from knowledge.retrieval import KnowledgeBase


@pytest.fixture(scope="module")
def kb(minilm: MiniLM, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.open(directory=tmp_path_factory.mktemp("eval") / "knowledge")


def test_labels_name_existing_passages() -> None:
    queries = load_queries()
    assert len(queries) >= 100
    assert len({q.text for q in queries}) == len(queries)
    targets = {target_of(p) for p in KnowledgeBase.open(directory=None, use_model=False).passages}
    unknown = sorted(e for q in queries for e in q.expect if e not in targets)
    assert not unknown


def test_hybrid_recall_beats_each_half(kb: KnowledgeBase) -> None:
    queries = load_queries()
    keyword = evaluate(kb, queries, mode="keyword")
    vector = evaluate(kb, queries, mode="vector")
    hybrid = evaluate(kb, queries, mode="hybrid")
    assert hybrid.recall_at_5 >= 0.9, hybrid.misses
    assert hybrid.recall_at_5 > max(keyword.recall_at_5, vector.recall_at_5)
    assert hybrid.mrr > max(keyword.mrr, vector.mrr)


def test_a_broken_query_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "q.yaml"
    bad.write_text("queries:\n  - {q: only a question}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="query 1"):
        load_queries(bad)
