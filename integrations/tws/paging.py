"""Reading a whole list answer from the engine, page after page.

The engine answers lists as ``{count, results, next}`` (v1 sent a bare array). This module
follows ``next`` until the end or a limit, counts a row that moved between pages once,
and refuses a ``next`` chain that never ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from integrations.tws.decoding import is_object
from integrations.tws.errors import TWSProtocolError
from integrations.tws.transport import EngineTransport, describe_call

__all__ = ["read_all_pages"]

T = TypeVar("T")

_MAX_PAGES = 1000  # a runaway `next` chain is a protocol error, not an endless loop


async def read_all_pages(
    transport: EngineTransport,
    path: str,
    *,
    page_size: int,
    parse: Callable[[list[Any]], list[T]],
    oql: str | None = None,
    params: dict[str, str] | None = None,
    limit: int | None = None,
) -> tuple[list[T], datetime]:
    """Read every page of a ``{count, results, next}`` answer (or a bare array).

    Each page is parsed as soon as it arrives, so the engine's JSON of a 50,000-job plan
    never sits in memory whole next to the models made from it.

    Args:
        transport: The engine to ask.
        path: The list's path.
        page_size: ``limit`` asked per page (less when ``limit`` is smaller).
        parse: Turns one page's rows (JSON, each row once) into models.
        oql: An OQL filter.
        params: Other query parameters.
        limit: Stop after this many rows.

    Returns:
        The parsed rows and the engine's clock at the first page.

    Raises:
        TWSProtocolError: An answer is not a list, ``next`` leaves the engine, or there are
            more than a thousand pages.
        TWSError: A call failed.
    """
    query: dict[str, str] = dict(params or {})
    if oql:
        query["oql"] = oql
    page = page_size if limit is None else max(1, min(page_size, limit))
    query["limit"] = str(page)
    url: str | None = path
    rows: list[T] = []
    seen: set[object] = set()
    as_of: datetime | None = None
    for _ in range(_MAX_PAGES):
        if url is None:
            break
        answer = await transport.call("GET", url, params=query)
        as_of = as_of or answer.as_of
        body = answer.body
        if isinstance(body, list):  # v1-style bare array: one page
            rows.extend(parse(body))
            break
        if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
            raise TWSProtocolError(
                "expected {count, results}", call=describe_call("GET", url, query)
            )
        fresh: list[Any] = []
        for row in body["results"]:
            # Offset paging over a moving plan can show a row twice (it moved between
            # pages); count it once.
            key = row.get("id") if is_object(row) else None
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            fresh.append(row)
        if limit is not None:
            fresh = fresh[: max(0, limit - len(rows))]
        rows.extend(parse(fresh))
        link = body.get("next")
        del answer, body, fresh  # this page's JSON is garbage from here on
        if limit is not None and len(rows) >= limit:
            return rows[:limit], as_of
        url = transport.local_path(link, call=describe_call("GET", url, query))
        query = {}  # `next` carries its own query
    else:
        raise TWSProtocolError(f"more than {_MAX_PAGES} pages", call=f"GET {path}")
    return rows, as_of or datetime.now(UTC)
