"""Questions about time: what changed in a window, and when a job will finish.

Read by rules, like the rest of the parser (`agents.understand` calls this after the
contractions are spelled out):

- "what changed since 22:00?", "anything new in the last hour?", "what happened after
  10pm?", "changes in the past 30 minutes" → `IntentKind.CHANGES` with ``arguments``
  ``since`` (``HH:MM``, a clock time in the display zone) or ``minutes`` (a span).
- "when will GL_CLOSE finish?", "ETA of GL_CLOSE", "when is PAYROLL_DAILY expected to
  end?", "how long until GL_CLOSE is done?" → `IntentKind.ETA` with the subject (or, with
  none named, the conversation's focus).
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import Intent, IntentKind

__all__ = ["DEFAULT_CHANGES_MINUTES", "understand_time"]

DEFAULT_CHANGES_MINUTES: Final = 60
"""The window of "what changed?" when the question gives none."""

_CLOCK: Final = r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?"
_SINCE_CLOCK: Final = re.compile(
    rf"\b(?:since|after|from)\s+(?:(midnight)|(noon)|{_CLOCK}\b)", re.I
)
_SPAN: Final = re.compile(
    r"\b(?:in\s+|over\s+|during\s+|for\s+|within\s+)?(?:the\s+)?(?:last|past|previous)\s+"
    r"(?:(\d+|an?|one|two|three|few|couple(?:\s+of)?)\s+)?"
    r"(hours?|hrs?|h|minutes?|mins?|m)\b",
    re.I,
)
_SPAN_AGO: Final = re.compile(
    r"\bsince\s+(\d+|an?|one|two|three)\s+(hours?|hrs?|minutes?|mins?)\s+ago\b", re.I
)
_CHANGE_WORDS: Final = re.compile(
    r"\b(?:what|anything|something)\s+(?:has\s+|have\s+)?(?:changed|is\s+new|new|happened|"
    r"happen|moved|went\s+on|going\s+on)\b|\bchanges?\b|\bwhat\s+did\s+i\s+miss\b|\bnews\b",
    re.I,
)
_ETA: Final = re.compile(
    r"\beta\b|\bexpected\s+(?:to\s+)?(?:end|finish|completion|complete|to\s+be\s+done)\b"
    r"|\bwhen\s+(?:will|would|does|do|is|should|might|can|could)\b.*\b(?:finish\w*|end|ends|"
    r"complete\w*|be\s+done|be\s+over|be\s+ready|be\s+finished|done|over)\b"
    r"|\bhow\s+long\s+(?:until|till|before|will|does\s+\S+\s+still)\b"
    r"|\bhow\s+much\s+longer\b|\btime\s+(?:left|remaining)\b",
    re.I,
)
_WORD_NUMBERS: Final = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "few": 3,
    "couple": 2,
    "couple of": 2,
}


def _span_minutes(count: str | None, unit: str) -> int:
    amount = 1
    if count:
        lowered = count.lower()
        amount = int(lowered) if lowered.isdigit() else _WORD_NUMBERS.get(lowered, 1)
    per = 60 if unit.lower().startswith("h") else 1
    return max(1, amount * per)


def _since_clock(match: re.Match[str]) -> str | None:
    """``HH:MM`` (24 h) of "since 10pm" / "since 22:00"; None when it is no clock time."""
    if match.group(1):
        return "00:00"
    if match.group(2):
        return "12:00"
    hour, minute, meridiem = int(match.group(3)), int(match.group(4) or 0), match.group(5)
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _window(text: str) -> dict[str, str] | None:
    ago = _SPAN_AGO.search(text)
    if ago:
        return {"minutes": str(_span_minutes(ago.group(1), ago.group(2)))}
    span = _SPAN.search(text)
    if span:
        return {"minutes": str(_span_minutes(span.group(1), span.group(2)))}
    since = _SINCE_CLOCK.search(text)
    if since:
        clock = _since_clock(since)
        if clock is not None:
            return {"since": clock}
    return None


def understand_time(text: str, *, subject: str | None, focus: str | None) -> Intent | None:
    """A CHANGES or ETA intent when the question is about time, else None.

    Args:
        text: The message, contractions spelled out.
        subject: The name the parser found in it, if any.
        focus: The conversation's subject, for "when will it finish?".

    Returns:
        The intent, or None when this is not a question about time.
    """
    window = _window(text)
    if window is not None and (subject is None or _CHANGE_WORDS.search(text)):
        # "what failed since 22:00?" is a change question too: the window is the point.
        return Intent(kind=IntentKind.CHANGES, arguments=window)
    if window is None and subject is None and _CHANGE_WORDS.search(text):
        if re.search(r"\bhappened\s+(?:to|with)\b", text, re.I):
            return None  # "what happened to it?": a why question about the focus
        if re.search(r"\b(?:what|anything)\s+(?:changed|is\s+new|new)\b|\bchanges\b", text, re.I):
            return Intent(
                kind=IntentKind.CHANGES, arguments={"minutes": str(DEFAULT_CHANGES_MINUTES)}
            )
    if _ETA.search(text):
        if subject is not None:
            return Intent(kind=IntentKind.ETA, subject=subject)
        if focus is not None:
            return Intent(kind=IntentKind.ETA, subject=focus, follow_up=True)
        return Intent(kind=IntentKind.ETA)
    return None
