"""The shipped troubleshooting corpus, read as files (not through Resync's knowledge code)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parents[2] / "knowledge" / "corpus"
STOP = frozenset(
    "the a an and or of to in on for is are was be by it its this that with from then "
    "when which not no as at ask".split()
)


@cache
def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), name
    return data


def code_entry(code: str) -> dict[str, str]:
    """The corpus entry (meaning, action) of an AWS message code."""
    for entry in _load("codes.yaml")["entries"]:
        if entry["code"] == code:
            return dict(entry)
    raise KeyError(f"{code} is not in knowledge/corpus/codes.yaml")


def pattern_entry(text: str) -> dict[str, str]:
    """The most specific corpus pattern matching ``text`` (one that refines another first)."""
    matches = [
        dict(entry)
        for entry in _load("patterns.yaml")["patterns"]
        if re.search(entry["regex"], text, re.IGNORECASE)
    ]
    if not matches:
        raise KeyError(f"no pattern in knowledge/corpus/patterns.yaml matches {text!r}")
    matches.sort(key=lambda entry: "refines" not in entry)
    return matches[0]


def content_words(sentence: str) -> list[str]:
    """The sentence's distinctive words (lower case, four letters or more, no stop words)."""
    words = re.findall(r"[a-z][a-z0-9_-]{3,}", sentence.lower())
    return [word for word in dict.fromkeys(words) if word not in STOP]
