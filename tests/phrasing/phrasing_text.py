"""What the phrasing scorer looks for in an answer's text: whole names, numbers on their own."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from phrasing_plan import PlanView

LIST_CAP = 25  # a list longer than this may be paged: its count must be there, not every name
NAME_SHAPED = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![A-Za-z0-9_])")
STATUS_WORDS = re.compile(r"\b(ABEND|FAIL|SUCC|EXEC|HOLD|READY|SCHED|STUCK)\b")
QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|‘[^’\n]*’|“[^”\n]*”")


@dataclass
class Answer:
    """What the assistant said to the last turn, and everything asked in the conversation."""

    text: str
    small_print: str
    questions: list[str]
    all_texts: list[str] = field(default_factory=list)


Check = Callable[[PlanView, Answer, Any], Awaitable[list[str]]]


def has_name(text: str, name: str) -> bool:
    """Whether ``name`` appears as a whole TWS name (not inside a longer one)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text) is not None


def has_number(text: str, number: int) -> bool:
    """Whether ``number`` appears on its own (not inside a time, a name or a longer number)."""
    if number == 0 and re.search(r"\b(no|none|nothing|zero)\b", text, re.IGNORECASE):
        return True
    pattern = rf"(?<![\d:.,A-Za-z_])(?<!\d-){number}(?![\d:A-Za-z_])"
    return re.search(pattern, text) is not None
