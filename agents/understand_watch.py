"""Questions the watcher answers: what is unusual, which deadlines are at risk, and why.

Read by rules like the rest of the parser (`agents.understand`), before it, and only when
the process has a watcher (`agents.assistant.Assistant` with ``watch``); without one these
questions go the usual way ("what is at risk?" is then the forecast from typical durations).

- "what's unusual tonight?", "anything abnormal?", "any anomalies?" → `WatchAsk.UNUSUAL`
- "which deadlines are at risk?", "deadline risk", "chance of missing the deadlines"
  → `WatchAsk.RISKS`
- "why is GL_CLOSE at risk?", "will GL_CLOSE miss its deadline?", "is GL_CLOSE at risk?"
  → `WatchAsk.WHY_RISK`
- "baseline of PAYROLL_EXTRACT", "how long does PAYROLL_EXTRACT usually take?"
  → `WatchAsk.BASELINE`

"what is at risk?" (no word about deadlines) stays a lateness question: the forecast there
answers it, as before. "why is GL_CLOSE late?" (already late, not a forecast) stays the
parser's "why": the root cause upstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from agents.understand import refers_back, understand
from agents.understand_actions import understand_action
from agents.understand_incidents import understand_incident

__all__ = ["WatchAsk", "WatchQuestion", "understand_watch"]


class WatchAsk(StrEnum):
    """What a watch question asks."""

    UNUSUAL = "unusual"
    RISKS = "risks"
    WHY_RISK = "why_risk"
    BASELINE = "baseline"


@dataclass(frozen=True, slots=True)
class WatchQuestion:
    """A question for the watcher.

    Attributes:
        ask: What is asked.
        subject: The job named (upper case), for WHY_RISK and BASELINE.
    """

    ask: WatchAsk
    subject: str | None = None


_UNUSUAL: Final = re.compile(
    r"\b(unusual|abnormal|anomal\w*|out of the ordinary|odd|strange|weird|outliers?)\b", re.I
)
_DEADLINE_RISK: Final = re.compile(
    r"\bdeadlines?\b.*\b(at[\s-]risk|risk\w*|in danger|chances?|likely|probab\w*)\b"
    r"|\b(at[\s-]risk|risk\w*|chances?|probab\w*)\b.*\bdeadlines?\b",
    re.I,
)
_WHY_RISK: Final = re.compile(
    r"\bwhy\b.*\b(at[\s-]risk|miss\w*\s+(?:its|the|their)?\s*deadline|going to be late|"
    r"will\s+be\s+late|be\s+late)\b"
    # "is GL_CLOSE at risk", "will it be late"; not "what will be late" ("be" is no name),
    # nor "why is X late?": already late, it wants the root cause (the parser's "why").
    r"|\b(?:is|will)\s+(?!(?:anything|something|everything|nothing|there|what|which|any|all|"
    r"be|\w+\s+deadlines?)\b)\S+\s+(?:at[\s-]risk|miss\w*)\b"
    r"|\bwill\s+(?!(?:anything|something|everything|nothing|there|what|which|any|all|be)\b)"
    r"\S+\s+(?:be\s+)?late\b",
    re.I,
)
_BASELINE: Final = re.compile(
    r"\bbaselines?\b|\b(usual|normal|typical)(ly)?\s+(duration|runtime|run time)\b"
    r"|\bhow\s+long\s+does\s+\S+\s+(usually|normally|typically)\b",
    re.I,
)


def understand_watch(text: str) -> WatchQuestion | None:
    """Read a question for the watcher, or None when it is not one.

    Args:
        text: What the person wrote (bot mentions removed).

    Returns:
        The question, or None. WHY_RISK and BASELINE without a name ("why is it at
        risk?") have no subject: the caller takes the conversation's focus, or lets the
        question go the usual way when there is none.
    """
    text = text.strip()
    if understand_incident(text, focus=None) or understand_action(text, focus=None):
        return None  # "incident declare SEV2 unusual load": requests come first, as in the parser
    text = re.sub(r"^/\w+\s*", "", text)
    for pattern, ask in ((_WHY_RISK, WatchAsk.WHY_RISK), (_BASELINE, WatchAsk.BASELINE)):
        if pattern.search(text):
            intent = understand(text)
            if ask is WatchAsk.WHY_RISK and intent.subject is None and not refers_back(text):
                # "will we be late?", "will payroll be late?": no job and no "it" — not a
                # question about the conversation's job; the usual way answers it.
                return None
            return WatchQuestion(ask, None if intent.follow_up else intent.subject)
    if _DEADLINE_RISK.search(text):
        return WatchQuestion(WatchAsk.RISKS)
    if _UNUSUAL.search(text):
        return WatchQuestion(WatchAsk.UNUSUAL)
    return None
