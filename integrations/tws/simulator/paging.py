"""Paged list answers, as the engine pages them: ``{count, results, next}`` by offset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from integrations.tws.simulator.request_args import int_param

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "page", "page_of"]

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def page(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    """Answer one page of a list as ``{count, results, next}``.

    Args:
        request: The request; its ``limit`` and ``offset`` pick the page.
        items: The whole list.

    Returns:
        The page, with ``next`` (the same query, next offset) while rows remain.

    Raises:
        RequestFailedError: ``limit`` or ``offset`` is not a number in range.
    """
    return page_of(request, items, lambda item: item)


def page_of(
    request: web.Request, items: Sequence[T], render: Callable[[T], dict[str, Any]]
) -> web.Response:
    """Like `page`, rendering only the rows of the page (a 50,000-job plan, 500 per page).

    Args:
        request: The request; its ``limit`` and ``offset`` pick the page.
        items: The whole list, not rendered yet.
        render: An item as JSON.

    Returns:
        The page, with ``next`` while rows remain.

    Raises:
        RequestFailedError: ``limit`` or ``offset`` is not a number in range.
    """
    limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_param(request, "offset", 0, 0, 10**9)
    rows = [render(item) for item in items[offset : offset + limit]]
    body: dict[str, Any] = {"count": len(items), "results": rows}
    if offset + limit < len(items):
        query = dict(request.query)
        query.update({"limit": str(limit), "offset": str(offset + limit)})
        body["next"] = str(request.url.with_query(query))
    return web.json_response(body)
