"""The shipped corpus: guides chunked with sources, and its saved vectors up to date."""

from __future__ import annotations

import numpy as np

from knowledge.embedding import MiniLM
from knowledge.shipped import shipped_passages, shipped_vectors, text_key


def test_every_passage_has_a_title_section_and_source() -> None:
    passages = shipped_passages()
    assert len({p.id for p in passages}) == len(passages)
    assert all(p.doc_title and p.section and p.text and p.source for p in passages)
    guides = {p.doc_id for p in passages} - {"corpus:codes", "corpus:patterns"}
    assert "corpus:agent-restart" in guides
    assert len(guides) >= 5


def test_saved_vectors_are_current(minilm: MiniLM) -> None:
    saved = shipped_vectors()
    texts = [p.indexed_text for p in shipped_passages()]
    stale = [t[:60] for t in texts if text_key(t) not in saved]
    assert not stale, "run: .venv/bin/python -m knowledge.shipped"
    sample = texts[:: max(1, len(texts) // 4)]
    fresh = minilm.encode(sample)
    kept = np.stack([saved[text_key(t)] for t in sample])
    assert np.abs(fresh - kept).max() < 1e-4
