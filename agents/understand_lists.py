"""Questions about groups of jobs: "what failed on AGT_LNX01?", "how many are held?".

Part of the parser (`agents.understand`): which status group a message names, the job
stream ("in PAYROLL_DAILY") and workstation ("on AGT_LNX01") it narrows to, and the LIST or
COUNT intent they make.
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import Intent, IntentKind, ListFilter
from agents.understand_words import clean_name, is_name

__all__ = ["count_intent", "list_filter_of", "list_intent", "scope_name", "workstation_scope"]

_LIST_FILTERS: Final[tuple[tuple[re.Pattern[str], ListFilter], ...]] = (
    (re.compile(r"\bat[\s-]risk\b", re.I), ListFilter.AT_RISK),
    (re.compile(r"\b(late|overdue|behind)\b", re.I), ListFilter.LATE),
    (re.compile(r"\babend(?:ed|s)?\b", re.I), ListFilter.ABENDED),
    (
        re.compile(
            r"\b(fail(?:ed|ing|s|ures?)?|errors?|broke(?:n)?|crash(?:ed)?|bomb(?:ed|s)?|blew up"
            r"|on fire|burning)\b",
            re.I,
        ),
        ListFilter.FAILED,
    ),
    (re.compile(r"\b(running|executing|in progress|active|exec)\b", re.I), ListFilter.RUNNING),
    (re.compile(r"\b(held|on hold|hold|holds)\b", re.I), ListFilter.HELD),
    (re.compile(r"\bready\b", re.I), ListFilter.READY),
    (
        re.compile(
            r"\b(sched|scheduled|not due|at-?time|start[\s-]time|not\s+(?:yet\s+)?reached\s+"
            r"(?:their|its|the)\s+start)\b",
            re.I,
        ),
        ListFilter.SCHEDULED,
    ),
    (re.compile(r"\b(waiting|pending|queued|stuck|not started)\b", re.I), ListFilter.WAITING),
    (
        re.compile(r"\b(succeeded|successful|completed|finished|done|succ)\b", re.I),
        ListFilter.SUCCEEDED,
    ),
    (re.compile(r"\b(cancel(?:l)?ed)\b", re.I), ListFilter.CANCELLED),
)

_ON_WORKSTATION: Final = re.compile(r"\bon\s+(?:workstation\s+|agent\s+)?([A-Za-z0-9_\-]+)", re.I)
_IN_SCOPE: Final = re.compile(
    r"\b(?:in|for|of)\s+(?:the\s+)?(?:job\s*stream\s+|stream\s+)?([A-Za-z0-9_#.*@$\-]+)", re.I
)


def list_filter_of(text: str) -> ListFilter | None:
    """The status group a message names ("failed", "ready but not started", "held").

    Args:
        text: The message.

    Returns:
        The group, or None.
    """
    if re.search(r"\bready\b.*\bnot\s+(?:yet\s+)?(?:started|running)\b", text, re.I):
        return ListFilter.READY  # "ready but not started" is READY, not every waiting job
    for pattern, list_filter in _LIST_FILTERS:
        if pattern.search(text):
            return list_filter
    return None


def workstation_scope(text: str) -> str | None:
    """The workstation after "on" ("what failed on AGT_LNX01"), if any.

    Args:
        text: The message.

    Returns:
        The name, or None.
    """
    match = _ON_WORKSTATION.search(text)
    if match and is_name(match.group(1), strict=False):
        return clean_name(match.group(1))
    return None


def scope_name(text: str, *, workstation: str | None) -> str | None:
    """The name after "in"/"for"/"of" that narrows a list (not the workstation), if any."""
    for match in _IN_SCOPE.finditer(text):
        if is_name(match.group(1), strict=False):
            name = clean_name(match.group(1))
            if name != workstation:
                return name
    return None


def count_intent(
    text: str, subject: str | None, workstation: str | None, focus: str | None
) -> Intent:
    """A COUNT intent ("how many jobs failed on AGT_LNX02?"); lateness counts are LATE.

    Args:
        text: The message.
        subject: The first name found, if any.
        workstation: The workstation after "on", if any.
        focus: The conversation's subject when the message refers back to it, else None.

    Returns:
        The intent.
    """
    list_filter = list_filter_of(text)
    if list_filter in (ListFilter.LATE, ListFilter.AT_RISK):
        return Intent(kind=IntentKind.LATE, list_filter=list_filter)
    stream = scope_name(text, workstation=workstation)
    stream = stream if stream is not None and stream == subject else None
    if stream is None and subject is not None and subject != workstation:
        stream = subject  # "how many jobs does PAYROLL_DAILY have"
    if stream is None and workstation is None and focus:
        stream = focus
    return Intent(
        kind=IntentKind.COUNT, list_filter=list_filter, subject=stream, workstation=workstation
    )


def list_intent(
    text: str,
    list_filter: ListFilter,
    subject: str | None,
    more: tuple[str, ...],
    workstation: str | None,
) -> Intent:
    """A status group, narrowed by job stream and workstation; or the status of one name.

    Args:
        text: The message.
        list_filter: The group named.
        subject: The first name found, if any.
        more: Further names ("in A and B").
        workstation: The workstation after "on", if any.

    Returns:
        A LIST intent, or STATUS when the name is the subject, not a scope.
    """
    scope = scope_name(text, workstation=workstation)
    if subject is not None and subject == workstation and scope is not None:
        # "what failed on AGT_LNX01 in PAYROLL_DAILY": the first name found was the
        # workstation; the job stream after "in" narrows it further.
        subject = scope if is_name(scope, strict=True) else None
    if subject is None or subject == workstation:
        return Intent(kind=IntentKind.LIST, list_filter=list_filter, workstation=workstation)
    if scope == subject:
        # "what failed in PAYROLL_DAILY (and GL_CLOSE)": groups of jobs, narrowed to names.
        return Intent(
            kind=IntentKind.LIST,
            list_filter=list_filter,
            subject=subject,
            more_subjects=more,
            workstation=workstation,
        )
    return Intent(kind=IntentKind.STATUS, subject=subject, more_subjects=more)
