"""Knowledge questions: what a code means, how to fix a symptom, what our runbooks say.

With the knowledge base (`AnswerContext.knowledge`: the shipped corpus, the documents
operators add with ``resync knowledge add``, resolved incidents) the answer quotes the best
passages of hybrid retrieval (BM25 and embeddings, fused), each with its source: the
document and section, or the incident's id and date. Only passages
`agents.knowledge_memory.quotable` accepts are quoted; when none is, the answer says that
nothing reliable was found and quotes nothing.

Without it (or when it cannot open) the answer comes from the shipped troubleshooting
corpus alone (`knowledge.codes`): AWS message codes (``codes.yaml``) and job-log symptom
patterns (``patterns.yaml``), each naming the file and entry it came from; free text is
matched by its words against the entries; nothing is invented when nothing matches.
"""

from __future__ import annotations

import re
from typing import Final

from agents.answers.common import Answer, AnswerContext
from agents.incidents.memory import FIX_SECTION, IncidentMemory
from agents.intents import Intent
from agents.knowledge_memory import quotable
from agents.messages import Block, Context, Fields, Paragraph, Reply, Tone
from integrations.redaction import mask_secrets
from knowledge.codes import (
    CODES_FILE,
    PATTERNS_FILE,
    CodeEntry,
    ErrorPattern,
    corpus,
    lookup_error_pattern,
)
from knowledge.passages import Hit, SearchResult

__all__ = ["answer_knowledge", "answer_knowledge_intent"]

_CODE: Final = re.compile(r"\bAWS[A-Z]{3}\d{3}[EWI]\b", re.I)
_WORD: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_IGNORED: Final = frozenset(
    "what does do did mean means meaning how can should would fix solve resolve handle the a an "
    "our your my runbook runbooks say says about for with when if is are was were to of in on "
    "and or it this that we i you please tell me explain error errors code message job jobs "
    "troubleshoot deal get rid docs documentation".split()
)
_MIN_MATCH: Final = 2
_MAX_HITS: Final = 3
_SEARCHED: Final = 8  # hits looked at; the quotable ones among them are shown
_QUOTE_CHARS: Final = 700
_SENTENCE: Final = re.compile(r"(?<=[.!?])\s+")


def _code_blocks(entry: CodeEntry) -> list[Block]:
    return [
        Fields(items=(("Code", entry.code), ("Severity", entry.severity))),
        Paragraph(text=f"Meaning: {entry.meaning}"),
        Paragraph(text=f"What to do: {entry.action}"),
        Context(items=(f"Source: knowledge corpus {CODES_FILE}, entry {entry.code}", entry.source)),
    ]


def _pattern_blocks(pattern: ErrorPattern) -> list[Block]:
    return [
        Paragraph(text=f"{pattern.name}: {pattern.meaning}"),
        Paragraph(text=f"What to do: {pattern.action}"),
        Context(
            items=(
                f"Source: knowledge corpus {PATTERNS_FILE}, entry '{pattern.name}'",
                pattern.source,
            )
        ),
    ]


def _specific(patterns: list[ErrorPattern]) -> list[ErrorPattern]:
    """Drop a generic pattern when a narrower one of it also matched (ORA-01555 over ORA-)."""
    refined = {pattern.refines for pattern in patterns if pattern.refines}
    return [pattern for pattern in patterns if pattern.name not in refined]


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _IGNORED and len(word) > 2}


def _by_words(query: str) -> list[CodeEntry | ErrorPattern]:
    """Entries sharing at least `_MIN_MATCH` words with the query, best first."""
    asked = _words(query)
    if not asked:
        return []
    known = corpus()
    scored: list[tuple[int, int, CodeEntry | ErrorPattern]] = []
    entries: list[CodeEntry | ErrorPattern] = [*known.patterns, *known.codes]
    for order, entry in enumerate(entries):
        title = entry.name if isinstance(entry, ErrorPattern) else entry.code
        overlap = len(asked & _words(f"{title} {entry.meaning} {entry.action}"))
        if overlap >= min(_MIN_MATCH, len(asked)):
            scored.append((-overlap, order, entry))
    scored.sort(key=lambda item: item[:2])
    return [item[2] for item in scored[:_MAX_HITS]]


async def answer_knowledge(query: str, ctx: AnswerContext) -> Answer:
    """Answer a knowledge question from the knowledge base, or the shipped corpus.

    Args:
        query: The question's words ("what does AWSBIN076E mean?", "ORA-01555").
        ctx: The answer context (its knowledge desk, if any; no engine call).

    Returns:
        The passages with their sources (or the corpus entries); or a plain "nothing
        reliable found" that says what was looked for.
    """
    if ctx.knowledge is not None:
        result = await ctx.knowledge.search(query, limit=_SEARCHED)
        if result is not None:
            hits = quotable(query, result.hits, min_similarity=ctx.knowledge.min_similarity)[
                :_MAX_HITS
            ]
            memory = IncidentMemory(ctx.knowledge)
            # A past incident quoted for what was seen also says what fixed it.
            fixes = {
                p.doc_id: await memory.fix_of(p.doc_id)
                for p in (hit.passage for hit in hits)
                if p.kind == "incident" and not p.section.endswith(FIX_SECTION)
            }
            return _retrieved(query, result, hits, fixes)
    return _from_corpus(query)


