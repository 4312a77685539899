"""The shipped corpus as passages: AWS codes, log patterns and the Markdown guides.

Every entry of ``codes.yaml`` and ``patterns.yaml`` is one passage; every Markdown file in
``knowledge/corpus`` is chunked at its headings like an operator's document.

Their vectors ship too (``corpus/vectors.npz``, keyed by the SHA-256 of each passage's
indexed text), so a new store does not spend half a minute of CPU embedding the corpus;
``python -m knowledge.shipped`` rewrites the file after the corpus changes (a test says
when it is stale; a stale file only costs time: missing vectors are computed).

Exceptions: `knowledge.codes.CorpusError` for a broken shipped corpus.
"""

from __future__ import annotations

import functools
import hashlib
import io
from importlib.resources import files
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from knowledge.codes import corpus
from knowledge.documents import chunk_markdown, content_hash
from knowledge.passages import Passage

__all__ = ["CODES_TITLE", "PATTERNS_TITLE", "shipped_passages", "shipped_vectors", "text_key"]

CODES_TITLE: Final = "HCL Workload Automation message codes"
PATTERNS_TITLE: Final = "Job log error patterns"


@functools.cache
def shipped_passages() -> tuple[Passage, ...]:
    """The shipped corpus, read once per process.

    Returns:
        The passages, codes first, then patterns, then the guides by file name.
    """
    known = corpus()
    out: list[Passage] = []
    for entry in known.codes:
        out.append(
            Passage.make(
                doc_id="corpus:codes",
                doc_title=CODES_TITLE,
                section=entry.code,
                text=f"{entry.code}: {entry.meaning} What to do: {entry.action}",
                kind="corpus",
                source=entry.source,
                position=len(out),
            )
        )
    for pattern in known.patterns:
        out.append(
            Passage.make(
                doc_id="corpus:patterns",
                doc_title=PATTERNS_TITLE,
                section=pattern.name,
                text=f"{pattern.name}: {pattern.meaning} What to do: {pattern.action}",
                kind="corpus",
                source=pattern.source,
                position=len(out),
            )
        )
    folder = files("knowledge") / "corpus"
    guides = sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)
    for guide in guides:
        text = guide.read_text(encoding="utf-8")
        stem = guide.name.removesuffix(".md")
        title, chunks = chunk_markdown(text, default_title=stem)
        for number, chunk in enumerate(chunks):
            out.append(
                Passage.make(
                    doc_id=f"corpus:{stem}",
                    doc_title=title,
                    section=chunk.section,
                    text=chunk.text,
                    kind="corpus",
                    source=f"knowledge/corpus/{guide.name}",
                    position=number,
                    digest=content_hash(text.encode()),
                )
            )
    return tuple(out)


def text_key(text: str) -> str:
    """The key of a text in the shipped vectors file.

    Args:
        text: A passage's indexed text.

    Returns:
        Its SHA-256, hex.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shipped_vectors() -> dict[str, npt.NDArray[np.float32]]:
    """The shipped corpus's saved vectors by `text_key` (empty when the file is missing).

    Returns:
        The vectors.
    """
    source = files("knowledge") / "corpus" / "vectors.npz"
    if not source.is_file():
        return {}
    with np.load(io.BytesIO(source.read_bytes())) as data:
        keys, vectors = data["keys"], data["vectors"]
    return {str(k): v.astype(np.float32) for k, v in zip(keys, vectors, strict=True)}


def _write_vectors(path: Path) -> int:
    from knowledge.embedding import load_model

    texts = [p.indexed_text for p in shipped_passages()]
    vectors = load_model().encode(texts)
    np.savez_compressed(path, keys=np.array([text_key(t) for t in texts]), vectors=vectors)
    return len(texts)


if __name__ == "__main__":
    target = Path(__file__).parent / "corpus" / "vectors.npz"
    print(f"{_write_vectors(target)} vectors written to {target}")
