"""Building the OQL filters Resync sends (the subset documented in `integrations.tws.paths`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

__all__ = ["build_oql", "name_matches", "quote_literal"]


def quote_literal(value: str) -> str:
    """Quote a value as an OQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _name_term(field: str, value: str) -> str:
    if "*" in value or "?" in value:
        # `*` (any run) and `?` (one character) are what operators type, as in conman.
        pattern = value.replace("*", "%").replace("?", "_")
        return f"{field} LIKE {quote_literal(pattern)}"
    return f"{field} = {quote_literal(value)}"


def build_oql(
    *,
    name: str | None = None,
    job_stream: str | None = None,
    workstation: str | None = None,
    statuses: Sequence[str] | None = None,
    order_by: str | None = "name",
) -> str | None:
    """Build an OQL filter from what a question names.

    Args:
        name: Job (or job stream) name; ``*`` and ``?`` are wildcards.
        job_stream: Job stream name (jobs only); wildcards allowed.
        workstation: Workstation name; wildcards allowed.
        statuses: Internal statuses, any of which matches.
        order_by: Field to sort by, ascending; None for the engine's order.

    Returns:
        The filter, or None when nothing restricts the query and no order is asked.
    """
    terms: list[str] = []
    if name:
        terms.append(_name_term("name", name.upper()))
    if job_stream:
        terms.append(_name_term("jobStreamName", job_stream.upper()))
    if workstation:
        terms.append(_name_term("workstationName", workstation.upper()))
    if statuses:
        terms.append("status IN (" + ", ".join(quote_literal(s) for s in statuses) + ")")
    oql = " AND ".join(terms)
    if order_by:
        oql = f"{oql} ORDER BY {order_by} ASC".strip()
    return oql or None


def name_matches(pattern: str, name: str) -> bool:
    """Whether a name matches an operator's pattern exactly (case-insensitive).

    OQL ``LIKE`` treats ``_`` as a wildcard, and names are full of underscores, so the
    client re-checks what the engine returned. Only ``*`` and ``?`` are wildcards: a ``[``
    is a character of the name (fnmatch would read a set), or the engine's own answer for
    an exact name would be thrown away.
    """
    return fnmatch.fnmatchcase(name.upper(), pattern.upper().replace("[", "[[]"))
