"""Hybrid knowledge search through chromadb on disk: documents, incidents, keyword-only, offline."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path
from typing import Any

import pytest

from knowledge.chroma import COLLECTION, FUNCTION_NAME, open_client
from knowledge.embedding import MiniLM
from knowledge.retrieval import KnowledgeBase


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network use attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def shipped(minilm: MiniLM, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.open(directory=tmp_path_factory.mktemp("kb") / "knowledge")


def _where(kb: KnowledgeBase, query: str, **kwargs: Any) -> list[str]:
    return [f"{h.passage.doc_id} | {h.passage.section}" for h in kb.search(query, **kwargs).hits]


def test_hybrid_finds_code_pattern_and_guide(shipped: KnowledgeBase) -> None:
    result = shipped.search("how do I fix ORA-01555?")
    assert result.mode == "hybrid"
    assert result.reliable
    top = {f"{h.passage.doc_id} | {h.passage.section}" for h in result.hits[:3]}
    assert "corpus:patterns | Oracle snapshot too old (ORA-01555)" in top
    assert "corpus:oracle-errors | Oracle errors in batch jobs > ORA-01555 snapshot too old" in top
    hit = result.hits[0]
    assert hit.passage.source
    assert hit.passage.doc_title
    assert hit.similarity is not None


def test_a_paraphrase_without_shared_words_is_found(shipped: KnowledgeBase) -> None:
    # No word of the query is in the pattern; the embedding carries it.
    assert _where(shipped, "binary dumped core", limit=3)[0] == (
        "corpus:patterns | Crash (segmentation fault)"
    )


def test_off_topic_question_is_not_reliable(shipped: KnowledgeBase) -> None:
    result = shipped.search("what is the capital of France")
    assert not result.reliable
    assert shipped.search("").hits == ()


def test_documents_are_added_replaced_removed_and_persist(
    minilm: MiniLM, tmp_path: Path, no_network: None
) -> None:
    store = tmp_path / "knowledge"
    doc = tmp_path / "payroll.md"
    doc.write_text(
        "# Payroll runbook\n\n## PAYROLL_EXTRACT slow\n\nKill the BLOCKER session, then rerun.\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase.open(directory=store)
    doc_id, status = kb.add_document(doc)
    assert status == "added"
    assert kb.add_document(doc) == (doc_id, "unchanged")
    hits = kb.search("PAYROLL_EXTRACT is slow", kinds=["document"]).hits
    assert hits[0].passage.section == "Payroll runbook > PAYROLL_EXTRACT slow"
    assert hits[0].passage.source == str(doc.resolve())

    doc.write_text(
        "# Payroll runbook\n\n## PAYROLL_EXTRACT slow\n\nAsk the DBA for an index rebuild.\n",
        encoding="utf-8",
    )
    assert kb.add_document(doc) == (doc_id, "replaced")
    again = KnowledgeBase.open(directory=store)  # a new process sees the same store
    texts = [h.passage.text for h in again.search("PAYROLL_EXTRACT slow", kinds=["document"]).hits]
    assert texts == ["Ask the DBA for an index rebuild."]
    assert [d.doc_id for d in again.documents() if d.kind == "document"] == [doc_id]

    assert again.remove(str(doc)) == 1
    assert again.search("PAYROLL_EXTRACT slow", kinds=["document"]).hits == ()
    with pytest.raises(KeyError):
        again.remove(str(doc))
    with pytest.raises(KeyError):
        again.remove("corpus:codes")  # shipped documents stay
    reopened = KnowledgeBase.open(directory=store)
    assert not [d for d in reopened.documents() if d.kind == "document"]


def test_incident_memory(minilm: MiniLM, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(directory=tmp_path / "knowledge")
    status = kb.add_incident(
        "INC-2026-0031",
        date="2026-11-03",
        title="PAYROLL_EXTRACT abended with ORA-01555",
        text="## Resolution\n\nRerun after GL_POST finished; DBA raised UNDO_RETENTION to 4h.\n",
    )
    assert status == "added"
    result = kb.search("snapshot too old on the payroll extract", kinds=["incident"])
    hit = result.hits[0]
    assert hit.passage.kind == "incident"
    assert hit.passage.date == "2026-11-03"
    assert hit.passage.doc_title.startswith("INC-2026-0031 (2026-11-03)")
    assert all(h.passage.kind == "incident" for h in result.hits)
    # Not filtered: the incident competes with the shipped corpus.
    assert "incident:INC-2026-0031" in [h.passage.doc_id for h in kb.search("UNDO_RETENTION").hits]


def test_keyword_only_mode(tmp_path: Path, no_network: None) -> None:
    kb = KnowledgeBase.open(directory=tmp_path / "knowledge", use_model=False)
    result = kb.search("job stuck in hold")
    assert result.mode == "keyword"
    assert result.hits[0].passage.section == "Jobs stuck in HOLD or READY"
    assert result.hits[0].similarity is None
    assert result.reliable
    assert not kb.search("capital of France").reliable
    doc = tmp_path / "notes.txt"
    doc.write_text("The FENCE on AGT_LNX02 is raised every Sunday.", encoding="utf-8")
    kb.add_document(doc)
    assert kb.search("fence sunday").hits[0].passage.doc_id.startswith("doc:")


def test_documents_added_without_the_model_get_vectors_later(
    minilm: MiniLM, tmp_path: Path
) -> None:
    store = tmp_path / "knowledge"
    doc = tmp_path / "notes.md"
    doc.write_text("# Notes\n\nThe mainframe gateway reboots on Sundays.", encoding="utf-8")
    KnowledgeBase.open(directory=store, use_model=False).add_document(doc)
    kb = KnowledgeBase.open(directory=store)
    hit = kb.search("when is the host bridge restarted", kinds=["document"], mode="vector").hits[0]
    assert hit.passage.text == "The mainframe gateway reboots on Sundays."


def test_collection_keeps_the_registered_embedding_function(
    shipped: KnowledgeBase, tmp_path: Path
) -> None:
    store = tmp_path / "knowledge"
    KnowledgeBase.open(directory=store)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no legacy or conflict warnings from chromadb
        collection = open_client(directory=store, url=None).get_collection(COLLECTION)
        assert collection.configuration["embedding_function"].name() == FUNCTION_NAME
        # chromadb rebuilds the function from the stored config and embeds the text itself.
        found = collection.query(query_texts=["job stuck in hold"], n_results=1)
    assert found["metadatas"][0][0]["section"] == "Jobs stuck in HOLD or READY"
