"""`Pager`: long replies split into pages, the rest kept behind a "More" button.

The split is platform-neutral (rows of tables, lines of preformatted text, whole blocks),
sized so that one page always renders within both Slack's (50 blocks, 3,000 characters a
section) and Teams' (about 28 KB a card) limits; each renderer still truncates as a last
resort. Later pages are stored for a day; the More button's value is ``pages_id:n``, and a
click on it posts page n in the thread (once per page, however often it is clicked).
"""

from __future__ import annotations

import json
import uuid
from typing import Final

from agents.messages import Actions, Block, Button, Context, Preformatted, Reply, Table
from integrations.store import Store

__all__ = ["MORE_ACTION_ID", "PAGE_CHARS", "PAGE_ROWS", "Pager", "split_pages"]

MORE_ACTION_ID: Final = "resync.more"
PAGE_ROWS: Final = 40
PAGE_CHARS: Final = 8_000
PAGES_TTL_SECONDS: Final = 24 * 3600.0


def _size(block: Block) -> int:
    if isinstance(block, Table):
        return sum(len(cell) + 3 for row in block.rows for cell in row) + len(block.rows) * 2
    return len(Reply(headline="", blocks=(block,)).plain_text())


def _pieces(block: Block, *, rows: int, chars: int) -> list[Block]:
    """Cut one block into pieces that each fit a page."""
    if isinstance(block, Table) and (len(block.rows) > rows or _size(block) > chars):
        total = block.total if block.total is not None else len(block.rows)
        pieces: list[Block] = []
        current: list[tuple[str, ...]] = []
        used = 0
        for row in block.rows:
            cost = sum(len(cell) + 3 for cell in row) + 2
            if current and (len(current) >= rows or used + cost > chars):
                pieces.append(block.model_copy(update={"rows": tuple(current), "total": total}))
                current, used = [], 0
            current.append(row)
            used += cost
        pieces.append(block.model_copy(update={"rows": tuple(current), "total": total}))
        return pieces
    if isinstance(block, Preformatted) and len(block.text) > chars:
        lines = block.text.splitlines()
        out: list[Block] = []
        chunk: list[str] = []
        used = 0
        for line in lines:
            line = line[:chars]
            if chunk and used + len(line) + 1 > chars:
                out.append(Preformatted(text="\n".join(chunk)))
                chunk, used = [], 0
            chunk.append(line)
            used += len(line) + 1
        out.append(Preformatted(text="\n".join(chunk)))
        return out
    return [block]


def split_pages(reply: Reply, *, rows: int = PAGE_ROWS, chars: int = PAGE_CHARS) -> list[Reply]:
    """Split a reply into pages; small print (context) stays on the first page.

    Args:
        reply: The whole reply.
        rows: Most table rows on one page.
        chars: Most characters of body text on one page.

    Returns:
        At least one page. Page 1 keeps the headline; later pages say "(page i of n)".
    """
    body = [piece for block in reply.blocks for piece in _pieces(block, rows=rows, chars=chars)]
    pages: list[list[Block]] = [[]]
    used = 0
    rows_used = 0
    for block in body:
        size = _size(block)
        block_rows = len(block.rows) if isinstance(block, Table) else 0
        full = used + size > chars or rows_used + block_rows > rows
        if pages[-1] and full and not isinstance(block, Context | Actions):
            pages.append([])
            used, rows_used = 0, 0
        pages[-1].append(block)
        used += size
        rows_used += block_rows
    if len(pages) == 1:
        return [reply]
    count = len(pages)
    out = [reply.model_copy(update={"blocks": tuple(pages[0])})]
    for number, blocks in enumerate(pages[1:], start=2):
        headline = f"(page {number} of {count}) {reply.headline}"
        out.append(reply.model_copy(update={"headline": headline, "blocks": tuple(blocks)}))
    return out


def _with_more(page: Reply, *, value: str, remaining: int) -> Reply:
    label = f"More ({remaining} more page{'s' if remaining != 1 else ''})"
    more = Actions(buttons=(Button(action_id=MORE_ACTION_ID, label=label, value=value),))
    return page.model_copy(update={"blocks": (*page.blocks, more)})


class Pager:
    """Stores the later pages of long replies and hands them out one by one."""

    def __init__(self, *, store: Store, rows: int = PAGE_ROWS, chars: int = PAGE_CHARS) -> None:
        """Create a pager.

        Args:
            store: Where later pages wait (shared by replicas when Redis).
            rows: Most table rows on one page.
            chars: Most characters of body text on one page.
        """
        self._store = store
        self._rows = rows
        self._chars = chars

    async def first_page(self, reply: Reply) -> Reply:
        """Page 1 of a reply; the rest is stored behind a More button.

        Args:
            reply: The whole reply.

        Returns:
            The reply itself when it fits one page, else its first page with a More button.
        """
        pages = split_pages(reply, rows=self._rows, chars=self._chars)
        if len(pages) == 1:
            return reply
        pages_id = uuid.uuid4().hex
        stored = json.dumps([page.model_dump(mode="json") for page in pages])
        await self._store.put(f"pages:{pages_id}", stored, ttl_seconds=PAGES_TTL_SECONDS)
        return _with_more(pages[0], value=f"{pages_id}:1", remaining=len(pages) - 1)

    async def page(self, value: str) -> tuple[str, Reply, Reply] | None:
        """The page a More button points at, and the page that held the button.

        Args:
            value: The button's value, ``pages_id:n`` (untrusted).

        Returns:
            ``(pages_id:n, page n, page n-1)``: page n with a More button when more follow,
            page n-1 without one (to replace the clicked message); None when the pages
            expired or the value is not one of ours.
        """
        pages_id, _, number = value.partition(":")
        if not pages_id or not pages_id.isalnum() or not number.isdigit():
            return None
        stored = await self._store.get(f"pages:{pages_id}")
        if not stored:
            return None
        pages = [Reply.model_validate(page) for page in json.loads(stored)]
        index = int(number)
        if not 0 < index < len(pages):
            return None
        page = pages[index]
        if index + 1 < len(pages):
            page = _with_more(
                page, value=f"{pages_id}:{index + 1}", remaining=len(pages) - index - 1
            )
        return f"{pages_id}:{index}", page, pages[index - 1]
