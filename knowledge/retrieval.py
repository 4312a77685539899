"""Free-text search over the shipped troubleshooting corpus ("job stuck in hold").

Hybrid retrieval: a BM25 keyword score over the corpus entries, plus — when chromadb
is importable — the cosine similarity from a chromadb collection. The collection
uses this module's own embedding function, a deterministic feature hashing of word
unigrams and bigrams into 384 dimensions (L2-normalised): chromadb's default
embedding downloads an ONNX model at first use, and Resync never touches the network
for retrieval. chromadb is imported lazily, inside :class:`KnowledgeIndex`, so that
importing :mod:`knowledge.codes` stays fast; without it, search is keyword-only.

Exceptions: none of its own. A chromadb failure is logged and search falls back to
keywords; corpus problems raise :class:`knowledge.codes.CorpusError`.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import structlog

from knowledge.codes import Corpus, corpus

__all__ = [
    "COLLECTION_NAME",
    "EMBEDDING_DIMS",
    "KnowledgeIndex",
    "SearchHit",
    "hash_embed",
    "tokenize",
]

log = structlog.get_logger(__name__)

EMBEDDING_DIMS: Final = 384
COLLECTION_NAME: Final = "resync-tws-corpus-v1"
_KEYWORD_WEIGHT: Final = 0.6
_VECTOR_WEIGHT: Final = 0.4
_MIN_SCORE: Final = 0.1
_BM25_K1: Final = 1.5
_BM25_B: Final = 0.75
_WORD: Final = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_STOPWORDS: Final = frozenset(
    "a an and are as at be by did do does for from has have how i in is it its my of on or "
    "our so that the their them then this to was we were what when where which why will "
    "with you your e g".split()
)
# A few words operators use for the corpus's words; kept small and obvious.
_ALIASES: Final = {
    "held": "hold",
    "holding": "hold",
    "unreachable": "reach",
    "reachable": "reach",
    "connect": "connection",
    "stopped": "stuck",
    "hung": "stuck",
    "hang": "stuck",
    "hanging": "stuck",
    "disk": "space",
    "full": "space",
}


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result.

    Attributes:
        title: The AWS code (``AWSBEH023E``) or the pattern's name.
        text: The meaning and what to do.
        score: The hybrid relevance, 0 to 1; higher is better.
        source: Where the fact comes from.
        kind: ``code`` for an AWS code entry, ``pattern`` for a symptom pattern.
    """

    title: str
    text: str
    score: float
    source: str
    kind: Literal["code", "pattern"]


@dataclass(frozen=True, slots=True)
class _Doc:
    doc_id: str
    title: str
    text: str
    source: str
    kind: Literal["code", "pattern"]
    tokens: tuple[str, ...]


def _stem(word: str) -> str:
    word = _ALIASES.get(word, word)
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return _ALIASES.get(word[: -len(suffix)], word[: -len(suffix)])
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed word tokens.

    Args:
        text: Any text.

    Returns:
        The tokens, in order.
    """
    return [_stem(word) for word in _WORD.findall(text.lower()) if word not in _STOPWORDS]


def _features(tokens: Sequence[str]) -> Iterable[tuple[str, float]]:
    for token in tokens:
        yield "u:" + token, 1.0
    for first, second in itertools.pairwise(tokens):
        yield f"b:{first} {second}", 0.5


def hash_embed(text: str, *, dims: int = EMBEDDING_DIMS) -> list[float]:
    """A deterministic embedding: feature hashing of word unigrams and bigrams.

    Each feature hashes (BLAKE2b, so the result is the same in every process) to a
    dimension and a sign; the vector is L2-normalised. It needs no model and no
    network, and texts that share words land close together.

    Args:
        text: Any text.
        dims: The number of dimensions.

    Returns:
        The unit vector (all zeros for a text without words).
    """
    vector = [0.0] * dims
    for feature, weight in _features(tokenize(text)):
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        number = int.from_bytes(digest, "big")
        sign = 1.0 if number & 1 else -1.0
        vector[(number >> 1) % dims] += sign * weight
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector] if norm else vector


@functools.cache
def _embedding_function_class() -> type[Any]:
    """Define and register the chromadb embedding function (imports chromadb)."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    class HashingEmbeddingFunction(EmbeddingFunction[Documents]):
        """chromadb embedding function backed by :func:`hash_embed` (offline)."""

        def __init__(self, dims: int = EMBEDDING_DIMS) -> None:
            self._dims = dims

        def __call__(self, input: Documents) -> Embeddings:
            import numpy as np

            return [
                np.asarray(hash_embed(text, dims=self._dims), dtype=np.float32) for text in input
            ]

        @staticmethod
        def name() -> str:
            return "resync-hashing"

        def default_space(self) -> Any:
            return "cosine"

        def supported_spaces(self) -> list[Any]:
            return ["cosine", "l2", "ip"]

        def get_config(self) -> dict[str, Any]:
            return {"dims": self._dims}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> HashingEmbeddingFunction:
            return HashingEmbeddingFunction(dims=int(config.get("dims", EMBEDDING_DIMS)))

    register_embedding_function(HashingEmbeddingFunction)  # type: ignore[no-untyped-call]
    return HashingEmbeddingFunction


