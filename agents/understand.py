"""The deterministic parser: plain words in, an `Intent` out, no LLM needed.

It recognises the question kinds of `IntentKind` from keywords, and the subject (a job,
job stream or workstation name) from where it stands in the sentence or from its shape:
TWS names are upper case with underscores or digits (``PAYROLL_EXTRACT``, ``AGT_LNX01``),
may be qualified (``PAYROLL_DAILY.PAYROLL_EXTRACT``, ``MASTER#PAYROLL_DAILY``) and may hold
wildcards (``PAY*``; the engine's ``@`` is accepted too).

Requests about incidents ("incident declare ...", "raise an incident for X", "what
incidents are open?") are read by `agents.understand_incidents`, requests to change the
plan by `agents.understand_actions`, both before the questions.

A follow-up that names nothing ("and its predecessors?", "why?") takes its subject from
the conversation's focus; one that names a new subject with no verb ("what about
PAYROLL_CALC?") repeats the previous question kind.
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import Intent, IntentKind, ListFilter
from agents.understand_actions import understand_action
from agents.understand_incidents import understand_incident

__all__ = ["understand"]

_TOKEN: Final = re.compile(r"[A-Za-z0-9_#.*@$\-]+")
_NAME_SHAPE: Final = re.compile(r"^[A-Za-z0-9_#.*@$\-]*[_#*@0-9][A-Za-z0-9_#.*@$\-]*$")

# Words that look like names by shape but are not, or carry the sentence's meaning.
_STOPWORDS: Final = frozenset(
    """
    a about abend abended abends after all an and any anything are as at be been before
    blocked by can cancelled canceled check could depend depends dependents did do does
    done down downstream error errors explain fail failed failing fails failure for from
    get give has have held help hold how i in is it its job jobs jobstream jobstreams
    late list log me my now of on or please predecessors risk running show state status
    stream streams stuck successors tell that the their them there these this to today
    tonight up upstream wait waiting waits was were what whats what's when where which
    who why will with workstation workstations you your succeeded completed finished
    ended executing pending ready schedule scheduled plan happened wrong going ok the
    tws resync about again also now yet still currently last night deadline deadlines
    miss missed behind over due agents agent cpu cpus machines servers linked unlinked
    affected impact impacted upstream downstream waits blocking blocks block is are
    """.split()
)

_HELP: Final = re.compile(
    r"^\s*(help|\?|commands|usage|what can you do|what do you (do|know)|how do i)\b", re.I
)
_WHY: Final = re.compile(
    r"\b(why|what went wrong|what happened|reason|root cause|explain|diagnos\w*)\b", re.I
)
_PREDECESSORS: Final = re.compile(
    r"\b(predecessors?|upstream|prereq\w*)\b"
    r"|\bwhat\s+(?:does|do|is|are)\s+\S+\s+(?:depend|wait|waiting)\w*\b"
    r"|\b(?:is|are)\s+\S+\s+waiting\s+(?:for|on)\s*\??\s*$",
    re.I,
)
_SUCCESSORS: Final = re.compile(
    r"\b(successors?|dependents?|downstream|impact\w*|affected|blocked by)\b"
    r"|\bdepends?\s+on\b|\bwaits?\s+(?:for|on)\b|\bwaiting\s+(?:for|on)\b",
    re.I,
)
_WORKSTATIONS: Final = re.compile(
    r"\b(workstations?|agents?|cpus?|linked|unlinked|fta|servers?|machines?)\b", re.I
)
_LATE: Final = re.compile(
    r"\b(late|at risk|deadlines?|behind|overdue|miss(?:ed)?\s+(?:its|the|their)?\s*deadline)\b",
    re.I,
)
_STATUS_WORD: Final = re.compile(r"\b(status|state|how is|how's|where is|show|check)\b", re.I)
_FOLLOW_UP_REF: Final = re.compile(r"\b(it|its|it's|this|that|them|their|same)\b", re.I)
_NEW_SUBJECT_ONLY: Final = re.compile(r"^\s*(?:and\s+|what\s+about\s+|how\s+about\s+)", re.I)

_LIST_FILTERS: Final[tuple[tuple[re.Pattern[str], ListFilter], ...]] = (
    (re.compile(r"\bat[\s-]risk\b", re.I), ListFilter.AT_RISK),
    (re.compile(r"\b(late|overdue|behind)\b", re.I), ListFilter.LATE),
    (re.compile(r"\babend(?:ed|s)?\b", re.I), ListFilter.ABENDED),
    (
        re.compile(r"\b(fail(?:ed|ing|s|ures?)?|errors?|broke(?:n)?|crash(?:ed)?)\b", re.I),
        ListFilter.FAILED,
    ),
    (re.compile(r"\b(running|executing|in progress|active|exec)\b", re.I), ListFilter.RUNNING),
    (re.compile(r"\b(held|on hold|hold)\b", re.I), ListFilter.HELD),
    (re.compile(r"\b(waiting|pending|queued|stuck|not started|ready)\b", re.I), ListFilter.WAITING),
    (
        re.compile(r"\b(succeeded|successful|completed|finished|done|succ)\b", re.I),
        ListFilter.SUCCEEDED,
    ),
    (re.compile(r"\b(cancel(?:l)?ed)\b", re.I), ListFilter.CANCELLED),
)

# Phrases whose next word is the subject ("status of X", "why did X", "depends on X").
_ANCHORS: Final = re.compile(
    r"\b(?:status\s+of|state\s+of|status|state|why\s+did|why\s+is|why\s+has|why|"
    r"depends?\s+on|waiting\s+(?:for|on)|waits?\s+(?:on|for)|successors\s+of|"
    r"predecessors\s+of|dependents\s+of|impact\s+of|about|is|of|for|show|check|"
    r"does|did|explain)\s+(?:the\s+)?(?:job\s+stream\s+|jobstream\s+|job\s+|stream\s+|"
    r"workstation\s+|agent\s+)?([A-Za-z0-9_#.*@$\-]+)",
    re.I,
)
_ON_WORKSTATION: Final = re.compile(r"\bon\s+(?:workstation\s+|agent\s+)?([A-Za-z0-9_\-]+)", re.I)
_IN_SCOPE: Final = re.compile(
    r"\b(?:in|for|of)\s+(?:the\s+)?(?:job\s*stream\s+|stream\s+)?([A-Za-z0-9_#.*@$\-]+)", re.I
)


def _clean_name(token: str) -> str:
    token = token.strip(".,;:!?'\"()[]{}").replace("@", "*")
    return token.upper()


def _is_name(token: str, *, strict: bool) -> bool:
    cleaned = token.strip(".,;:!?'\"()[]{}")
    if not cleaned or cleaned.lower() in _STOPWORDS or cleaned.lower().rstrip("s") in _STOPWORDS:
        return False
    if _NAME_SHAPE.match(cleaned):
        return True
    if strict:
        # By shape alone only upper-case words count: "PAYROLL" yes, "payroll" no.
        return cleaned.isupper() and len(cleaned) >= 3
    return len(cleaned) >= 2


def _find_subject(text: str) -> str | None:
    for match in _ANCHORS.finditer(text):
        candidate = match.group(1)
        if _is_name(candidate, strict=False):
            return _clean_name(candidate)
    for token in _TOKEN.findall(text):
        if _is_name(token, strict=True):
            return _clean_name(token)
    return None


def _list_filter(text: str) -> ListFilter | None:
    for pattern, list_filter in _LIST_FILTERS:
        if pattern.search(text):
            return list_filter
    return None


def _workstation_scope(text: str) -> str | None:
    match = _ON_WORKSTATION.search(text)
    if match and _is_name(match.group(1), strict=False):
        return _clean_name(match.group(1))
    return None


def _scope_name(text: str, *, workstation: str | None) -> str | None:
    """The name after "in"/"for"/"of" that narrows a list (not the workstation), if any."""
    for match in _IN_SCOPE.finditer(text):
        if _is_name(match.group(1), strict=False):
            name = _clean_name(match.group(1))
            if name != workstation:
                return name
    return None


def understand(
    text: str, *, focus: str | None = None, last_kind: IntentKind | None = None
) -> Intent:
    """Parse one message into an `Intent`.

    Args:
        text: What the person wrote (bot mentions already removed).
        focus: The subject of the conversation so far (for follow-ups), if any.
        last_kind: The previous question's kind (for "what about X?"), if any.

    Returns:
        The intent; `IntentKind.UNKNOWN` when nothing matched.
    """
    text = text.strip()
    incident = understand_incident(text, focus=focus)
    if incident is not None:
        return incident
    action = understand_action(text, focus=focus)
    if action is not None:
        return action
    text = re.sub(r"^/\w+\s*", "", text)  # a slash command's own name
    if not text or _HELP.search(text):
        return Intent(kind=IntentKind.HELP)

    subject = _find_subject(text)
    refers_back = subject is None and bool(_FOLLOW_UP_REF.search(text) or len(text.split()) <= 3)

    def with_subject(kind: IntentKind) -> Intent:
        if subject is None and refers_back and focus:
            return Intent(kind=kind, subject=focus, follow_up=True)
        return Intent(kind=kind, subject=subject)

    if _WHY.search(text):
        return with_subject(IntentKind.WHY)
    if _PREDECESSORS.search(text):
        return with_subject(IntentKind.PREDECESSORS)
    if _SUCCESSORS.search(text) and (subject or focus):
        return with_subject(IntentKind.SUCCESSORS)
    if _WORKSTATIONS.search(text) or (
        subject
        and re.search(rf"\bis\s+{re.escape(subject)}\s+(up|down|linked|unlinked)\b", text, re.I)
    ):
        return Intent(kind=IntentKind.WORKSTATIONS, subject=subject)

    list_filter = _list_filter(text)
    workstation = _workstation_scope(text)
    if list_filter in (ListFilter.LATE, ListFilter.AT_RISK) and subject is None:
        return Intent(kind=IntentKind.LATE, list_filter=list_filter)
    if _LATE.search(text) and subject is None:
        return Intent(kind=IntentKind.LATE, list_filter=ListFilter.AT_RISK)

    if list_filter is not None:
        scope = _scope_name(text, workstation=workstation)
        if subject is not None and subject == workstation and scope is not None:
            # "what failed on AGT_LNX01 in PAYROLL_DAILY": the first name found was the
            # workstation; the job stream after "in" narrows it further.
            subject = scope if _is_name(scope, strict=True) else None
        if subject is None or subject == workstation:
            return Intent(kind=IntentKind.LIST, list_filter=list_filter, workstation=workstation)
        if scope == subject:
            # "what failed in PAYROLL_DAILY": a group of jobs, narrowed to a name.
            return Intent(
                kind=IntentKind.LIST,
                list_filter=list_filter,
                subject=subject,
                workstation=workstation,
            )
        return Intent(kind=IntentKind.STATUS, subject=subject)

    if (
        subject is not None
        and _NEW_SUBJECT_ONLY.search(text)
        and last_kind not in (None, IntentKind.HELP)
    ):
        if last_kind in (
            IntentKind.LIST,
            IntentKind.LATE,
            IntentKind.UNKNOWN,
            IntentKind.RUNBOOK,  # "what about X?" after a change request asks about X
        ):
            return Intent(kind=IntentKind.STATUS, subject=subject)
        return Intent(kind=last_kind, subject=subject)
    if subject is not None:
        return Intent(kind=IntentKind.STATUS, subject=subject)
    if _STATUS_WORD.search(text) and focus:
        return Intent(kind=IntentKind.STATUS, subject=focus, follow_up=True)
    return Intent(kind=IntentKind.UNKNOWN)
