"""The OQL subset the simulator understands (see `integrations.tws.paths`).

::

    expr    := [ term { "AND" term } ] [ "ORDER BY" field [ "ASC" | "DESC" ] ]
    term    := field "=" 'text' | field "LIKE" 'pattern' | field "IN" ( 'a', 'b' )

``%`` matches any run of characters and ``_`` one character. Comparisons are
case-sensitive, as names in the plan are upper case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["OqlError", "Query", "parse_oql"]

T = TypeVar("T")

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>=|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


class OqlError(ValueError):
    """The filter is not valid."""


@dataclass(frozen=True)
class _Term:
    field: str
    op: str
    values: tuple[str, ...]
    regex: re.Pattern[str] | None = None

    def test(self, value: str) -> bool:
        if self.op == "=":
            return value == self.values[0]
        if self.op == "IN":
            return value in self.values
        assert self.regex is not None
        return self.regex.fullmatch(value) is not None


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise OqlError(f"unexpected text at position {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


@dataclass(frozen=True)
class Query:
    """A parsed filter: terms joined by AND, and an optional order."""

    terms: tuple[_Term, ...]
    order_by: str | None
    descending: bool

    def exact_values(self, field: str) -> frozenset[str] | None:
        """The values an ``=`` or ``IN`` term allows for ``field`` (None: no such term).

        With several such terms on one field, an item must match all of them: the
        intersection. Callers use it to start from an index instead of every item.
        """
        out: frozenset[str] | None = None
        for term in self.terms:
            if term.field == field and term.op in ("=", "IN"):
                values = frozenset(term.values)
                out = values if out is None else out & values
        return out

    def apply(self, items: Sequence[T], value: Callable[[T, str], str]) -> list[T]:
        """Filter and sort items.

        Args:
            items: Candidates, in the engine's natural order.
            value: One field's value of one item (``name``, ``status``...); asked only for
                the fields the query names, so a costly field (a job's status) is computed
                only when filtered or ordered on.

        Returns:
            The matching items, ordered (all of ``items``, as a new list, when the query
            has neither terms nor order).
        """
        terms = self.terms
        if not terms:
            out = list(items)
        elif len(terms) == 1:
            term, name = terms[0], terms[0].field
            out = [i for i in items if term.test(value(i, name))]
        else:
            out = [i for i in items if all(t.test(value(i, t.field)) for t in terms)]
        if self.order_by is not None:
            key = self.order_by
            out.sort(key=lambda i: value(i, key), reverse=self.descending)
        return out


def parse_oql(text: str | None, allowed: Sequence[str]) -> Query:
    """Parse a filter.

    Args:
        text: The ``oql`` query parameter (None or blank: everything).
        allowed: Field names valid for this object type.

    Returns:
        The query.

    Raises:
        OqlError: Syntax error or unknown field.
    """
    tokens = _tokens(text or "")
    pos = 0

    def take(kind: str | None = None, word: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise OqlError("unexpected end of filter")
        k, v = tokens[pos]
        if kind is not None and k != kind:
            raise OqlError(f"unexpected {v!r}")
        if word is not None and v.upper() != word:
            raise OqlError(f"expected {word}, found {v!r}")
        pos += 1
        return v

    def peek_word(word: str) -> bool:
        return pos < len(tokens) and tokens[pos][0] == "word" and tokens[pos][1].upper() == word

    def field_name() -> str:
        name = take("word")
        if name not in allowed:
            raise OqlError(f"unknown field {name!r}; valid fields: {', '.join(allowed)}")
        return name

    def literal() -> str:
        return take("str")[1:-1].replace("''", "'")

    terms: list[_Term] = []
    order_by: str | None = None
    descending = False
    if tokens and not peek_word("ORDER"):
        while True:
            name = field_name()
            if pos < len(tokens) and tokens[pos] == ("op", "="):
                take()
                terms.append(_Term(name, "=", (literal(),)))
            elif peek_word("LIKE"):
                take()
                value = literal()
                terms.append(_Term(name, "LIKE", (value,), _like(value)))
            elif peek_word("IN"):
                take()
                take("op")
                values = [literal()]
                while pos < len(tokens) and tokens[pos] == ("op", ","):
                    take()
                    values.append(literal())
                if take("op") != ")":
                    raise OqlError("expected ')'")
                terms.append(_Term(name, "IN", tuple(values)))
            else:
                raise OqlError(f"expected =, LIKE or IN after {name}")
            if peek_word("AND"):
                take()
                continue
            break
    if peek_word("ORDER"):
        take()
        take("word", "BY")
        order_by = field_name()
        if peek_word("ASC") or peek_word("DESC"):
            descending = take().upper() == "DESC"
    if pos != len(tokens):
        raise OqlError(f"unexpected {tokens[pos][1]!r}")
    return Query(tuple(terms), order_by, descending)
