"""Hybrid search over the knowledge base: BM25 (bm25s) and embeddings, fused by rank.

The knowledge base holds the shipped corpus, the documents operators add
(``resync knowledge add``) and resolved incidents with their postmortems. chromadb keeps two
collections: ``resync-knowledge-text-v1``, the record of added documents and incidents
(their text and metadata; needs no model), and ``resync-knowledge-minilm-v1``, the
all-MiniLM-L6-v2 vectors of every passage, shipped ones included, kept in step with the
first (and with the shipped corpus) when the knowledge base opens. Without the model
package, search is keyword-only and says so (`SearchResult.mode`), once in the log.

BM25 and the embedding each rank the passages; reciprocal rank fusion (k = 60) merges the
two rankings, so neither score scale has to be calibrated against the other.

Exceptions: `knowledge.documents.DocumentError` for a file that cannot be added;
`KeyError` for removing an unknown document; chromadb errors pass through.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import structlog

from knowledge.chroma import COLLECTION, embedding_function, open_client
from knowledge.embedding import MiniLM, ModelUnavailable, load_model
from knowledge.ingest import document_passages, incident_passages
from knowledge.keywords import tokenize
from knowledge.passages import DocumentInfo, Hit, Kind, Passage, SearchResult
from knowledge.ranking import fuse, identifiers, keyword_reliable
from knowledge.shipped import shipped_passages, shipped_vectors, text_key

__all__ = ["TEXT_COLLECTION", "KnowledgeBase"]

log = structlog.get_logger(__name__)

TEXT_COLLECTION: Final = "resync-knowledge-text-v1"
_DEPTH: Final = 50  # candidates taken from each ranking before fusion
_BATCH: Final = 500
_warned_keyword_only = threading.Event()

Mode = Literal["hybrid", "keyword", "vector"]


class KnowledgeBase:
    """The passages, their BM25 index and (with the model) their vectors in chromadb.

    Args:
        client: A chromadb client (`knowledge.chroma.open_client`).
        use_model: False forces keyword-only search even when the model is installed.
        min_similarity: The best hit's cosine similarity below which a hybrid result is
            not reliable.
    """

    def __init__(self, client: Any, *, use_model: bool = True, min_similarity: float = 0.3) -> None:
        self._min_similarity = min_similarity
        self._lock = threading.RLock()
        # The record collection stores no real vectors: a constant 1-d placeholder.
        self._records = client.get_or_create_collection(
            TEXT_COLLECTION, embedding_function=None, metadata={"resync": "records"}
        )
        self._model: MiniLM | None = None
        self._vectors: Any = None
        if use_model:
            try:
                self._model = load_model()
            except ModelUnavailable as exc:
                if not _warned_keyword_only.is_set():
                    _warned_keyword_only.set()
                    log.warning("knowledge.keyword_only", reason=str(exc))
        if self._model is not None:
            self._vectors = client.get_or_create_collection(
                COLLECTION,
                embedding_function=embedding_function(),
                configuration={"hnsw": {"space": "cosine"}},
            )
        self._passages: list[Passage] = []
        self.refresh()

    @classmethod
    def open(
        cls,
        *,
        directory: Path | None,
        url: str | None = None,
        use_model: bool = True,
        min_similarity: float = 0.3,
    ) -> KnowledgeBase:
        """Open the knowledge base on a chromadb server, a directory, or in memory.

        Args:
            directory: Local store (``RESYNC_DATA_DIR/knowledge``); None: in memory.
            url: A chromadb server (``RESYNC_CHROMA_URL``); wins over ``directory``.
            use_model: False: keyword-only.
            min_similarity: See the class.

        Returns:
            The knowledge base, in step with the shipped corpus.
        """
        client = open_client(directory=directory, url=url)
        return cls(client, use_model=use_model, min_similarity=min_similarity)

    @property
    def mode(self) -> Literal["hybrid", "keyword"]:
        """``hybrid`` with the embedding model, else ``keyword``."""
        return "hybrid" if self._vectors is not None else "keyword"

    @property
    def passages(self) -> Sequence[Passage]:
        """Every passage, shipped first."""
        return tuple(self._passages)

    # --- keeping the indexes in step ------------------------------------------------------

    def refresh(self) -> None:
        """Reload the added documents (another process may have added some) and re-index."""
        with self._lock:
            got = self._records.get(include=["documents", "metadatas"])
            stored = [
                Passage.from_record(pid, text or "", dict(meta or {}))
                for pid, text, meta in zip(
                    got["ids"], got["documents"], got["metadatas"], strict=True
                )
            ]
            stored.sort(key=lambda p: (p.doc_id, p.position))
            self._passages = [*shipped_passages(), *stored]
            self._sync_vectors()
            self._index_keywords()

    def _sync_vectors(self) -> None:
        if self._vectors is None:
            return
        have: dict[str, str] = {}
        got = self._vectors.get(include=["metadatas"])
        for pid, meta in zip(got["ids"], got["metadatas"], strict=True):
            have[pid] = str((meta or {}).get("digest", ""))
        wanted = {p.id: p for p in self._passages}
        stale = [pid for pid in have if pid not in wanted]
        for start in range(0, len(stale), _BATCH):
            self._vectors.delete(ids=stale[start : start + _BATCH])
        missing = [p for pid, p in wanted.items() if have.get(pid) != p.digest]
        saved = shipped_vectors() if any(p.kind == "corpus" for p in missing) else {}
        known = [p.indexed_text for p in missing if text_key(p.indexed_text) in saved]
        if self._model is not None and known:
            self._model.preload(known, np.stack([saved[text_key(t)] for t in known]))
        self._embed_into_store(missing)

    def _embed_into_store(self, passages: Sequence[Passage]) -> None:
        assert self._model is not None
        assert self._vectors is not None
        for start in range(0, len(passages), _BATCH):
            batch = passages[start : start + _BATCH]
            vectors = self._model.embed([p.indexed_text for p in batch])
            self._vectors.upsert(
                ids=[p.id for p in batch],
                embeddings=vectors,
                documents=[p.text for p in batch],
                metadatas=[p.metadata() for p in batch],
            )

    def _index_keywords(self) -> None:
        import bm25s  # type: ignore[import-untyped]

        self._bm25: Any = None
        self._kinds = np.array([p.kind for p in self._passages])
        self._position = {p.id: i for i, p in enumerate(self._passages)}
        tokens = [tokenize(p.indexed_text) for p in self._passages]
        self._token_sets = [frozenset(t) for t in tokens]
        if self._passages:
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    # --- adding and removing ---------------------------------------------------------------

    def add_document(self, path: Path) -> tuple[str, Literal["added", "replaced", "unchanged"]]:
        """Add (or replace, when its content changed) one operator document.

        Args:
            path: A Markdown, HTML, text or PDF file.

        Returns:
            The document id and what happened.

        Raises:
            DocumentError: The file cannot be read or chunked.
        """
        return self.add_documents([path])[0]

    def add_documents(
        self, paths: Sequence[Path]
    ) -> list[tuple[str, Literal["added", "replaced", "unchanged"]]]:
        """Add several documents, re-indexing keywords once at the end.

        Args:
            paths: The files.

        Returns:
            The document id and what happened, per file.

        Raises:
            DocumentError: A file cannot be read or chunked (the files before it are added).
        """
        done: list[tuple[str, Literal["added", "replaced", "unchanged"]]] = []
        try:
            for path in paths:
                doc_id, passages, digest = document_passages(path)
                done.append((doc_id, self._put(doc_id, passages, digest, reindex=False)))
        finally:
            with self._lock:
                self._index_keywords()
        return done

    def add_incident(
        self, incident_id: str, *, date: str, title: str, text: str
    ) -> Literal["added", "replaced", "unchanged"]:
        """Add a resolved incident and its postmortem (Markdown) to incident memory.

        Args:
            incident_id: The incident's id (``INC-2026-0031``).
            date: When it happened (ISO date).
            title: Its one-line summary.
            text: The postmortem or resolution notes, Markdown (chunked at headings).

        Returns:
            What happened (a changed postmortem replaces the earlier one).
        """
        doc_id, passages, digest = incident_passages(incident_id, date=date, title=title, text=text)
        return self._put(doc_id, passages, digest)

    def _put(
        self, doc_id: str, passages: list[Passage], digest: str, *, reindex: bool = True
    ) -> Literal["added", "replaced", "unchanged"]:
        with self._lock:
            before = [p for p in self._passages if p.doc_id == doc_id]
            if before and all(p.digest == digest for p in before) and len(before) == len(passages):
                return "unchanged"
            self._delete(doc_id, [p.id for p in before])
            for start in range(0, len(passages), _BATCH):
                batch = passages[start : start + _BATCH]
                self._records.add(
                    ids=[p.id for p in batch],
                    embeddings=[[1.0]] * len(batch),
                    documents=[p.text for p in batch],
                    metadatas=[p.metadata() for p in batch],
                )
            if self._vectors is not None:
                self._embed_into_store(passages)
            kept = [p for p in self._passages if p.doc_id != doc_id]
            self._passages = [*kept, *passages]
            if reindex:
                self._index_keywords()
            log.info("knowledge.document_stored", doc_id=doc_id, passages=len(passages))
            return "replaced" if before else "added"

    def _delete(self, doc_id: str, ids: list[str]) -> None:
        self._records.delete(where={"doc_id": doc_id})
        if self._vectors is not None and ids:
            self._vectors.delete(where={"doc_id": doc_id})

    def remove(self, ref: str) -> int:
        """Remove an added document or incident.

        Args:
            ref: Its id (``doc:/…``, ``incident:INC-…``) or the file's path.

        Returns:
            How many passages were removed.

        Raises:
            KeyError: No such added document (shipped documents cannot be removed).
        """
        with self._lock:
            doc_id = ref if ref.startswith(("doc:", "incident:")) else f"doc:{Path(ref).resolve()}"
            gone = [p.id for p in self._passages if p.doc_id == doc_id and p.kind != "corpus"]
            if not gone:
                raise KeyError(ref)
            self._delete(doc_id, gone)
            self._passages = [p for p in self._passages if p.doc_id != doc_id]
            self._index_keywords()
            log.info("knowledge.document_removed", doc_id=doc_id, passages=len(gone))
            return len(gone)

    def documents(self) -> list[DocumentInfo]:
        """Every document, shipped ones first, with its passage count.

        Returns:
            The documents.
        """
        grouped: dict[str, list[Passage]] = defaultdict(list)
        for passage in self._passages:
            grouped[passage.doc_id].append(passage)
        return [
            DocumentInfo(
                doc_id=doc_id,
                title=items[0].doc_title,
                kind=items[0].kind,
                source=items[0].source if items[0].kind != "corpus" else "shipped",
                chunks=len(items),
                digest=items[0].digest,
                date=items[0].date,
            )
            for doc_id, items in grouped.items()
        ]

    # --- searching -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 5,
        kinds: Iterable[Kind] | None = None,
        mode: Mode | None = None,
    ) -> SearchResult:
        """The passages that best answer a free-text question.

        Args:
            query: E.g. "how do I fix ORA-01555?".
            limit: At most this many hits.
            kinds: Only these kinds (e.g. ``["incident"]`` for incident memory).
            mode: Force ``keyword`` or ``vector`` ranking alone (benchmarks); default:
                hybrid when the model is installed.

        Returns:
            The hits, best first, the mode used and whether the best is reliable.
        """
        wanted: set[str] | None = {str(k) for k in kinds} if kinds is not None else None
        use = mode or ("hybrid" if self._vectors is not None else "keyword")
        if use != "keyword" and self._vectors is None:
            use = "keyword"
        with self._lock:
            passages = self._passages
            keyword = self._keyword_ranking(query, wanted)
            similar = self._vector_ranking(query, wanted) if use != "keyword" else {}
        rankings: list[list[int]] = []
        if use != "vector":
            rankings.append([i for i, _ in keyword])
            rankings.append(self._identifier_ranking(query, keyword))
        if use != "keyword":
            rankings.append(list(similar))
        fused = fuse(rankings)
        best = sorted(fused, key=lambda i: -fused[i])[: max(limit, 0)]
        bm25 = dict(keyword)
        hits = tuple(
            Hit(
                passage=passages[i],
                score=round(fused[i], 6),
                keyword=round(bm25.get(i, 0.0), 4),
                similarity=round(similar.get(i, 0.0), 4) if use != "keyword" else None,
            )
            for i in best
        )
        reported: Literal["hybrid", "keyword"] = "keyword" if use == "keyword" else "hybrid"
        return SearchResult(hits=hits, mode=reported, reliable=self._reliable(query, hits, use))

    def _keyword_ranking(self, query: str, wanted: set[str] | None) -> list[tuple[int, float]]:
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        if wanted is not None:
            scores = np.where(np.isin(self._kinds, list(wanted)), scores, 0.0)
        top = np.argsort(-scores)[:_DEPTH]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def _identifier_ranking(self, query: str, keyword: list[tuple[int, float]]) -> list[int]:
        codes = identifiers(query)
        return [i for i, _ in keyword if codes <= self._token_sets[i]] if codes else []

    def _vector_ranking(self, query: str, wanted: set[str] | None) -> dict[int, float]:
        assert self._model is not None
        if not query.strip() or not self._passages:
            return {}
        vector = self._model.embed([query])[0]
        where = {"kind": {"$in": sorted(wanted)}} if wanted is not None else None
        result = self._vectors.query(
            query_embeddings=[vector],
            n_results=min(_DEPTH, len(self._passages)),
            where=where,
            include=["distances"],
        )
        ranking: dict[int, float] = {}
        for pid, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            index = self._position.get(pid)
            if index is not None:
                ranking[index] = 1.0 - float(distance)
        return ranking

    def _reliable(self, query: str, hits: Sequence[Hit], use: str) -> bool:
        if not hits:
            return False
        if use != "keyword":
            return max(h.similarity or 0.0 for h in hits) >= self._min_similarity
        return keyword_reliable(query, hits[0].passage.indexed_text)
