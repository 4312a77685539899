"""Passages of an operator's file or of a resolved incident, ready for the knowledge base.

Exceptions: `knowledge.documents.DocumentError` for a file that cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.documents import chunk_markdown, content_hash, read_document
from knowledge.passages import Passage

__all__ = ["document_passages", "incident_passages"]


def document_passages(path: Path) -> tuple[str, list[Passage], str]:
    """Read and chunk one operator file.

    Args:
        path: A Markdown, HTML, text or PDF file.

    Returns:
        The document id (``doc:`` + the absolute path), its passages and content hash.

    Raises:
        DocumentError: The file cannot be read or chunked.
    """
    parsed = read_document(path)
    doc_id = f"doc:{path.resolve()}"
    passages = [
        Passage.make(
            doc_id=doc_id,
            doc_title=parsed.title,
            section=chunk.section,
            text=chunk.text,
            kind="document",
            source=str(path.resolve()),
            position=number,
            digest=parsed.digest,
        )
        for number, chunk in enumerate(parsed.chunks)
    ]
    return doc_id, passages, parsed.digest


def incident_passages(
    incident_id: str, *, date: str, title: str, text: str
) -> tuple[str, list[Passage], str]:
    """Chunk a resolved incident's postmortem (Markdown) at its headings.

    Args:
        incident_id: The incident's id (``INC-2026-0031``).
        date: When it happened (ISO date).
        title: Its one-line summary.
        text: The postmortem or resolution notes.

    Returns:
        The document id (``incident:`` + the id), its passages and content hash.
    """
    doc_id = f"incident:{incident_id}"
    digest = content_hash(f"{date}\n{title}\n{text}".encode())
    _, chunks = chunk_markdown(text, default_title=title)
    passages = [
        Passage.make(
            doc_id=doc_id,
            doc_title=f"{incident_id} ({date}): {title}",
            section=chunk.section,
            text=chunk.text,
            kind="incident",
            source=incident_id,
            position=number,
            digest=digest,
            date=date,
        )
        for number, chunk in enumerate(chunks)
    ]
    return doc_id, passages, digest
