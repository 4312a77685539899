"""Incident requests, as typed or said, mapped to an INCIDENT `Intent` (no LLM needed).

Two ways in:

- the command, also what ``/tws incident ...`` and ``/tws incidents`` become::

      incident declare [SEV1..SEV4] <title>      incident INC-2026-0042     incidents
      incident note|update|follow-up <text>      incident lead|comms|scribe <person>
      incident severity SEV1                     incident escalate [SEV1]
      incident status active|monitoring          incident resolve <summary>
      incident close                             incident link <JOB>
      incident stats [30d]

  An incident id may follow ``incident`` or the verb (``incident INC-2026-0042 note ...``);
  without one the command applies to the incident of the conversation's place.

- words: "raise an incident for PAYROLL_EXTRACT", "declare a SEV2 incident: bank file late",
  "what incidents are open?", "escalate this incident", "close the incident".

Only the shape is read here. What depends on the policy or the plan (is SEV5 a level, is the
job in the plan, who is "@ana") is checked where the incident is handled
(`agents.answers.incidents`), so the person is told exactly what is wrong. A command that
cannot be read gives an INCIDENT intent with operation USAGE and a ``problem`` sentence.
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import IncidentOp, Intent, IntentKind

__all__ = ["INCIDENT_ID", "INCIDENT_USAGE", "understand_incident"]

INCIDENT_ID: Final = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{4,})\b")
"""An incident id as typed: ``INC-2026-0042`` (prefix, year, number)."""

INCIDENT_USAGE: Final = (
    "Incident commands: incident declare [SEV1..SEV4] <title> · incidents · "
    "incident INC-2026-0042 · incident note|update|resolve <text> · incident lead <person> · "
    "incident severity SEV1 · incident escalate · incident status active|monitoring · "
    "incident close · incident link <JOB>."
)
_ID_AT_START: Final = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{4,})\b[\s:,]*", re.I)
_ID_LOOKALIKE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,9}-\d+(?:-\d+)?$")
_SLASH: Final = re.compile(r"^/\w+\s+")
_POLITE: Final = (
    r"^(?:please\s+|pls\s+|can you\s+|could you\s+|let'?s\s+|we need to\s+|i want to\s+"
    r"|go ahead and\s+)*"
)
_COMMAND: Final = re.compile(_POLITE + r"incident\b\s*[:,]?\s*(.*)$", re.I | re.S)
_SEVERITY_WORD: Final = r"(?:sev(?:erity)?[\s_-]?\d+|p\d)"
_DECLARE_WORDS: Final = re.compile(
    _POLITE + r"(?:declare|raise|open|start|create|file|log|report)\s+"
    r"(?:(?:an?|the|new|another)\s+)*(?:(?P<sev>" + _SEVERITY_WORD + r")\s+)?"
    r"(?:(?P<adjective>[A-Za-z][\w-]{2,20})\s+)?incident\b(?P<rest>.*)$",
    re.I | re.S,
)
_CHANGE_WORDS: Final = re.compile(
    _POLITE + r"(escalate|close|resolve|reopen)\s+(?:the|this|our|that)\s+incident\b(.*)$",
    re.I | re.S,
)
_ESCALATE_ALONE: Final = re.compile(_POLITE + r"escalate(?:\s+(?:it|this))?\s*[.!]*\s*$", re.I)
_LIST_WORDS: Final = re.compile(r"\bincidents\b|\bopen\s+incidents?\b|\bincidents?\s+open\b", re.I)
_STATS_WORDS: Final = re.compile(
    r"\b(?:stats|statistics|mttr|mtta|tta|ttr|how many|metrics)\b", re.I
)
_SHOW_ID: Final = re.compile(
    r"^(?:show\s+(?:me\s+)?|status\s+(?:of\s+)?|what(?:'s| is)\s+(?:the\s+)?(?:status\s+of\s+)?)?"
    r"([A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{4,})\s*[?.!]*$",
    re.I,
)
_LEADING_SEVERITY: Final = re.compile(
    r"^[\s,:;-]*(?:(?:with|at)\s+)?(?:severity\s+)?(" + _SEVERITY_WORD + r")\b[\s,:;-]*", re.I
)
_FOR_SUBJECT: Final = re.compile(
    r"^[\s,:;-]*(?:for|on|about|against)\s+(?:the\s+)?"
    r"(?:job\s*stream\s+|stream\s+|job\s+)?([A-Za-z0-9_#.*$@-]+)[\s,:;.!?-]*",
    re.I,
)
_REFERENCE: Final = re.compile(
    r"\b(?:the|that|this)\s+(?:failed\s+|abended\s+)?job\b(?!\s*stream)", re.I
)
_IT: Final = re.compile(r"^(?:it|this|that)$", re.I)
_NAME: Final = re.compile(r"^[A-Za-z0-9_#.*$@-]*[_#.][A-Za-z0-9_#.*$@-]*[A-Za-z0-9*]$")
_DAYS: Final = re.compile(r"\b(\d{1,4})\s*(?:d|days?)\b", re.I)

_VERBS: Final[dict[str, IncidentOp]] = {
    "declare": IncidentOp.DECLARE,
    "new": IncidentOp.DECLARE,
    "raise": IncidentOp.DECLARE,
    "show": IncidentOp.SHOW,
    "info": IncidentOp.SHOW,
    "card": IncidentOp.SHOW,
    "list": IncidentOp.LIST,
    "open": IncidentOp.LIST,
    "stats": IncidentOp.STATS,
    "statistics": IncidentOp.STATS,
    "note": IncidentOp.NOTE,
    "comment": IncidentOp.NOTE,
    "update": IncidentOp.UPDATE,
    "lead": IncidentOp.ROLE,
    "comms": IncidentOp.ROLE,
    "scribe": IncidentOp.ROLE,
    "severity": IncidentOp.SEVERITY,
    "sev": IncidentOp.SEVERITY,
    "escalate": IncidentOp.ESCALATE,
    "status": IncidentOp.STATUS,
    "ack": IncidentOp.STATUS,
    "acknowledge": IncidentOp.STATUS,
    "reopen": IncidentOp.STATUS,
    "active": IncidentOp.STATUS,
    "monitoring": IncidentOp.STATUS,
    "resolve": IncidentOp.RESOLVE,
    "resolved": IncidentOp.RESOLVE,
    "close": IncidentOp.CLOSE,
    "link": IncidentOp.LINK,
    "follow-up": IncidentOp.FOLLOW_UP,
    "followup": IncidentOp.FOLLOW_UP,
    "follow_up": IncidentOp.FOLLOW_UP,
    "todo": IncidentOp.FOLLOW_UP,
}
_STATUS_OF_VERB: Final = {
    "ack": "active",
    "acknowledge": "active",
    "reopen": "active",
    "active": "active",
    "monitoring": "monitoring",
}
_NEEDS_TEXT: Final = {
    IncidentOp.NOTE: "What should the note say? Write: incident note <text>.",
    IncidentOp.UPDATE: (
        "What is the status update? Write: incident update <what is known, what is being "
        "done, when the next update comes>."
    ),
    IncidentOp.RESOLVE: (
        "Resolving needs a summary: incident resolve <what happened and what fixed it>."
    ),
    IncidentOp.FOLLOW_UP: "What is the follow-up? Write: incident follow-up <task>.",
}


def _usage(problem: str, incident_id: str | None = None, *, commands: bool = False) -> Intent:
    arguments = {"problem": f"{problem} {INCIDENT_USAGE}" if commands else problem}
    if incident_id:
        arguments["id"] = incident_id
    return Intent(kind=IntentKind.INCIDENT, operation=IncidentOp.USAGE, arguments=arguments)


def _take_id(text: str) -> tuple[str | None, str]:
    match = _ID_AT_START.match(text)
    if match is None:
        return None, text
    return match.group(1).upper(), text[match.end() :].strip()


def _severity_name(word: str) -> str:
    """``sev 1``, ``severity-1``, ``Sev1`` -> ``SEV1``; anything else upper-cased as typed."""
    compact = re.sub(r"[\s_-]", "", word).upper()
    match = re.fullmatch(r"SEV(?:ERITY)?(\d+)", compact)
    return f"SEV{match.group(1)}" if match else word.strip().upper()


def _clean_name(token: str) -> str:
    return token.strip(".,;:!?'\"()[]{}").replace("@", "*").upper()


def _mentioned_name(title: str) -> str | None:
    """The first TWS-shaped name in a title (``PAYROLL_EXTRACT``, ``STREAM.JOB``), if any."""
    for token in title.split():
        cleaned = token.strip(".,;:!?'\"()[]{}")
        shaped = "_" in cleaned or "#" in cleaned or (cleaned.isupper() and "." in cleaned)
        if len(cleaned) >= 3 and shaped and _NAME.match(cleaned):
            return _clean_name(cleaned)
    return None


def _declare(
    rest: str, *, severity: str | None, focus: str | None, adjective: str | None = None
) -> Intent:
    """A DECLARE intent from what follows "declare" / "incident" (severity, subject, title).

    ``adjective`` is a word before "incident" ("a critical incident"): kept as
    ``severity_word`` so the answer can take it when it names a level of the policy.
    """
    rest = _REFERENCE.sub("it", rest.strip())
    arguments: dict[str, str] = {}
    if adjective:
        arguments["severity_word"] = adjective.lower()
    leading = _LEADING_SEVERITY.match(rest)
    if leading is not None:
        severity = severity or leading.group(1)
        rest = rest[leading.end() :]
    if severity:
        arguments["severity"] = _severity_name(severity)
    subject: str | None = None
    follow_up = False
    named = _FOR_SUBJECT.match(rest)
    if named is not None:
        token = named.group(1).rstrip(".")
        if _IT.match(token):
            subject, follow_up = focus, focus is not None
            rest = rest[named.end() :]
            arguments["link"] = "focus"
        elif _NAME.match(token) or (token.isupper() and len(token) >= 3):
            subject = _clean_name(token)
            rest = rest[named.end() :]
            arguments["link"] = "named"
        else:  # "for payroll extract failing": words, not a name
            rest = re.sub(r"^[\s,:;-]*(?:for|on|about|against)\s+", "", rest, flags=re.I)
    title = rest.strip(" \t\r\n:;,-")
    if title:
        arguments["title"] = title
    if subject is None and title:
        subject = _mentioned_name(title)
        if subject is not None:
            arguments["link"] = "mentioned"
    if subject is None and focus is not None and "link" not in arguments:
        subject, follow_up = focus, True
        arguments["link"] = "focus"
    return Intent(
        kind=IntentKind.INCIDENT,
        operation=IncidentOp.DECLARE,
        subject=subject,
        follow_up=follow_up,
        arguments=arguments,
    )


def _command(rest: str, *, focus: str | None) -> Intent:
    """``incident [ID] <verb> [ID] <tail>``."""
    incident_id, rest = _take_id(rest.strip())
    if not rest:
        return _op(IncidentOp.SHOW, incident_id)
    verb, _, tail = rest.partition(" ")
    verb = verb.strip(".,;:!?").lower()
    tail = tail.strip()
    op = _VERBS.get(verb)
    if op is None:
        if _ID_LOOKALIKE.match(verb):
            return _usage(
                f"{verb.upper()} is not an incident id: ids look like INC-2026-0042.",
                commands=True,
            )
        return _usage(f"I do not know 'incident {verb}'.", incident_id, commands=True)
    if op is IncidentOp.DECLARE:
        return _declare(tail, severity=None, focus=focus)
    if incident_id is None:
        incident_id, tail = _take_id(tail)
    return _operation(op, verb, tail, incident_id=incident_id, focus=focus)


def _op(op: IncidentOp, incident_id: str | None, **arguments: str) -> Intent:
    if incident_id:
        arguments["id"] = incident_id
    return Intent(kind=IntentKind.INCIDENT, operation=op, arguments=arguments)


def _operation(
    op: IncidentOp, verb: str, tail: str, *, incident_id: str | None, focus: str | None
) -> Intent:
    """The intent of one verb with what follows it."""
    if op in _NEEDS_TEXT:
        text = tail.strip(" \t\r\n:;,-")
        if not text:
            return _usage(_NEEDS_TEXT[op], incident_id)
        return _op(op, incident_id, text=text)
    if op is IncidentOp.ROLE:
        person = tail.strip(" \t\r\n:;,")
        person = re.sub(r"^(?:is|to|=)\s+", "", person, flags=re.I).strip()
        if not person:
            return _usage(f"Who? Write: incident {verb} @someone.", incident_id)
        return _op(op, incident_id, role=verb, person=person)
    if op is IncidentOp.SEVERITY:
        word = re.sub(r"^(?:to|=|is)\s+", "", tail, flags=re.I).strip(" .!")
        return _op(op, incident_id, severity=_severity_name(word) if word else "")
    if op is IncidentOp.ESCALATE:
        word = re.sub(r"^(?:to|=)\s+", "", tail, flags=re.I).strip(" .!")
        return _op(op, incident_id, **({"severity": _severity_name(word)} if word else {}))
    if op is IncidentOp.STATUS:
        status = _STATUS_OF_VERB.get(verb) or tail.strip(" .!").lower()
        if not status:
            return _op(IncidentOp.SHOW, incident_id)
        return _op(op, incident_id, status=status)
    if op is IncidentOp.LINK:
        token = _REFERENCE.sub("it", tail).strip(" .!")
        token = re.sub(r"^(?:the\s+)?(?:job\s*stream\s+|stream\s+|job\s+)", "", token, flags=re.I)
        if not token:
            return _usage("Which job? Write: incident link PAYROLL_DAILY.PAYROLL_EXTRACT.")
        if _IT.match(token):
            if focus is None:
                return _usage("Which job? Name it: incident link PAYROLL_EXTRACT.")
            return Intent(
                kind=IntentKind.INCIDENT,
                operation=op,
                subject=focus,
                follow_up=True,
                arguments={"id": incident_id} if incident_id else {},
            )
        if " " in token:
            return _usage("Link one job or job stream at a time: incident link <NAME>.")
        return Intent(
            kind=IntentKind.INCIDENT,
            operation=op,
            subject=_clean_name(token),
            arguments={"id": incident_id} if incident_id else {},
        )
    if op is IncidentOp.STATS:
        days = _DAYS.search(tail)
        return _op(op, incident_id, **({"days": days.group(1)} if days else {}))
    return _op(op, incident_id)


def understand_incident(text: str, *, focus: str | None) -> Intent | None:
    """An INCIDENT intent when the message is about incidents, else None.

    Args:
        text: The message (bot mention removed; a leading ``/tws`` is ignored).
        focus: The conversation's job, for "raise an incident for it".

    Returns:
        The intent, or None when the message is not about incidents.
    """
    text = _SLASH.sub("", text.strip()).strip()
    declared = _DECLARE_WORDS.match(text)
    if declared is not None:
        return _declare(
            declared.group("rest"),
            severity=declared.group("sev"),
            focus=focus,
            adjective=declared.group("adjective"),
        )
    command = _COMMAND.match(text)
    if command is not None:
        return _command(command.group(1), focus=focus)
    change = _CHANGE_WORDS.match(text)
    if change is not None:
        verb = change.group(1).lower()
        incident_id, tail = _take_id(change.group(2).strip(" \t\r\n:;,-"))
        return _operation(_VERBS[verb], verb, tail, incident_id=incident_id, focus=focus)
    if _ESCALATE_ALONE.match(text):
        return _op(IncidentOp.ESCALATE, None)
    shown = _SHOW_ID.match(text)
    if shown is not None:
        return _op(IncidentOp.SHOW, shown.group(1).upper())
    if _LIST_WORDS.search(text):
        if _STATS_WORDS.search(text):
            days = _DAYS.search(text)
            return _op(IncidentOp.STATS, None, **({"days": days.group(1)} if days else {}))
        return _op(IncidentOp.LIST, None)
    return None
