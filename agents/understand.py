"""The deterministic parser: plain words in, an `Intent` out, no LLM needed.

It recognises the question kinds of `IntentKind` from keywords, and the subject (a job,
job stream or workstation name) from where it stands in the sentence or from its shape:
TWS names are upper case with underscores or digits (``PAYROLL_EXTRACT``, ``AGT_LNX01``),
may be qualified (``PAYROLL_DAILY.PAYROLL_EXTRACT``, ``MASTER#PAYROLL_DAILY``) and may hold
wildcards (``PAY*``; the engine's ``@`` is accepted too). Words that only look like names
(``SLA``, ``10PM``, ``ANOMALIES``) never are: `agents.understand_words` lists them.

Order of reading, first match wins: requests about incidents (`agents.understand_incidents`)
and to change the plan (`agents.understand_actions`); help; greetings and thanks, codes and
"how do I fix" (`agents.understand_knowledge`); then, with contractions spelled out ("isn't"
→ "is not"), time ("what changed since 22:00", "when will X finish":
`agents.understand_time`), counts, root cause ("what is blocking X", "why is X not
running"), dependencies, workstations, lateness, status groups (`agents.understand_lists`),
and the status of a name.

A follow-up that names nothing ("and its predecessors?", "why?") takes its subject from
the conversation's focus; one that names a new subject with no verb ("what about
PAYROLL_CALC?") repeats the previous question kind. After a question about a workstation,
"what is running on it?" lists the jobs on that workstation (`refers_to_place`; the graph
knows which one).
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import Intent, IntentKind, ListFilter
from agents.understand_actions import understand_action
from agents.understand_incidents import understand_incident
from agents.understand_knowledge import understand_knowledge, understand_smalltalk
from agents.understand_lists import count_intent, list_filter_of, list_intent, workstation_scope
from agents.understand_time import understand_time
from agents.understand_words import (
    NAME_TOKEN,
    clean_name,
    has_name_shape,
    is_name,
    is_time_word,
    normalise,
)

__all__ = ["LOOSE_SUBJECT", "refers_back", "refers_to_place", "understand"]

_MAX_SUBJECTS: Final = 5  # each name is answered on its own: a long list would hammer the engine

LOOSE_SUBJECT: Final = "loose_subject"
"""`Intent.arguments` key set when the subject is a plain word ("payroll", "thingy"), not
a name by its shape: an answer that finds nothing by it then asks what was meant."""

_HELP: Final = re.compile(
    r"^\s*(help|commands|usage|what can you do|what do you (do|know)|how do i use)\b"
    r"|^\s*how do i\s*\??\s*$",
    re.I,
)
_WHY: Final = re.compile(
    r"\b(why|what went wrong|what happened|reason|root cause|caus(?:e|es|ed|ing)|culprit|explain|diagnos\w*|how come)\b"
    r"|\bwhat\s+is\s+(?:blocking|holding|stopping|delaying|keeping)\b"
    r"|\bhold-?ups?\b|\b(?:fix|remedy|workaround)\b|\bwhat\s+(?:should|do|can)\s+(?:i|we)\s+do\b|\bwhat\s+is\s+(?:wrong|up|going\s+on|the\s+(?:problem|issue|matter))\s+with\b"
    r"|\bwhat\s+(?:blocks|holds\s+up|stops|delays)\b"
    r"|\b(?:is|are)\s+\S+\s+(?:blocked|stuck)\b",
    re.I,
)
_PREDECESSORS: Final = re.compile(
    r"\b(predecessors?|upstream|prereq\w*)\b"
    r"|\b(?:comes?|runs?|goes|go)\s+before\b|\bprecedes?\b"
    r"|\bwhat\s+(?:does|do|is|are)\s+\S+\s+(?:depend|wait|waiting)\w*\b"
    r"|\b(?:is|are)\s+\S+\s+waiting\s+(?:for|on)\s*\??\s*$",
    re.I,
)
_SUCCESSORS: Final = re.compile(
    r"\b(successors?|dependents?|downstream|impact\w*|affected|blocked by)\b"
    r"|\b(?:comes?|runs?|goes|go|starts?)\s+(?:right\s+)?after\b|\bfollows\b|\bnext\s+after\b"
    r"|\bdepends?\s+on\b|\bwaits?\s+(?:for|on)\b|\bwaiting\s+(?:for|on)\b",
    re.I,
)
_WORKSTATIONS: Final = re.compile(
    r"\b(workstations?|agents?|cpus?|linked|unlinked|fta|servers?|machines?)\b", re.I
)
_LATE: Final = re.compile(
    r"\b(late|at risk|deadlines?|behind|overdue|slas?|breach\w*|on time|in time|"
    r"miss(?:ed|ing)?\s+(?:its|the|their|our|any)?\s*(?:deadlines?|slas?|cut-?off))\b",
    re.I,
)
_COUNT: Final = re.compile(
    r"\bhow\s+many\b|\bnumber\s+of\b|\bcount\s+(?:of\s+)?(?:the\s+)?\w*\s*jobs\b"
    r"|\btotal\s+(?:number\s+of\s+)?jobs\b|\bjob\s+count\b",
    re.I,
)
_STATUS_WORD: Final = re.compile(r"\b(status|state|how is|where is|show|check)\b", re.I)
_FOLLOW_UP_REF: Final = re.compile(r"\b(it|its|this|that|them|their|same|there)\b", re.I)
_NEW_SUBJECT_ONLY: Final = re.compile(r"^\s*(?:and\s+|what\s+about\s+|how\s+about\s+)", re.I)
# "is it done?", "has that finished?": a yes/no question about the focus.
_ABOUT_FOCUS: Final = re.compile(
    r"^\s*(?:and\s+)?(?:is|are|has|have|did|was|does)\s+(?:not\s+)?(?:it|this|that|they)\b", re.I
)
# "how is tonight going?", "tell me about tonight": what an operator checks first.
_OVERVIEW: Final = re.compile(
    r"\b(?:how\s+is|how\s+are|tell\s+me\s+about|how\s+did|what\s+about)\s+(?:the\s+)?"
    r"(?:tonight|night|batch|things|plan)\b",
    re.I,
)
# "what is left in payroll?": the progress of a job stream, named in plain words.
_LEFT_IN: Final = re.compile(
    r"\b(?:left|remaining|remains|still\s+to\s+(?:run|go)|outstanding)\s+(?:in|of|for)\s+"
    r"(?:the\s+)?([A-Za-z0-9_#.*@$\-]+)",
    re.I,
)
# "can't reach AGT_LNX02": a workstation's state.
_UNREACHABLE: Final = re.compile(r"\b(?:cannot|can not|unable to|could not)\s+reach\b", re.I)
# "on it" / "there" after a question about a workstation: the workstation.
_ON_FOCUS: Final = re.compile(r"\b(?:on|at)\s+(?:it|that|this)\b|\bthere\b", re.I)

# Phrases whose next word is the subject ("status of X", "why did X", "depends on X").
_ANCHORS: Final = re.compile(
    r"\b(?:status\s+of|state\s+of|status|state|why\s+did|why\s+is|why\s+has|why|"
    r"depends?\s+on|waiting\s+(?:for|on)|waits?\s+(?:on|for)|successors\s+of|"
    r"predecessors\s+of|dependents\s+of|impact\s+of|about|is|has|have|was|are|of|for|"
    r"show|check|"
    r"does|did|explain|blocking|eta\s+(?:of|for))\s+(?:the\s+)?(?:job\s+stream\s+|"
    r"jobstream\s+|job\s+|stream\s+|workstation\s+|agent\s+)?([A-Za-z0-9_#.*@$\-]+)",
    re.I,
)
_MORE: Final = re.compile(r"\s*(?:,\s*and|,|and|&|or)\s+(?:the\s+)?([A-Za-z0-9_#.*@$\-]+)", re.I)
# Ops words worth saying back when the question is not understood (see `answer_unknown`).
_RECOGNISED: Final = re.compile(
    r"\b(slas?|etas?|anomal\w*|unusual|deadlines?|incidents?|reruns?|holds?|releases?|"
    r"failures?|plan|workstations?|agents?)\b",
    re.I,
)


def _find_subject(text: str) -> tuple[str, int, str] | None:
    """The first name in the text, where it ends, and the word as typed."""
    for match in _ANCHORS.finditer(text):
        if is_name(match.group(1), strict=False):
            return clean_name(match.group(1)), match.end(1), match.group(1)
    for match in NAME_TOKEN.finditer(text):
        if is_name(match.group(0), strict=True):
            return clean_name(match.group(0)), match.end(0), match.group(0)
    return None


def _is_loose(word: str, text: str) -> bool:
    """A plain word taken as a name ("payroll", or "ADVISE" in a shouted message)."""
    if has_name_shape(word):
        return False
    letters = [char for char in text if char.isalpha()]
    shouted = bool(letters) and all(char.isupper() for char in letters)
    return shouted or not word.isupper()


def _find_subjects(text: str) -> tuple[list[str], bool]:
    """Every name asked about ("status of A and B"), and whether the first is a plain word."""
    first = _find_subject(text)
    if first is None:
        return [], False
    names, position = [first[0]], first[1]
    while (
        (match := _MORE.match(text, position))
        and is_name(match.group(1), strict=False)
        and len(names) < _MAX_SUBJECTS
    ):
        name = clean_name(match.group(1))
        if name not in names:
            names.append(name)
        position = match.end(1)
    return names, _is_loose(first[2], text)


def refers_to_place(text: str) -> bool:
    """Whether a list question points at a place named before ("running on it", "there").

    Args:
        text: The message.

    Returns:
        True for "on it", "on that", "at this", "there".
    """
    return bool(_ON_FOCUS.search(normalise(text)))


def refers_back(text: str) -> bool:
    """Whether a message points at the conversation's subject ("it", "that", "this"...).

    Args:
        text: The message.

    Returns:
        True when it holds a word the parser reads as the subject asked about before.
    """
    return bool(_FOLLOW_UP_REF.search(text))


def _understood(text: str) -> dict[str, str]:
    """What was recognised in a message that could not be read, to say it back."""
    words = [m.group(0) for m in _RECOGNISED.finditer(text)]
    words += [token for token in NAME_TOKEN.findall(text) if is_time_word(token)]
    seen = list(dict.fromkeys(word.strip(".,;:!?") for word in words if word.strip(".,;:!?")))
    return {"understood": ", ".join(seen[:5])} if seen else {}


def understand(
    text: str, *, focus: str | None = None, last_kind: IntentKind | None = None
) -> Intent:
    """Parse one message into an `Intent`.

    Args:
        text: What the person wrote (bot mentions already removed).
        focus: The subject of the conversation so far (for follow-ups), if any.
        last_kind: The previous question's kind (for "what about X?"), if any.

    Returns:
        The intent; `IntentKind.UNKNOWN` (with what was recognised) when nothing matched.
    """
    text = text.strip()
    incident = understand_incident(text, focus=focus)
    if incident is not None:
        return incident
    action = understand_action(text, focus=focus)
    if action is not None:
        return action
    text = re.sub(r"^/\w+\s*", "", text)  # a slash command's own name
    if not text:
        return Intent(kind=IntentKind.HELP)
    special = understand_smalltalk(text) or understand_knowledge(normalise(text))
    if special is not None:
        return special
    if _HELP.search(text):
        return Intent(kind=IntentKind.HELP)
    return _question(normalise(text), focus=focus, last_kind=last_kind)


def _question(text: str, *, focus: str | None, last_kind: IntentKind | None) -> Intent:
    """The plan questions, contractions already spelled out."""
    intent = _read(text, focus=focus, last_kind=last_kind)
    subjects, loose = _find_subjects(text)
    if loose and subjects and intent.subject == subjects[0] and not intent.follow_up:
        # A plain word taken as a name: when nothing has that name, ask what was meant.
        intent = intent.model_copy(
            update={"arguments": {**intent.arguments, LOOSE_SUBJECT: subjects[0]}}
        )
    return intent


def _read(text: str, *, focus: str | None, last_kind: IntentKind | None) -> Intent:
    """The intent of a plan question (see `_question`)."""
    subjects, _ = _find_subjects(text)
    subject = subjects[0] if subjects else None
    more = tuple(subjects[1:])
    refers_back = subject is None and bool(_FOLLOW_UP_REF.search(text) or len(text.split()) <= 3)
    workstation = workstation_scope(text)

    def with_subject(kind: IntentKind) -> Intent:
        if subject is None and refers_back and focus:
            return Intent(kind=kind, subject=focus, follow_up=True)
        return Intent(kind=kind, subject=subject, more_subjects=more)

    timed = understand_time(text, subject=subject, focus=focus if refers_back else None)
    if timed is not None:
        return timed.model_copy(update={"more_subjects": more}) if timed.subject else timed
    if _COUNT.search(text):
        if _WORKSTATIONS.search(text) and not re.search(r"\bjobs?\b", text, re.I):
            return Intent(kind=IntentKind.WORKSTATIONS, subject=subject)
        return count_intent(
            text, subject, workstation, focus if _FOLLOW_UP_REF.search(text) else None
        )
    if _OVERVIEW.search(text) and subject is None:
        return Intent(kind=IntentKind.LIST, list_filter=ListFilter.FAILED)
    if _WHY.search(text):
        return with_subject(IntentKind.WHY)
    list_filter = list_filter_of(text)
    on_workstation = workstation is not None and (subject in (None, workstation))
    if list_filter is not None and on_workstation:
        # "what is waiting on AGT_LNX02?", "what is running on it?": jobs on a workstation.
        listed = list_intent(text, list_filter, subject, more, workstation)
        if subject == workstation and more and listed.subject is None:
            # "what failed on AGT_LNX01 and AGT_LNX03": one list per workstation.
            return listed.model_copy(update={"more_workstations": more})
        return listed
    left = _LEFT_IN.search(text)
    if left is not None and is_name(left.group(1), strict=False):
        return Intent(kind=IntentKind.STATUS, subject=clean_name(left.group(1)))
    if _PREDECESSORS.search(text):
        return with_subject(IntentKind.PREDECESSORS)
    if _SUCCESSORS.search(text) and (subject or focus):
        return with_subject(IntentKind.SUCCESSORS)
    if _WORKSTATIONS.search(text) or (subject and _asks_workstation_state(text, subject)):
        return Intent(kind=IntentKind.WORKSTATIONS, subject=subject)
    if _LATE.search(text):
        if subject is None:
            late = list_filter if list_filter is ListFilter.LATE else ListFilter.AT_RISK
            return Intent(kind=IntentKind.LATE, list_filter=late)
        return Intent(kind=IntentKind.ETA, subject=subject, more_subjects=more)
    if subject is None and _ABOUT_FOCUS.search(text):
        # "is it done?": about the focus; with none, the answer asks which job.
        return Intent(kind=IntentKind.STATUS, subject=focus, follow_up=focus is not None)
    if list_filter is not None:
        return list_intent(text, list_filter, subject, more, workstation)
    if (
        subject is not None
        and _NEW_SUBJECT_ONLY.search(text)
        and last_kind not in (None, IntentKind.HELP)
    ):
        if last_kind in (
            IntentKind.LIST,
            IntentKind.LATE,
            IntentKind.UNKNOWN,
            IntentKind.COUNT,
            IntentKind.CHANGES,
            IntentKind.KNOWLEDGE,
            IntentKind.SMALLTALK,
            IntentKind.RUNBOOK,  # "what about X?" after a change request asks about X
        ):
            return Intent(kind=IntentKind.STATUS, subject=subject, more_subjects=more)
        return Intent(kind=last_kind, subject=subject, more_subjects=more)
    if subject is not None:
        return Intent(kind=IntentKind.STATUS, subject=subject, more_subjects=more)
    if _STATUS_WORD.search(text) and focus:
        return Intent(kind=IntentKind.STATUS, subject=focus, follow_up=True)
    return Intent(kind=IntentKind.UNKNOWN, arguments=_understood(text))


def _asks_workstation_state(text: str, subject: str) -> bool:
    """Whether it asks if a workstation is up ("can't reach AGT_LNX02 - is it down?")."""
    state = r"(?:up|down|linked|unlinked|reachable|unreachable|offline|online)"
    named = rf"\b(?:is|are)\s+(?:{re.escape(subject)}|it|that|this)\s+{state}\b"
    return bool(re.search(named, text, re.I) or _UNREACHABLE.search(text))
