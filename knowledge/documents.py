"""Operator documents into chunks: Markdown, HTML, plain text and PDF, split at headings.

Each chunk carries its document's title and the heading path of its section
("Agent restart > Restart with conman"), so an answer can cite where a passage came
from. A section longer than about 180 words is cut at paragraph boundaries into several
chunks of the same section: the embedding model reads at most 256 tokens.

Exceptions: `DocumentError` (a `ValueError`) for a file that cannot be read or has an
unsupported type; the message names the file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "DocumentError",
    "ParsedDocument",
    "chunk_markdown",
    "content_hash",
    "read_document",
]

SUPPORTED_SUFFIXES: Final = frozenset(
    {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf"}
)
_MAX_WORDS: Final = 180
_ATX: Final = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE: Final = re.compile(r"^\s*(```|~~~)")


class DocumentError(ValueError):
    """A document that cannot be read or chunked."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One searchable passage.

    Attributes:
        section: The heading path ("Title > Section"), or the page ("page 3").
        text: The passage.
    """

    section: str
    text: str


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A document read from a file.

    Attributes:
        title: The first top-level heading, else the file name.
        chunks: The passages in document order.
        digest: SHA-256 of the file's bytes (a changed file replaces its chunks).
    """

    title: str
    chunks: tuple[Chunk, ...]
    digest: str


def content_hash(data: bytes) -> str:
    """SHA-256 of some bytes, hex.

    Args:
        data: The bytes.

    Returns:
        The hex digest.
    """
    return hashlib.sha256(data).hexdigest()


def _windows(paragraphs: list[str]) -> list[str]:
    """Paragraphs grouped into passages of at most about `_MAX_WORDS` words."""
    out: list[str] = []
    current: list[str] = []
    words = 0
    for para in paragraphs:
        count = len(para.split())
        if current and words + count > _MAX_WORDS:
            out.append("\n\n".join(current))
            current, words = [], 0
        if count > _MAX_WORDS:  # one huge paragraph: cut it by words
            tokens = para.split()
            for start in range(0, len(tokens), _MAX_WORDS):
                out.append(" ".join(tokens[start : start + _MAX_WORDS]))
            continue
        current.append(para)
        words += count
    if current:
        out.append("\n\n".join(current))
    return out


def _paragraphs(lines: list[str]) -> list[str]:
    text = "\n".join(lines).strip()
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def chunk_markdown(text: str, *, default_title: str) -> tuple[str, list[Chunk]]:
    """Split Markdown at its ATX headings (``#`` to ``######``; not inside code fences).

    Args:
        text: The Markdown.
        default_title: The title when the document has no top-level heading.

    Returns:
        The document title and its chunks.
    """
    title = default_title
    path: list[tuple[int, str]] = []
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _ATX.match(line)
        if heading is None:
            sections[-1][1].append(line)
            continue
        level, name = len(heading.group(1)), heading.group(2).strip()
        if level == 1 and title == default_title and not path:
            title = name
        path = [(lvl, n) for lvl, n in path if lvl < level] + [(level, name)]
        sections.append((" > ".join(n for _, n in path), []))
    chunks: list[Chunk] = []
    for section, lines in sections:
        name = section or title
        for passage in _windows(_paragraphs(lines)):
            chunks.append(Chunk(section=name, text=passage))
    return title, chunks


class _HTMLToMarkdown(HTMLParser):
    """Headings become ``#`` lines, block elements paragraph breaks; scripts dropped."""

    _BLOCKS: Final = frozenset(
        {"p", "div", "li", "tr", "br", "pre", "table", "ul", "ol", "section"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "nav", "footer"}:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "nav", "footer"}:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            # Headings must stay on one line; other whitespace is collapsed.
            self.parts.append(re.sub(r"\s+", " ", data))


def _pdf_chunks(path: Path) -> tuple[str, list[Chunk]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, OSError, ValueError) as exc:
        raise DocumentError(f"{path}: not a readable PDF ({exc})") from exc
    chunks = [
        Chunk(section=f"page {number}", text=passage)
        for number, text in enumerate(pages, start=1)
        for passage in _windows(_paragraphs(text.splitlines()))
    ]
    return meta_title.strip() or path.stem, chunks


def read_document(path: Path) -> ParsedDocument:
    """Read and chunk one file, by its suffix.

    Args:
        path: A ``.md``, ``.markdown``, ``.txt``, ``.html``, ``.htm`` or ``.pdf`` file.

    Returns:
        The document.

    Raises:
        DocumentError: Unsupported type, unreadable, or no text at all.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported type {suffix or '(none)'}; "
            f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: {exc.strerror or exc}") from exc
    if suffix == ".pdf":
        title, chunks = _pdf_chunks(path)
    else:
        text = data.decode("utf-8", errors="replace")
        if suffix in {".html", ".htm"}:
            parser = _HTMLToMarkdown()
            parser.feed(text)
            parser.close()
            title, chunks = chunk_markdown("".join(parser.parts), default_title=path.stem)
            if parser.title and title == path.stem:
                title = parser.title
        elif suffix in {".md", ".markdown"}:
            title, chunks = chunk_markdown(text, default_title=path.stem)
        else:
            title = path.stem
            chunks = [
                Chunk(section=title, text=p) for p in _windows(_paragraphs(text.splitlines()))
            ]
    if not chunks:
        raise DocumentError(f"{path}: no text found")
    return ParsedDocument(title=title, chunks=tuple(chunks), digest=content_hash(data))
