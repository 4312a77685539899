"""`KnowledgeDesk`: the knowledge base as chat answers use it, off the event loop.

The knowledge base (`knowledge.retrieval.KnowledgeBase`: the shipped corpus, the documents
operators add with ``resync knowledge add`` and resolved incidents) is synchronous:
chromadb, BM25 and a numpy forward pass of the embedding model. The desk opens it on first
use (about a second: a one-shot ``resync ask`` that asks no knowledge question never pays
it), runs every call in a worker thread, picks up documents another process added every
`REFRESH_SECONDS`, and decides which passages an answer may quote (`quotable`).

A knowledge base that cannot open (a chromadb server down, a broken store) is logged once
per attempt (``knowledge.unavailable``) and the desk answers None: callers fall back to the
shipped corpus or leave the part out, so a broken store never makes an answer worse.

`agents.assistant.Assistant` takes the desk (``knowledge=``) and hands it to every answer.

Exceptions: none escape; failures are logged and become None.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

import structlog

from knowledge.keywords import tokenize
from knowledge.passages import Hit, Kind, SearchResult
from knowledge.ranking import identifiers, keyword_reliable

if TYPE_CHECKING:  # chromadb, bm25s and the model load only when a desk opens
    from config.settings import Settings
    from knowledge.retrieval import KnowledgeBase

__all__ = [
    "REFRESH_SECONDS",
    "KnowledgeDesk",
    "quotable",
]

log = structlog.get_logger(__name__)

REFRESH_SECONDS: Final = 120.0
"""How old the desk's view of the store may get before a search reloads it."""

_RETRY_SECONDS: Final = 60.0  # after a failed open, answers go on without it this long


def quotable(query: str, hits: Iterable[Hit], *, min_similarity: float) -> list[Hit]:
    """The hits an answer may quote as an answer to ``query``, best first.

    A query naming error codes (``ORA-01555``, ``AWSBIN076E``) is answered only by passages
    naming every one of them: the embedding model does not know the codes, so "what does
    AWSFOO999E mean?" would otherwise quote a passage that merely reads like a message
    reference. Any other query needs the passage's own cosine similarity at or above
    ``min_similarity`` (keyword-only mode: half of the query's words in the passage).

    Args:
        query: The question.
        hits: Search hits, best first.
        min_similarity: The similarity threshold (``RESYNC_KNOWLEDGE_MIN_SIMILARITY``).

    Returns:
        The hits to quote; empty: nothing reliable was found.
    """
    codes = identifiers(query)
    kept: list[Hit] = []
    for hit in hits:
        text = hit.passage.indexed_text
        if codes:
            good = codes <= set(tokenize(text))
        elif hit.similarity is not None:
            good = hit.similarity >= min_similarity
        else:
            good = keyword_reliable(query, text)
        if good:
            kept.append(hit)
    return kept


class KnowledgeDesk:
    """Opens the knowledge base on first use and runs its calls in worker threads.

    Args:
        opener: Opens the knowledge base (blocking; run in a thread).
        min_similarity: The threshold `quotable` applies.
        refresh_seconds: Reload the store's documents when the view is older than this.
    """

    def __init__(
        self,
        opener: Callable[[], KnowledgeBase],
        *,
        min_similarity: float = 0.3,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._opener = opener
        self._base: KnowledgeBase | None = None
        self._lock = asyncio.Lock()
        self._loaded_at = 0.0
        self._failed_at: float | None = None
        self._refresh_seconds = refresh_seconds
        self.min_similarity = min_similarity

    @classmethod
    def from_settings(cls, settings: Settings) -> KnowledgeDesk:
        """The desk over the store ``resync knowledge`` uses (opened on first use).

        Args:
            settings: ``RESYNC_CHROMA_URL``, ``RESYNC_KNOWLEDGE_DIR`` (default
                ``RESYNC_DATA_DIR/knowledge``), ``RESYNC_KNOWLEDGE_EMBEDDINGS``,
                ``RESYNC_KNOWLEDGE_MIN_SIMILARITY``.

        Returns:
            The desk.
        """
        directory = settings.knowledge_dir
        if settings.chroma_url is None and directory is None:
            directory = settings.data_dir / "knowledge"

        def opener() -> KnowledgeBase:
            from knowledge.retrieval import KnowledgeBase

            return KnowledgeBase.open(
                directory=directory,
                url=settings.chroma_url,
                use_model=settings.knowledge_embeddings,
                min_similarity=settings.knowledge_min_similarity,
            )

        return cls(opener, min_similarity=settings.knowledge_min_similarity)

    @classmethod
    def over(cls, base: KnowledgeBase, *, min_similarity: float = 0.3) -> KnowledgeDesk:
        """A desk over a knowledge base already open (tests, one process).

        Args:
            base: The knowledge base.
            min_similarity: See the class.

        Returns:
            The desk.
        """
        return cls(lambda: base, min_similarity=min_similarity)

    async def base(self) -> KnowledgeBase | None:
        """The knowledge base, opened (or refreshed) as needed; None when it cannot open."""
        async with self._lock:
            now = time.monotonic()
            if self._base is None:
                if self._failed_at is not None and now - self._failed_at < _RETRY_SECONDS:
                    return None
                try:
                    self._base = await asyncio.to_thread(self._opener)
                except Exception as exc:  # chromadb raises many types; none may break an answer
                    self._failed_at = now
                    log.error("knowledge.unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
                    return None
                self._loaded_at = time.monotonic()
                log.info("knowledge.opened", mode=self._base.mode)
            elif now - self._loaded_at > self._refresh_seconds:
                # `resync knowledge add` in another process: its documents show up here.
                try:
                    await asyncio.to_thread(self._base.refresh)
                except Exception as exc:
                    log.error(
                        "knowledge.refresh_failed", error=f"{type(exc).__name__}: {exc}"[:300]
                    )
                self._loaded_at = time.monotonic()
            return self._base

    async def search(
        self, query: str, *, limit: int = 5, kinds: Iterable[Kind] | None = None
    ) -> SearchResult | None:
        """Search in a worker thread.

        Args:
            query: The question.
            limit: At most this many hits.
            kinds: Only these kinds of passage.

        Returns:
            The result, or None when the knowledge base is unavailable or the search failed.
        """
        base = await self.base()
        if base is None:
            return None
        chosen = list(kinds) if kinds is not None else None
        try:
            return await asyncio.to_thread(base.search, query, limit=limit, kinds=chosen)
        except Exception as exc:
            log.error("knowledge.search_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            return None

    async def add_incident(self, incident_id: str, *, date: str, title: str, text: str) -> str:
        """Store (or replace) a resolved incident in incident memory.

        Args:
            incident_id: The incident's id.
            date: Its date (ISO).
            title: Its title.
            text: Its Markdown document.

        Returns:
            ``added``, ``replaced``, ``unchanged``, or ``unavailable`` (the store is down).
        """
        base = await self.base()
        if base is None:
            return "unavailable"
        return await asyncio.to_thread(
            base.add_incident, incident_id, date=date, title=title, text=text
        )
