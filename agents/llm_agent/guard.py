"""The agent's final answer, checked before anyone sees it.

- Secrets: masked again (`integrations.redaction`), in case the model made one up or the
  endpoint echoed something.
- Planted orders: a sentence that reads like an order to an assistant, or repeats six words
  in a row of a tool output line that did, is dropped: the answer never passes on
  instructions hidden in job logs, documents or names as its own. So is a sentence that
  claims an action was taken ("I have rerun …"): the agent cannot act, so it is never true.
- Names: every name-shaped word (``PAYROLL_EXTRACT``, ``PAYROLL_DAILY.PAYROLL_EXTRACT``,
  ``WS#STREAM.JOB``) must be a job, job stream or workstation of the plan; others are
  replaced by ``[unknown name]`` and the answer says so.
- Small print: "as of" and the sources the tools reported, and that an LLM wrote it.
- A runbook the model proposed is shown as a command the person may send (it then goes
  through the usual validation and approval), never requested; none is shown after a tool
  output held planted orders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from agents.answers.common import AnswerContext
from agents.llm_agent.data import reads_as_order, words
from agents.messages import Block, Context, Paragraph, Reply, Tone
from integrations.redaction import mask_secrets

__all__ = ["Draft", "checked_reply", "name_words"]

ECHO_WORDS: Final = 6
"""Words in a row shared with a planted order that make a sentence an echo of it."""

_NAME_WORD = re.compile(
    r"(?<![A-Za-z0-9_#.])(?:[A-Z0-9_]+#)?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
    r"(?:\.[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)?(?![A-Za-z0-9_])"
)
_CLAIMS = re.compile(
    r"\b(i|i've|i have|i'm|i am|i will|i'll|we|we've|we have|we will)\s+(now\s+|already\s+|just\s+)?"
    r"(re-?run|re-?running|approved?|approving|cancell?(ed|ing)?|kill(ed|ing)?|released?"
    r"|releasing|held|hold|executed?|executing|restart(ed|ing)?|deleted?|submitted)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
UNKNOWN_NAME: Final = "[unknown name]"


@dataclass(frozen=True, slots=True)
class Draft:
    """What the agent loop ends with.

    Attributes:
        text: The model's final words (empty when it gave none).
        small_print: "As of …" and sources from the tool results, in order.
        planted: Tool output lines that read like orders.
        proposals: Checked commands the model proposed.
        stop_note: Why the loop stopped early ("I stopped after 5 steps: …"), if it did.
        model: The LLM's name.
    """

    text: str
    small_print: tuple[str, ...]
    planted: tuple[str, ...]
    proposals: tuple[str, ...]
    stop_note: str | None
    model: str


def name_words(text: str) -> list[str]:
    """The name-shaped words of a text, in order, without repeats.

    Args:
        text: Any text.

    Returns:
        E.g. ``["PAYROLL_EXTRACT", "MASTER#PAYROLL_DAILY.PAYROLL_EXTRACT"]``.
    """
    return list(dict.fromkeys(_NAME_WORD.findall(text)))


def _echoes(sentence: str, planted: Sequence[list[str]]) -> bool:
    if reads_as_order(sentence) or _CLAIMS.search(sentence):
        return True
    mine = words(sentence)
    grams = {tuple(mine[i : i + ECHO_WORDS]) for i in range(len(mine) - ECHO_WORDS + 1)}
    for line in planted:
        for i in range(len(line) - ECHO_WORDS + 1):
            if tuple(line[i : i + ECHO_WORDS]) in grams:
                return True
    return False


def _without_echoes(text: str, planted: Iterable[str]) -> tuple[str, int]:
    orders = [words(line) for line in planted]
    kept: list[str] = []
    dropped = 0
    for sentence in _SENTENCE.split(text):
        if not sentence.strip():
            continue
        if _echoes(sentence, orders):
            dropped += 1
        else:
            kept.append(sentence.strip())
    return "\n".join(kept), dropped


async def _unknown_names(ctx: AnswerContext, text: str) -> list[str]:
    found = name_words(text)
    if not found:
        return []
    known = set(await ctx.names.names(ctx.scheduler))
    known |= {station.name for station in (await ctx.scheduler.workstations()).value}
    unknown = []
    for word in found:
        parts = re.split(r"[#.]", word)
        # A qualified name's workstation part is checked too: "MASTER#X.Y".
        if not all(part in known for part in parts if part):
            unknown.append(word)
    return unknown


async def checked_reply(ctx: AnswerContext, draft: Draft) -> Reply:
    """The reply to show for the agent's draft, after every check.

    Args:
        ctx: The (read-only) context the tools used.
        draft: What the loop ended with.

    Returns:
        The reply.
    """
    text = mask_secrets(draft.text)
    text, dropped = _without_echoes(text, draft.planted)
    unknown = await _unknown_names(ctx, text)
    for name in sorted(unknown, key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9_#.]){re.escape(name)}(?![A-Za-z0-9_])", UNKNOWN_NAME, text)
    notes: list[Block] = []
    if not text.strip():
        text = draft.stop_note or "I could not find an answer to that in the plan."
    elif draft.stop_note:
        notes.append(Paragraph(text=draft.stop_note))
    if dropped:
        notes.append(
            Paragraph(
                text="Some of what I read (a job log, a document or a name) held instructions; "
                "I ignored them and left them out."
            )
        )
    if unknown:
        notes.append(
            Paragraph(text=f"I replaced {len(unknown)} name(s) that are not in the current plan.")
        )
    if draft.proposals and not draft.planted:
        commands = " · ".join(f"`{command}`" for command in draft.proposals)
        notes.append(
            Paragraph(
                text=f"Suggested change (send it yourself if you agree; colleagues approve it "
                f"before anything runs): {commands}"
            )
        )
    headline, _, rest = text.strip().partition("\n")
    if len(headline) > 300:
        headline, rest = headline[:300].rsplit(" ", 1)[0] + " …", text.strip()
    rest = " ".join(rest.split("\n")).strip()
    body: list[Block] = [Paragraph(text=rest)] if rest else []
    items = list(dict.fromkeys(draft.small_print)) or ["No plan data was read"]
    items.append(f"Written by the LLM ({draft.model}) from the tool results above")
    tone = Tone.WARNING if (draft.stop_note or dropped or unknown) else Tone.INFO
    return Reply(headline=headline, tone=tone, blocks=(*body, *notes, Context(items=tuple(items))))
