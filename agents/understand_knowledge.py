"""Knowledge questions and small talk: answered from the shipped corpus, or briefly.

Read by rules before the plan questions (`agents.understand`):

- a message code or a log symptom ("what does AWSBIN076E mean?", "how do I fix
  ORA-01555?", "SQL0911N?") → `IntentKind.KNOWLEDGE` with the code as subject;
- "how do I fix / troubleshoot ...", "what does our runbook say about agent restarts?",
  "what does <words> mean?" → `IntentKind.KNOWLEDGE` with no subject;

both with the words asked in ``arguments["query"]``, so a retrieval step can search the
corpus with them. "why did PAYROLL_EXTRACT fail with ORA-01555?" stays a question about the
job (its log is explained with the same corpus).

- greetings, thanks and goodbyes → `IntentKind.SMALLTALK` (``arguments["say"]``:
  ``hello``, ``thanks``, ``ok`` or ``bye``), so they get a short answer, not "I did not understand".
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import Intent, IntentKind
from agents.understand_words import NAME_TOKEN, has_name_shape, is_time_word
from knowledge.codes import lookup_error_pattern

__all__ = ["understand_knowledge", "understand_smalltalk"]

_CODE: Final = re.compile(
    r"\b(AWS[A-Z]{3}\d{3}[EWI]|ORA-\d{5}|SQL\d{4,5}[NWC])\b",
    re.I,
)
_ASKS_MEANING: Final = re.compile(
    r"\bwhat\s+(?:does|do|is|are)\b.*\b(?:mean|means|meaning)\b"
    r"|\bmeaning\s+of\b|\bexplain\s+(?:the\s+)?(?:code|error|message)\b",
    re.I,
)
_ASKS_FIX: Final = re.compile(
    r"\bhow\s+(?:do|can|should|would)\s+(?:i|we|you|one)\s+(?:fix|solve|resolve|handle|"
    r"troubleshoot|deal\s+with|recover\s+from|get\s+rid\s+of|avoid|prevent)\b"
    r"|\bhow\s+to\s+(?:fix|solve|resolve|handle|troubleshoot|deal\s+with|recover)\b"
    r"|\bwhat\s+(?:should|do|can)\s+(?:i|we)\s+do\s+(?:about|with|when|if)\b"
    r"|\b(?:fix|remedy|workaround)\s+for\b",
    re.I,
)
_ASKS_DOCS: Final = re.compile(
    r"\b(?:runbooks?|playbooks?|docs|documentation|knowledge\s*base|kb|wiki|procedures?)\b"
    r".*\b(?:say|says|said|about|on|for)\b"
    r"|\b(?:what|anything)\b.*\b(?:in|from)\s+(?:the|our)\s+(?:runbooks?|docs|knowledge\s*base)\b",
    re.I,
)
# A question about a job that happens to name a code is about the job ("why did X fail").
_ABOUT_A_JOB: Final = re.compile(r"^\s*why\b", re.I)

_HELLO: Final = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|howdy|yo|good\s+(?:morning|afternoon|evening|night)|"
    r"greetings|morning|evening)(?:\s+(?:there|all|team|resync|bot|folks))?\s*[!.?]*\s*$",
    re.I,
)
_THANKS: Final = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|great|cool|nice|perfect|awesome|got\s+it|understood)[,!. ]*)?"
    r"(?:thanks?(?:\s+(?:a\s+lot|so\s+much|you|again|resync|mate))*|thank\s+you(?:\s+\w+)?|"
    r"thx|ty|cheers|much\s+appreciated|appreciated)\s*[!.]*\s*$",
    re.I,
)
_ACK: Final = re.compile(
    r"^\s*(?:ok(?:ay)?|k|great|cool|nice|perfect|awesome|got\s+it|understood|noted|sure|"
    r"alright|all\s+right|fine)\s*[!.]*\s*$",
    re.I,
)
_BYE: Final = re.compile(
    r"^\s*(?:(?:thanks?|thank\s+you|cheers|ok(?:ay)?|great)[,!. ]+)?"
    r"(?:bye|goodbye|see\s+you(?:\s+later)?|later|cya|good\s*night|"
    r"that(?:\s+is|'s|’s)\s+(?:all|it)(?:\s+for\s+(?:now|today|tonight))?)\s*[!.]*\s*$",
    re.I,
)
# "java.lang.OutOfMemoryError: what do I do?", "Too many open files - what's the fix?": a
# symptom the corpus knows, and a word asking for a remedy.
_WHAT_TO_DO: Final = re.compile(
    r"\bwhat\s+(?:should|do|can|must)\s+(?:i|we)\s+do\b|\b(?:fix|fixes|fixed|remedy|solution|"
    r"workaround|resolve|solve|cure|recover|mean|means|meaning|cause|causes)\b",
    re.I,
)
# A message made only of these words is small talk ("thanks a lot, bye", "ok cheers").
_SMALLTALK_WORDS: Final = {
    "thanks": "thanks thank thx ty cheers appreciated appreciate much lot so you again".split(),
    "bye": "bye goodbye later cya see night goodnight all for now today tonight it".split(),
    "hello": "hi hello hey hiya howdy yo morning afternoon evening greetings there team".split(),
    "ok": "ok okay k great cool nice perfect awesome got understood noted sure alright fine".split(),
}
_FILLER: Final = frozenset("a the that is that's thats and then mate resync bot folks good".split())


def understand_smalltalk(text: str) -> Intent | None:
    """A SMALLTALK intent for a greeting, thanks or goodbye, else None.

    Args:
        text: The message.

    Returns:
        The intent (``arguments["say"]`` is ``hello``, ``thanks``, ``ok`` or ``bye``), or
        None.
    """
    stripped = text.strip()
    if not stripped:
        return None
    words = re.findall(r"[a-z']+", stripped.lower().replace("’", "'"))
    said = {
        say for word in words for say, vocabulary in _SMALLTALK_WORDS.items() if word in vocabulary
    }
    known = set().union(*_SMALLTALK_WORDS.values()) | _FILLER
    if words and said and all(word in known for word in words) and not re.search(r"\d", stripped):
        # Thanks before goodbye before hello before a bare "ok": what the answer should say.
        for say in ("thanks", "bye", "hello", "ok"):
            if say in said:
                return Intent(kind=IntentKind.SMALLTALK, arguments={"say": say})
    if _HELLO.match(stripped):
        return Intent(kind=IntentKind.SMALLTALK, arguments={"say": "hello"})
    if _BYE.match(stripped):
        return Intent(kind=IntentKind.SMALLTALK, arguments={"say": "bye"})
    if _THANKS.match(stripped):
        return Intent(kind=IntentKind.SMALLTALK, arguments={"say": "thanks"})
    if _ACK.match(stripped):
        return Intent(kind=IntentKind.SMALLTALK, arguments={"say": "ok"})
    return None


def _names_a_job(text: str) -> bool:
    """Whether a word is shaped like a TWS name (``PAYROLL_EXTRACT``, ``AGT_LNX01``)."""
    return any(has_name_shape(word) and not is_time_word(word) for word in NAME_TOKEN.findall(text))


def _query(text: str) -> str:
    """The words asked, without the leading question form and trailing punctuation."""
    return re.sub(r"\s+", " ", text).strip().rstrip("?!. ")


def understand_knowledge(text: str) -> Intent | None:
    """A KNOWLEDGE intent when the message asks what a code means or how to fix something.

    Args:
        text: The message, contractions spelled out.

    Returns:
        The intent, or None when this is no knowledge question.
    """
    code = _CODE.search(text)
    about_job = _ABOUT_A_JOB.search(text) or (
        # "PAYROLL_EXTRACT failed with ORA-01555, what do I do?": the job's failure.
        _names_a_job(_CODE.sub(" ", text)) and not _ASKS_MEANING.search(text)
    )
    if code is not None and not about_job:
        return Intent(
            kind=IntentKind.KNOWLEDGE,
            subject=code.group(1).upper(),
            arguments={"query": _query(text)},
        )
    if _names_a_job(text) and (code is not None or not lookup_error_pattern(text)):
        return None  # "how do I fix PAYROLL_EXTRACT?": about the job (the why answer)
    if _ASKS_FIX.search(text) or _ASKS_DOCS.search(text) or _ASKS_MEANING.search(text):
        return Intent(kind=IntentKind.KNOWLEDGE, arguments={"query": _query(text)})
    if _WHAT_TO_DO.search(text) and not _ABOUT_A_JOB.search(text) and lookup_error_pattern(text):
        # Only with a symptom the corpus knows: "X failed, what do I do?" is about the job.
        return Intent(kind=IntentKind.KNOWLEDGE, arguments={"query": _query(text)})
    return None