def _documents(known: Corpus) -> list[_Doc]:
    docs: list[_Doc] = []
    for entry in known.codes:
        text = f"{entry.meaning} What to do: {entry.action}"
        docs.append(
            _Doc(
                doc_id=f"code:{entry.code}",
                title=entry.code,
                text=text,
                source=entry.source,
                kind="code",
                tokens=tuple(tokenize(f"{entry.code} {text}")),
            )
        )
    for pattern in known.patterns:
        text = f"{pattern.meaning} What to do: {pattern.action}"
        docs.append(
            _Doc(
                doc_id=f"pattern:{pattern.name}",
                title=pattern.name,
                text=text,
                source=pattern.source,
                kind="pattern",
                tokens=tuple(tokenize(f"{pattern.name} {text}")),
            )
        )
    return docs


class KnowledgeIndex:
    """Hybrid (keyword + vector) search over the troubleshooting corpus.

    Args:
        persist_dir: Where chromadb keeps its collection (a ``PersistentClient``);
            None keeps it in memory (an ``EphemeralClient``).
        use_vectors: False skips chromadb entirely (keyword search only).
        source: The corpus to index; None uses the shipped one.
    """

    def __init__(
        self,
        *,
        persist_dir: Path | None = None,
        use_vectors: bool = True,
        source: Corpus | None = None,
    ) -> None:
        self._docs = _documents(source if source is not None else corpus())
        lengths = [len(doc.tokens) for doc in self._docs]
        self._avg_len = (sum(lengths) / len(lengths)) if lengths else 0.0
        self._tf = [Counter(doc.tokens) for doc in self._docs]
        frequency: Counter[str] = Counter()
        for counts in self._tf:
            frequency.update(counts.keys())
        total = len(self._docs)
        self._idf = {
            term: math.log(1.0 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()
        }
        self._collection: Any = None
        if use_vectors:
            self._collection = self._open_collection(persist_dir)

    @property
    def uses_vectors(self) -> bool:
        """Whether the chromadb vector half of the search is active."""
        return self._collection is not None

    def _open_collection(self, persist_dir: Path | None) -> Any:
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError:
            log.info("knowledge.vectors_unavailable", reason="chromadb not installed")
            return None
        try:
            settings = Settings(anonymized_telemetry=False)
            if persist_dir is not None:
                persist_dir.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(persist_dir), settings=settings)
            else:
                client = chromadb.EphemeralClient(settings=settings)
            collection = client.get_or_create_collection(
                name=COLLECTION_NAME,
                embedding_function=_embedding_function_class()(),
                configuration={"hnsw": {"space": "cosine"}},
            )
            wanted = {doc.doc_id for doc in self._docs}
            stale = [i for i in collection.get(include=[])["ids"] if i not in wanted]
            if stale:
                collection.delete(ids=stale)
            if self._docs:
                collection.upsert(
                    ids=[doc.doc_id for doc in self._docs],
                    documents=[f"{doc.title} {doc.text}" for doc in self._docs],
                    metadatas=[{"kind": doc.kind, "title": doc.title} for doc in self._docs],
                )
        except Exception as exc:  # chromadb is optional: never let it break search
            log.warning("knowledge.vectors_failed", error=str(exc))
            return None
        return collection

    def _keyword_scores(self, query_tokens: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for doc, counts in zip(self._docs, self._tf, strict=True):
            score = 0.0
            norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * len(doc.tokens) / (self._avg_len or 1.0))
            for term in set(query_tokens):
                tf = counts.get(term, 0)
                if tf:
                    score += self._idf[term] * tf * (_BM25_K1 + 1) / (tf + norm)
            scores.append(score)
        top = max(scores, default=0.0)
        return [score / top for score in scores] if top > 0 else scores

    def _vector_scores(self, query: str) -> dict[str, float] | None:
        if self._collection is None:
            return None
        try:
            result = self._collection.query(
                query_texts=[query], n_results=len(self._docs), include=["distances"]
            )
        except Exception as exc:  # fall back to keywords, as at start-up
            log.warning("knowledge.vector_query_failed", error=str(exc))
            return None
        ids: list[str] = result["ids"][0]
        distances: list[float] = result["distances"][0]
        return {
            doc_id: min(1.0, max(0.0, 1.0 - float(distance)))
            for doc_id, distance in zip(ids, distances, strict=True)
        }

    def search(self, query: str, *, limit: int = 3) -> list[SearchHit]:
        """The corpus entries that best answer a free-text question.

        Args:
            query: Words such as "job stuck in hold" or "cannot reach the server".
            limit: At most this many hits.

        Returns:
            The hits, best first; empty when nothing is relevant.
        """
        tokens = tokenize(query)
        if not tokens or not self._docs or limit <= 0:
            return []
        keyword = self._keyword_scores(tokens)
        vector = self._vector_scores(query)
        hits: list[SearchHit] = []
        for doc, kw in zip(self._docs, keyword, strict=True):
            if vector is None:
                score = kw
            else:
                score = _KEYWORD_WEIGHT * kw + _VECTOR_WEIGHT * vector.get(doc.doc_id, 0.0)
            if score >= _MIN_SCORE and (kw > 0 or vector is not None):
                hits.append(
                    SearchHit(
                        title=doc.title,
                        text=doc.text,
                        score=round(score, 4),
                        source=doc.source,
                        kind=doc.kind,
                    )
                )
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]
