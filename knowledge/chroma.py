"""chromadb: the client (local, or a shared server) and Resync's registered embedding function.

The collection is created with `MiniLMEmbeddingFunction`, registered through chromadb's own
API (`register_embedding_function`), so chromadb stores the function's name and config with
the collection and rebuilds it when the collection is reopened, here or by another client
of a shared server. chromadb's default function is never used: it downloads a model at first
use. chromadb is imported inside these functions so that importing `knowledge` stays light.

Exceptions: whatever chromadb raises; `KnowledgeBase` turns them into a keyword-only search.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from knowledge.embedding import DIMENSIONS, MODEL_NAME, load_model

__all__ = ["COLLECTION", "FUNCTION_NAME", "embedding_function", "open_client"]

COLLECTION: Final = "resync-knowledge-minilm-v1"
FUNCTION_NAME: Final = "resync-minilm-l6-v2"


@functools.cache
def _function_class() -> type[Any]:
    """Define and register the embedding function class (imports chromadb once)."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
    from chromadb.utils.embedding_functions import register_embedding_function

    class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
        """all-MiniLM-L6-v2 in numpy, from the installed model package (offline)."""

        def __init__(self) -> None:
            self._model = load_model()

        def __call__(self, input: Documents) -> Embeddings:
            return list(self._model.embed(list(input)))

        @staticmethod
        def name() -> str:
            return FUNCTION_NAME

        def default_space(self) -> Space:
            return "cosine"

        def supported_spaces(self) -> list[Space]:
            return ["cosine", "ip", "l2"]

        def get_config(self) -> dict[str, Any]:
            return {"model": MODEL_NAME, "dimensions": DIMENSIONS}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
            return MiniLMEmbeddingFunction()

    register_embedding_function(MiniLMEmbeddingFunction)  # type: ignore[no-untyped-call]
    return MiniLMEmbeddingFunction


def embedding_function() -> Any:
    """A chromadb embedding function backed by the packaged model.

    Returns:
        The function (a chromadb `EmbeddingFunction`).

    Raises:
        knowledge.embedding.ModelUnavailable: The model package is not installed.
    """
    return _function_class()()


def open_client(*, directory: Path | None, url: str | None) -> Any:
    """A chromadb client: a server at ``url``, else files under ``directory``, else memory.

    Args:
        directory: Where a local (``PersistentClient``) store lives; created 0700.
        url: A chromadb server (``http://host:8000``); wins over ``directory``.

    Returns:
        The client.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if url:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        return chromadb.HttpClient(
            host=parts.hostname or "localhost",
            port=parts.port or (443 if https else 8000),
            ssl=https,
            settings=settings,
        )
    if directory is not None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(directory), settings=settings)
    return chromadb.EphemeralClient(settings=settings)
