"""Reading a whole list answer from the engine, page after page.

The engine answers lists as ``{count, results, next}`` (v1 sent a bare array). This module
follows ``next`` until the end or a limit, counts a row that moved between pages once,
and refuses a ``next`` chain that never ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from integrations.tws.errors import TWSProtocolError
from integrations.tws.transport import EngineTransport, describe_call

__all__ = ["read_all_pages"]

_MAX_PAGES = 1000  # a runaway `next` chain is a protocol error, not an endless loop


async def read_all_pages(
    transport: EngineTransport,
    path: str,
    *,
    page_size: int,
    oql: str | None = None,
    params: dict[str, str] | None = None,
    limit: int | None = None,
) -> tuple[list[Any], datetime]:
    """Read every page of a ``{count, results, next}`` answer (or a bare array).

    Args:
        transport: The engine to ask.
        path: The list's path.
        page_size: ``limit`` asked per page (less when ``limit`` is smaller).
        oql: An OQL filter.
        params: Other query parameters.
        limit: Stop after this many rows.

    Returns:
        The rows, undecoded, and the engine's clock at the first page.

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
    rows: list[Any] = []
    seen: set[object] = set()
    as_of: datetime | None = None
    for _ in range(_MAX_PAGES):
        if url is None:
            break
        answer = await transport.call("GET", url, params=query)
        as_of = as_of or answer.as_of
        body = answer.body
        if isinstance(body, list):  # v1-style bare array: one page
            rows.extend(body)
            break
        if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
            raise TWSProtocolError(
                "expected {count, results}", call=describe_call("GET", url, query)
            )
        for row in body["results"]:
            # Offset paging over a moving plan can show a row twice (it moved between
            # pages); count it once.
            key = row.get("id") if isinstance(row, Mapping) else None
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            rows.append(row)
        if limit is not None and len(rows) >= limit:
            return rows[:limit], as_of
        url = transport.local_path(body.get("next"), call=describe_call("GET", url, query))
        query = {}  # `next` carries its own query
    else:
        raise TWSProtocolError(f"more than {_MAX_PAGES} pages", call=f"GET {path}")
    return rows, as_of or datetime.now(UTC)
