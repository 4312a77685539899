"""Engine JSON rows into models, where an unreadable row is a `TWSProtocolError`.

The parsers themselves live in `integrations.tws.wire`; this module only runs them and
turns what they raise into an error that names the call, so a bad row never escapes as a
bare ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from integrations.tws.errors import TWSProtocolError

__all__ = ["Json", "is_object", "parse_row", "parse_rows"]

T = TypeVar("T")
Json = Mapping[str, Any]


def is_object(value: Any) -> bool:
    """True when a decoded JSON value is an object.

    orjson decodes objects to dicts: ``type(value) is dict`` answers without the `Mapping`
    ABC check, which a big plan would otherwise run several times per row (tens of
    thousands of rows); any other `Mapping` still counts.

    Args:
        value: A decoded JSON value.

    Returns:
        Whether it is a JSON object.
    """
    return type(value) is dict or isinstance(value, Mapping)


def parse_row(row: Json, parse: Callable[[Json], T], *, call: str) -> T:
    """Parse one JSON object.

    Args:
        row: The object.
        parse: A `integrations.tws.wire` parser (``parse_job``, ...).
        call: The call that returned it, for the error.

    Returns:
        The parsed model.

    Raises:
        TWSProtocolError: The row lacks a field or holds a value the parser cannot read.
    """
    try:
        return parse(row)
    except (KeyError, ValueError, TypeError) as exc:
        raise TWSProtocolError(
            f"unreadable {parse.__name__.removeprefix('parse_')} ({type(exc).__name__}: {exc})",
            call=call,
        ) from exc


def parse_rows(rows: list[Any], parse: Callable[[Json], T], *, call: str) -> list[T]:
    """Parse every row of a list answer.

    Args:
        rows: The rows, as decoded from JSON.
        parse: A `integrations.tws.wire` parser.
        call: The call that returned them, for the error.

    Returns:
        The parsed models, in order.

    Raises:
        TWSProtocolError: A row is not a JSON object or cannot be parsed.
    """
    items: list[T] = []
    for row in rows:
        if not is_object(row):
            raise TWSProtocolError("a result is not a JSON object", call=call)
        items.append(parse_row(row, parse, call=call))
    return items
