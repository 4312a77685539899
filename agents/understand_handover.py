"""Is this a request for the shift handover? ("give me a handover", "shift summary").

Read by a rule before the parser (`agents.understand`), like the watcher's questions
(`agents.understand_watch`): "handover", "hand over", "hand-off", "shift summary",
"shift report", "end of shift", "what happened this shift". Requests to change the plan
and incident commands come first ("incident update handover done" is an incident update).
"""

from __future__ import annotations

import re
from typing import Final

from agents.understand_actions import understand_action
from agents.understand_incidents import understand_incident

__all__ = ["understand_handover"]

_HANDOVER: Final = re.compile(
    r"\bhand[\s-]?(?:over|off)s?\b"
    r"|\bshift\s+(?:summary|report|recap|digest|change|notes?)\b"
    r"|\bend[\s-]of[\s-](?:the\s+)?shift\b"
    r"|\bwhat\s+(?:happened|went\s+on)\s+(?:this|during\s+the|in\s+the|on\s+the)\s+shift\b"
    r"|\bsummar(?:y|ise|ize)\s+(?:of\s+)?(?:this|the)\s+shift\b",
    re.I,
)


def understand_handover(text: str) -> bool:
    """True when ``text`` asks for the shift handover.

    Args:
        text: What the person wrote (bot mentions removed).

    Returns:
        Whether to answer with the handover.
    """
    text = text.strip()
    if understand_incident(text, focus=None) or understand_action(text, focus=None):
        return False
    return _HANDOVER.search(re.sub(r"^/\w+\s*", "", text)) is not None
