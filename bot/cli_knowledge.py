"""``resync knowledge ...``: the knowledge base from the terminal.

- ``resync knowledge add PATH...``: add Markdown, HTML, text or PDF files (a folder adds the
  supported files in it); a file added again replaces its passages when it changed.
- ``resync knowledge list``: the documents, shipped and added, with their passage counts.
- ``resync knowledge remove ID|PATH...``: remove added documents.
- ``resync knowledge search [--limit N] QUERY...``: the best passages with their source.

The store is chromadb under ``RESYNC_KNOWLEDGE_DIR`` (default ``RESYNC_DATA_DIR/knowledge``)
or the server at ``RESYNC_CHROMA_URL``. Every change is recorded in the audit log.

Exit codes: 0 success; 1 a file could not be added or a document is unknown; 2 bad
configuration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings
    from knowledge.retrieval import KnowledgeBase

# chromadb, the model and bm25s are imported by the handlers: `resync --help` stays fast.

__all__ = ["register"]


def _err(message: str) -> None:
    print(f"resync knowledge: {message}", file=sys.stderr)


def _clean(text: object) -> str:
    from bot.render_text import neutralise_controls

    return neutralise_controls(str(text)).replace("\n", " ").replace("\t", " ")


def _open(settings: Settings) -> KnowledgeBase:
    from bot.data_dir import secure_data_dir
    from knowledge.retrieval import KnowledgeBase

    directory = settings.knowledge_dir
    if settings.chroma_url is None and directory is None:
        secure_data_dir(settings.data_dir, create=True)
        directory = settings.data_dir / "knowledge"
    return KnowledgeBase.open(
        directory=directory,
        url=settings.chroma_url,
        use_model=settings.knowledge_embeddings,
        min_similarity=settings.knowledge_min_similarity,
    )


def _audit(settings: Settings, action: str, *, target: str, **parameters: object) -> None:
    """Record a change in the audit log (the same log and keys as every other command)."""
    import asyncio
    import getpass

    from integrations.audit import open_audit_log

    async def write() -> None:
        log = await open_audit_log(settings)
        try:
            await log.record(
                action=action,
                outcome="done",
                actor_id=None,
                actor_identity=getpass.getuser(),
                platform="terminal",
                target=target,
                parameters=dict(parameters),
            )
        finally:
            await log.close()

    asyncio.run(write())


def _files(paths: list[Path]) -> list[Path]:
    from knowledge.documents import SUPPORTED_SUFFIXES

    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            out.append(path)
    return out


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.documents import DocumentError

    kb = _open(settings)
    failed = 0
    for path in _files(args.paths):
        try:
            doc_id, status = kb.add_document(path)
        except DocumentError as exc:
            _err(_clean(exc))
            failed += 1
            continue
        count = sum(1 for p in kb.passages if p.doc_id == doc_id)
        print(f"{status}: {_clean(path)} ({count} passages)")
        if status != "unchanged":
            _audit(settings, "knowledge.add", target=doc_id, status=status, passages=count)
    return 1 if failed else 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    kb = _open(settings)
    for doc in kb.documents():
        if doc.kind == "corpus" and not args.all:
            continue
        date = f" {doc.date}" if doc.date else ""
        print(f"{doc.kind:8} {doc.chunks:4}  {_clean(doc.doc_id)}  {_clean(doc.title)}{date}")
    shipped = sum(1 for d in kb.documents() if d.kind == "corpus")
    if not args.all:
        print(f"(and {shipped} shipped documents: --all lists them)")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    kb = _open(settings)
    failed = 0
    for ref in args.refs:
        try:
            count = kb.remove(ref)
        except KeyError:
            _err(f"no added document {_clean(ref)} (see resync knowledge list)")
            failed += 1
            continue
        print(f"removed: {_clean(ref)} ({count} passages)")
        _audit(settings, "knowledge.remove", target=ref, passages=count)
    return 1 if failed else 0


def _search(args: argparse.Namespace, settings: Settings) -> int:
    kb = _open(settings)
    result = kb.search(" ".join(args.query), limit=args.limit)
    if result.mode == "keyword":
        print("(keyword search only: the embedding model is not installed or is turned off)")
    if not result.hits or not result.reliable:
        print("Nothing reliable found.")
        if not result.hits:
            return 0
        print("Closest passages:")
    for number, hit in enumerate(result.hits, 1):
        p = hit.passage
        where = f"{p.doc_title} > {p.section.split(' > ')[-1]}"
        sim = "" if hit.similarity is None else f" similarity {hit.similarity:.2f}"
        print(f"{number}. {_clean(where)}  [{p.kind}{sim}]")
        print(f"   {_clean(p.text)[:400]}")
        print(f"   source: {_clean(p.source)}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``knowledge add|list|remove|search``.

    Args:
        subparsers: The object ``ArgumentParser.add_subparsers`` returned.
    """
    knowledge = subparsers.add_parser("knowledge", help="the knowledge base (documents, search)")
    commands = knowledge.add_subparsers(dest="knowledge_command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", help="add Markdown, HTML, text or PDF documents")
    add.add_argument("paths", nargs="+", type=Path, help="files or folders")
    add.set_defaults(handler=_add)
    listing = commands.add_parser("list", help="list the added documents")
    listing.add_argument("--all", action="store_true", help="include the shipped documents")
    listing.set_defaults(handler=_list)
    remove = commands.add_parser("remove", help="remove added documents")
    remove.add_argument("refs", nargs="+", help="document id (doc:…) or the file's path")
    remove.set_defaults(handler=_remove)
    search = commands.add_parser("search", help="search the knowledge base")
    search.add_argument("query", nargs="+", help="the question, e.g. how do I fix ORA-01555")
    search.add_argument("--limit", type=int, default=5, help="passages to show (default 5)")
    search.set_defaults(handler=_search)
