"""Knowledge questions: what a message code means and how to fix a symptom, from the corpus.

Answered from the shipped troubleshooting corpus (`knowledge.codes`): AWS message codes
(``codes.yaml``) and job-log symptom patterns (``patterns.yaml``), each answer naming the
file and the entry it came from. Free text that names no code or symptom is matched by its
words against the entries' titles and sentences; nothing is invented when nothing matches.
`answer_knowledge` takes only the question's words, so a retrieval step can replace the
word match without changing its callers.
"""

from __future__ import annotations

import re
from typing import Final

from agents.answers.common import Answer, AnswerContext
from agents.intents import Intent
from agents.messages import Block, Context, Fields, Paragraph, Reply, Tone
from knowledge.codes import (
    CODES_FILE,
    PATTERNS_FILE,
    CodeEntry,
    ErrorPattern,
    corpus,
    lookup_error_pattern,
)

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
    """Answer a knowledge question from the shipped corpus.

    Args:
        query: The question's words ("what does AWSBIN076E mean?", "ORA-01555").
        ctx: The answer context (the corpus needs no engine call).

    Returns:
        The meaning and what to do, with the corpus file and entry as the source; or a
        plain "not in the corpus" that says what was looked for.
    """
    del ctx
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
