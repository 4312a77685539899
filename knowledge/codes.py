"""The shipped TWS troubleshooting corpus: AWS message codes and job-log symptom patterns.

The corpus lives in package data (``knowledge/corpus/codes.yaml`` and
``knowledge/corpus/patterns.yaml``), is validated when it is loaded, and is loaded
once per process. The public functions answer from it:

- :func:`lookup_code` — one AWS code, case-insensitive.
- :func:`explain_codes` — every known AWS code in a text (a job log), in order.
- :func:`lookup_error_pattern` — every symptom pattern found in a text, most specific first.

Exceptions::

    ValueError
     └── CorpusError   a corpus file is missing, not YAML, or an entry is invalid
                       (the message names the file and the entry)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from config.yaml_files import safe_load

__all__ = [
    "CODES_FILE",
    "PATTERNS_FILE",
    "CodeEntry",
    "Corpus",
    "CorpusError",
    "ErrorPattern",
    "Severity",
    "corpus",
    "explain_codes",
    "load_corpus",
    "lookup_code",
    "lookup_error_pattern",
]

Severity = Literal["error", "warning", "info"]

CODES_FILE: Final = "codes.yaml"
PATTERNS_FILE: Final = "patterns.yaml"

_CODE_RE: Final = re.compile(r"\bAWS[A-Z]{3}\d{3}[EWI]\b", re.IGNORECASE)
_CODE_EXACT: Final = re.compile(r"AWS[A-Z]{3}\d{3}[EWI]")
_SEVERITY_BY_LETTER: Final[Mapping[str, Severity]] = {"E": "error", "W": "warning", "I": "info"}
_CODE_KEYS: Final = frozenset({"code", "severity", "meaning", "action", "source"})
_PATTERN_KEYS: Final = frozenset({"name", "regex", "meaning", "action", "source"})
_PATTERN_OPTIONAL: Final = frozenset({"refines"})


class CorpusError(ValueError):
    """A corpus file is missing, unreadable, or holds an invalid entry."""


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """What one HCL Workload Automation message code means and what to do about it.

    Attributes:
        code: The message code, upper case, e.g. ``AWSBHT001E``.
        severity: ``error``, ``warning`` or ``info`` (the code's final letter).
        meaning: The cause, one sentence.
        action: What to do, one sentence.
        source: Where the fact comes from.
    """

    code: str
    severity: Severity
    meaning: str
    action: str
    source: str


@dataclass(frozen=True, slots=True)
class ErrorPattern:
    """A symptom found in job logs that is not an AWS code (e.g. ``ORA-01555``).

    Attributes:
        name: A short title for a person, e.g. ``Oracle snapshot too old (ORA-01555)``.
        regex: The Python regular expression, matched case-insensitively.
        meaning: The cause, one sentence.
        action: What to do, one sentence.
        source: Where the fact comes from.
        refines: The name of the more generic pattern this one narrows, if any.
    """

    name: str
    regex: str
    meaning: str
    action: str
    source: str
    refines: str | None = None
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.regex, re.IGNORECASE))

    def matches(self, line: str) -> bool:
        """Whether the pattern occurs anywhere in ``line``.

        Args:
            line: One log line, or a whole log.

        Returns:
            True when the pattern matches.
        """
        return self._compiled.search(line) is not None

    def first_match(self, text: str) -> int | None:
        """The offset of the pattern's first match in ``text``.

        Args:
            text: The text to scan.

        Returns:
            The start offset, or None when the pattern does not occur.
        """
        found = self._compiled.search(text)
        return found.start() if found else None


@dataclass(frozen=True, slots=True)
class Corpus:
    """The loaded corpus.

    Attributes:
        codes: The code entries, in file order.
        patterns: The symptom patterns, in file order.
    """

    codes: tuple[CodeEntry, ...]
    patterns: tuple[ErrorPattern, ...]
    _by_code: Mapping[str, CodeEntry] = field(init=False, repr=False, compare=False)
    _depth: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {entry.code: entry for entry in self.codes})
        object.__setattr__(self, "_depth", _refine_depths(self.patterns))

    def code(self, code: str) -> CodeEntry | None:
        """The entry for ``code`` (case-insensitive), or None.

        Args:
            code: A message code such as ``awsbht001e``.

        Returns:
            The entry, or None when the code is not in the corpus.
        """
        return self._by_code.get(code.strip().upper())

    def depth(self, pattern: ErrorPattern) -> int:
        """How many ``refines`` steps lead from ``pattern`` to a generic pattern.

        Args:
            pattern: A pattern of this corpus.

        Returns:
            0 for a generic pattern, 1 for one that refines it, and so on.
        """
        return self._depth.get(pattern.name, 0)


def _refine_depths(patterns: tuple[ErrorPattern, ...]) -> dict[str, int]:
    parents = {p.name: p.refines for p in patterns}
    depths: dict[str, int] = {}
    for name in parents:
        depth, current, seen = 0, parents[name], {name}
        while current is not None and current not in seen:
            seen.add(current)
            depth += 1
            current = parents.get(current)
        depths[name] = depth
    return depths


def _read_yaml(source: Path | Traversable, *, key: str) -> list[Any]:
    label = str(source)
    try:
        data = safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"{label}: file not found") from exc
    except yaml.YAMLError as exc:
        raise CorpusError(f"{label}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise CorpusError(f"{label}: expected a mapping with a list under '{key}'")
    items: list[Any] = data[key]
    return items


def _fields(
    item: Any, *, label: str, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, str]:
    if not isinstance(item, dict):
        raise CorpusError(f"{label}: expected a mapping, got {type(item).__name__}")
    missing = sorted(required - item.keys())
    if missing:
        raise CorpusError(f"{label}: missing {', '.join(missing)}")
    unknown = sorted(set(item) - required - optional)
    if unknown:
        raise CorpusError(f"{label}: unknown field(s) {', '.join(map(str, unknown))}")
    out: dict[str, str] = {}
    for key, value in item.items():
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(f"{label}: '{key}' must be a non-empty string")
        out[str(key)] = value.strip()
    for key in ("meaning", "action"):
        if not out[key].endswith("."):
            raise CorpusError(f"{label}: '{key}' must be one sentence ending with '.'")
    return out


def _load_codes(source: Path | Traversable) -> tuple[CodeEntry, ...]:
    entries: list[CodeEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(_read_yaml(source, key="entries"), start=1):
        name = item.get("code") if isinstance(item, dict) else None
        label = f"{source}: entry {index}" + (f" ({name})" if name else "")
        values = _fields(item, label=label, required=_CODE_KEYS)
        code = values["code"]
        if not _CODE_EXACT.fullmatch(code):
            raise CorpusError(f"{label}: code must look like AWSXXX000E (upper case)")
        if code in seen:
            raise CorpusError(f"{label}: duplicate code {code}")
        seen.add(code)
        severity = _SEVERITY_BY_LETTER[code[-1]]
        if values["severity"] != severity:
            raise CorpusError(
                f"{label}: severity must be '{severity}' for a code ending in {code[-1]}"
            )
        entries.append(
            CodeEntry(
                code=code,
                severity=severity,
                meaning=values["meaning"],
                action=values["action"],
                source=values["source"],
            )
        )
    return tuple(entries)


def _load_patterns(source: Path | Traversable) -> tuple[ErrorPattern, ...]:
    patterns: list[ErrorPattern] = []
    for index, item in enumerate(_read_yaml(source, key="patterns"), start=1):
        name = item.get("name") if isinstance(item, dict) else None
        label = f"{source}: pattern {index}" + (f" ({name})" if name else "")
        values = _fields(item, label=label, required=_PATTERN_KEYS, optional=_PATTERN_OPTIONAL)
        if any(p.name == values["name"] for p in patterns):
            raise CorpusError(f"{label}: duplicate name")
        try:
            pattern = ErrorPattern(
                name=values["name"],
                regex=values["regex"],
                meaning=values["meaning"],
                action=values["action"],
                source=values["source"],
                refines=values.get("refines"),
            )
        except re.error as exc:
            raise CorpusError(f"{label}: invalid regex: {exc}") from exc
        if pattern.matches(""):
            raise CorpusError(f"{label}: regex matches the empty string")
        patterns.append(pattern)
    names = {p.name for p in patterns}
    for pattern in patterns:
        if pattern.refines is not None and pattern.refines not in names:
            raise CorpusError(
                f"{source}: pattern ({pattern.name}): refines unknown pattern '{pattern.refines}'"
            )
    return tuple(patterns)


def load_corpus(directory: Path | Traversable) -> Corpus:
    """Load and validate a corpus directory holding ``codes.yaml`` and ``patterns.yaml``.

    Args:
        directory: The folder (a path or a package resource).

    Returns:
        The validated corpus.

    Raises:
        CorpusError: A file is missing or not YAML, or an entry is invalid; the message
            names the file and the entry.
    """
    return Corpus(
        codes=_load_codes(directory / CODES_FILE),
        patterns=_load_patterns(directory / PATTERNS_FILE),
    )


@functools.cache
def corpus() -> Corpus:
    """The shipped corpus, loaded from package data once per process.

    Returns:
        The validated corpus.

    Raises:
        CorpusError: The shipped files are broken (a packaging or editing mistake).
    """
    return load_corpus(files("knowledge") / "corpus")


def lookup_code(code: str) -> CodeEntry | None:
    """What an AWS message code means.

    Args:
        code: A code such as ``AWSBHT001E``, any case.

    Returns:
        The entry, or None when the corpus does not know the code.
    """
    return corpus().code(code)


def explain_codes(text: str) -> list[CodeEntry]:
    """The known AWS codes in ``text``, in order of first appearance, each once.

    Args:
        text: Any text, typically a job log or an API error message.

    Returns:
        The entries of the known codes; unknown codes are left out.
    """
    known = corpus()
    found: dict[str, CodeEntry] = {}
    for match in _CODE_RE.finditer(text):
        entry = known.code(match.group(0))
        if entry is not None and entry.code not in found:
            found[entry.code] = entry
    return list(found.values())


def lookup_error_pattern(text: str) -> list[ErrorPattern]:
    """The symptom patterns that occur anywhere in ``text``, most specific first.

    A pattern that refines another (``ORA-01555`` refines the generic ``ORA-`` error)
    comes before it; patterns of equal specificity follow their first match in the text.

    Args:
        text: Any text, typically a job log.

    Returns:
        The matching patterns, each once.
    """
    known = corpus()
    hits: list[tuple[int, int, int, ErrorPattern]] = []
    for order, pattern in enumerate(known.patterns):
        offset = pattern.first_match(text)
        if offset is not None:
            hits.append((-known.depth(pattern), offset, order, pattern))
    hits.sort(key=lambda hit: hit[:3])
    return [hit[3] for hit in hits]