def _from_corpus(query: str) -> Answer:
    """The answer from the shipped corpus alone (no knowledge base)."""
    known = corpus()
    codes = list(dict.fromkeys(match.group(0).upper() for match in _CODE.finditer(query)))
    blocks: list[Block] = []
    if codes:
        found = [entry for code in codes if (entry := known.code(code)) is not None]
        missing = [code for code in codes if known.code(code) is None]
        for entry in found:
            blocks += _code_blocks(entry)
        if missing:
            blocks.append(Paragraph(text=f"Not in the shipped corpus: {', '.join(missing)}."))
        if found:
            first = found[0]
            headline = f"{first.code} ({first.severity}): {first.meaning}"
            return Answer(reply=Reply(headline=headline, tone=Tone.INFO, blocks=tuple(blocks)))
        return _nothing(query, f"{', '.join(missing)} is not in the shipped corpus of codes.")
    patterns = _specific(lookup_error_pattern(query))
    if patterns:
        for pattern in patterns[:_MAX_HITS]:
            blocks += _pattern_blocks(pattern)
        del blocks[0]  # the first pattern's meaning is the headline
        return Answer(
            reply=Reply(headline=f"{patterns[0].name}: {patterns[0].meaning}", blocks=tuple(blocks))
        )
    hits = _by_words(query)
    if not hits:
        return _nothing(query, "I found nothing on that in the shipped troubleshooting corpus.")
    for hit in hits:
        blocks += _code_blocks(hit) if isinstance(hit, CodeEntry) else _pattern_blocks(hit)
    noun = "entry" if len(hits) == 1 else "entries"
    headline = f"The troubleshooting corpus has {len(hits)} {noun} that match your words:"
    return Answer(reply=Reply(headline=headline, blocks=tuple(blocks)))


def _nothing(query: str, headline: str) -> Answer:
    return Answer(
        reply=Reply(
            headline=headline,
            tone=Tone.WARNING,
            blocks=(
                Paragraph(
                    text="The corpus holds HCL Workload Automation message codes (AWS...) and "
                    "job-log symptoms (ORA-, disk full, permission denied, ...). Try the exact "
                    "code from the log, e.g. 'what does AWSBHT001E mean?'."
                ),
                Context(
                    items=(
                        f"Looked for: {query[:120]}",
                        f"Source: knowledge corpus {CODES_FILE}, {PATTERNS_FILE}",
                    )
                ),
            ),
        )
    )


def source_line(hit: Hit) -> str:
    """Where a quoted passage comes from: document and section, or incident id and date.

    Args:
        hit: The hit.

    Returns:
        ``Source: Agent restart runbook > Mailbox files full (knowledge/corpus/...)``, or
        ``Source: past incident INC-2026-0031 of 2026-11-03: <title>``.
    """
    passage = hit.passage
    if passage.kind == "incident":
        title = passage.doc_title.split(": ", 1)[-1]
        return f"Source: past incident {passage.source} of {passage.date}: {title}"
    where = passage.section
    if not where.startswith(passage.doc_title):
        where = f"{passage.doc_title} > {where}"
    origin = "document added with resync knowledge add" if passage.kind == "document" else ""
    return f"Source: {where} ({', '.join(x for x in (passage.source, origin) if x)})"


def _quote(text: str, limit: int = _QUOTE_CHARS) -> str:
    # Operators' documents and postmortems may hold passwords or tokens: never quote them.
    flat = mask_secrets(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _retrieved(query: str, result: SearchResult, hits: list[Hit], fixes: dict[str, str]) -> Answer:
    """The passages retrieval found, each with its source; or "nothing reliable"."""
    how = "hybrid search (keywords + embeddings)" if result.mode == "hybrid" else "keyword search"
    if not hits:
        return Answer(
            reply=Reply(
                headline="I found nothing reliable on that in the knowledge base.",
                tone=Tone.WARNING,
                blocks=(
                    Paragraph(
                        text="It holds HCL Workload Automation message codes, job-log "
                        "symptoms, the shipped operations guides, the documents your team "
                        "added with 'resync knowledge add', and resolved incidents. Try the "
                        "exact code from the job log, or other words."
                    ),
                    Context(items=(f"Looked for: {query[:120]}", f"Searched with {how}")),
                ),
            )
        )
    top = hits[0].passage
    first = _SENTENCE.split(" ".join(top.text.split()), maxsplit=1)[0]
    label = top.section.rsplit(" > ", 1)[-1]
    headline = first if first.startswith(label) else f"{label}: {first}"
    blocks: list[Block] = []
    for number, hit in enumerate(hits):
        text = " ".join(hit.passage.text.split())
        if number == 0 and text.startswith(first):
            text = text[len(first) :].strip()  # said in the headline already
        if text:
            blocks.append(Paragraph(text=_quote(text)))
        if fixes.get(hit.passage.doc_id):
            blocks.append(Paragraph(text=_quote(f"Fixed by: {fixes[hit.passage.doc_id]}")))
        blocks.append(Context(items=(source_line(hit),)))
    noun = "passage" if len(hits) == 1 else "passages"
    blocks.append(Context(items=(f"{len(hits)} {noun} from {how}", f"Looked for: {query[:120]}")))
    sources = tuple(dict.fromkeys(hit.passage.doc_id for hit in hits))
    return Answer(
        reply=Reply(headline=_quote(headline, 240), blocks=tuple(blocks)), sources=sources
    )


async def answer_knowledge_intent(ctx: AnswerContext, intent: Intent) -> Answer:
    """The graph's handler: the KNOWLEDGE intent's words to `answer_knowledge`.

    Args:
        ctx: The answer context.
        intent: A KNOWLEDGE intent (``arguments["query"]``, the code as subject).

    Returns:
        The answer.
    """
    query = intent.arguments.get("query") or intent.subject or ""
    return await answer_knowledge(query, ctx)
