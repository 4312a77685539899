"""The records knowledge search works on: passages, hits, documents.

Exceptions: none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DocumentInfo", "Hit", "Kind", "Passage", "SearchResult"]

Kind = Literal["corpus", "document", "incident"]


@dataclass(frozen=True, slots=True)
class Passage:
    """One searchable chunk and where it comes from.

    Attributes:
        id: Stable id (``doc_id#position``).
        doc_id: The document (``corpus:codes``, ``doc:/path/file.md``, ``incident:INC-…``).
        doc_title: The document's title.
        section: The section inside it (heading path, code, pattern or page).
        text: The passage.
        kind: ``corpus`` (shipped), ``document`` (added by an operator) or ``incident``.
        source: The file, or the source the shipped entry cites.
        digest: Content hash of the document (re-adding a changed file replaces it).
        date: An incident's date (ISO), else empty.
        position: Order inside the document.
    """

    id: str
    doc_id: str
    doc_title: str
    section: str
    text: str
    kind: Kind
    source: str
    digest: str
    date: str = ""
    position: int = 0

    @classmethod
    def make(
        cls,
        *,
        doc_id: str,
        doc_title: str,
        section: str,
        text: str,
        kind: Kind,
        source: str,
        position: int,
        digest: str | None = None,
        date: str = "",
    ) -> Passage:
        """A passage with its id derived from its document and position.

        Args:
            doc_id: The document id.
            doc_title: The document title.
            section: The section.
            text: The passage.
            kind: The kind.
            source: Where it comes from.
            position: Order in the document.
            digest: The document's content hash; default: a hash of this passage.
            date: An incident's date.

        Returns:
            The passage.
        """
        own = hashlib.sha256(f"{section}\n{text}".encode()).hexdigest()
        return cls(
            id=f"{doc_id}#{position}",
            doc_id=doc_id,
            doc_title=doc_title,
            section=section,
            text=text,
            kind=kind,
            source=source,
            digest=digest or own,
            date=date,
            position=position,
        )

    @property
    def indexed_text(self) -> str:
        """What both the keyword index and the embedding read: where, then what."""
        return f"{self.doc_title}. {self.section}.\n{self.text}"

    def metadata(self) -> dict[str, Any]:
        """The chromadb metadata (everything but the id and the text)."""
        return {
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "section": self.section,
            "kind": self.kind,
            "source": self.source,
            "digest": self.digest,
            "date": self.date,
            "position": self.position,
        }

    @classmethod
    def from_record(cls, pid: str, text: str, meta: dict[str, Any]) -> Passage:
        """Rebuild a passage from a chromadb record.

        Args:
            pid: The record id.
            text: The stored document text.
            meta: The stored metadata.

        Returns:
            The passage.
        """
        kind: Kind = "incident" if meta.get("kind") == "incident" else "document"
        if meta.get("kind") == "corpus":
            kind = "corpus"
        return cls(
            id=pid,
            doc_id=str(meta["doc_id"]),
            doc_title=str(meta.get("doc_title", "")),
            section=str(meta.get("section", "")),
            text=text,
            kind=kind,
            source=str(meta.get("source", "")),
            digest=str(meta.get("digest", "")),
            date=str(meta.get("date", "")),
            position=int(meta.get("position", 0)),
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result.

    Attributes:
        passage: The passage.
        score: Reciprocal-rank-fusion score (higher is better; only for ordering).
        keyword: BM25 score, 0 when no query word occurs in the passage.
        similarity: Cosine similarity of the embeddings, None in keyword-only mode.
    """

    passage: Passage
    score: float
    keyword: float
    similarity: float | None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a search found.

    Attributes:
        hits: Best first.
        mode: ``hybrid`` (BM25 + embeddings) or ``keyword`` (the model is not installed).
        reliable: Whether the best hit clears the relevance threshold; when False an
            answer should say that nothing reliable was found.
    """

    hits: tuple[Hit, ...]
    mode: Literal["hybrid", "keyword"]
    reliable: bool


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One document in the knowledge base.

    Attributes:
        doc_id: Its id.
        title: Its title.
        kind: ``corpus``, ``document`` or ``incident``.
        source: Its file (or source).
        chunks: How many passages.
        digest: Its content hash.
        date: An incident's date, else empty.
    """

    doc_id: str
    title: str
    kind: Kind
    source: str
    chunks: int
    digest: str
    date: str
