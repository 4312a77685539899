"""Free-text search over the corpus: keyword + chromadb with a hashing embedding, offline."""

from __future__ import annotations

import math
import socket
from pathlib import Path
from typing import Any

import pytest

from knowledge.retrieval import EMBEDDING_DIMS, KnowledgeIndex, hash_embed


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network use attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex()


def test_hash_embed_is_deterministic_and_normalised() -> None:
    first = hash_embed("job stuck in hold")
    assert first == hash_embed("job stuck in hold")
    assert len(first) == EMBEDDING_DIMS
    assert math.isclose(math.sqrt(sum(v * v for v in first)), 1.0, rel_tol=1e-9)
    assert hash_embed("the of a") == [0.0] * EMBEDDING_DIMS


def test_stuck_jobs(index: KnowledgeIndex) -> None:
    hits = index.search("job stuck in hold")
    assert hits
    assert hits[0].title == "Jobs stuck in HOLD or READY"
    assert "FENCE" in hits[0].text


def test_cannot_reach_server(index: KnowledgeIndex) -> None:
    hits = index.search("cannot reach the server", limit=3)
    assert hits[0].title in {"AWSBEH023E", "AWSRES003E"}
    assert {"AWSBEH023E", "AWSRES003E"} <= {hit.title for hit in hits}
    assert hits == sorted(hits, key=lambda hit: -hit.score)
    assert all(0 < hit.score <= 1 for hit in hits)


def test_limit_and_empty_query(index: KnowledgeIndex) -> None:
    assert len(index.search("oracle", limit=1)) == 1
    assert index.search("") == []
    assert index.search("the a of") == []


def test_vectors_are_used_when_chromadb_is_present(index: KnowledgeIndex) -> None:
    pytest.importorskip("chromadb")
    assert index.uses_vectors


def test_keyword_only(no_network: None) -> None:
    keyword = KnowledgeIndex(use_vectors=False)
    assert not keyword.uses_vectors
    assert keyword.search("job stuck in hold")[0].title == "Jobs stuck in HOLD or READY"


def test_offline_persistent(tmp_path: Path, no_network: None) -> None:
    pytest.importorskip("chromadb")
    first = KnowledgeIndex(persist_dir=tmp_path / "chroma")
    assert first.uses_vectors
    assert first.search("cannot reach the server")[0].title in {"AWSBEH023E", "AWSRES003E"}
    again = KnowledgeIndex(persist_dir=tmp_path / "chroma")
    assert again.search("oracle snapshot too old")[0].title == "Oracle snapshot too old (ORA-01555)"
