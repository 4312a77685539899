"""Render a `Reply` as Slack Block Kit messages, split into pages that respect Slack's limits.

Mapping::

    headline       section, plain_text, with a tone mark
    Paragraph      section(s), plain_text
    Fields         section(s) with up to 10 plain_text fields each
    Table          section(s) of monospaced rows (a mrkdwn code block)
    Preformatted   section(s) with a mrkdwn code block
    Context        context block of plain_text elements ("as of", source)
    Actions        actions block(s) of buttons
    Image          nothing: Slack shows images it hosts, so the sender uploads the PNG
                   (`bot.slack.port.SlackPort.upload_image`, e.g. `bot.watch.publisher`)

Every text from outside is escaped (`bot.slack.escape`) and measured after escaping. A
reply too long for one message is split into pages; `render_pages` returns them all and the
caller stores the rest behind a "More" button (`with_more`): nothing is cut silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from agents.messages import (
    Actions,
    Button,
    Context,
    Fields,
    Paragraph,
    Preformatted,
    Reply,
    Table,
    Tone,
)
from bot.render_text import neutralise_controls
from bot.slack.escape import escape, escape_code, truncate

__all__ = [
    "MAX_BLOCKS",
    "MAX_FALLBACK_CHARS",
    "MAX_TEXT",
    "SlackMessage",
    "fallback_text",
    "render_pages",
    "render_reply",
]

MAX_BLOCKS: Final = 50
MAX_TEXT: Final = 3000
MAX_FIELD: Final = 2000
MAX_FIELDS: Final = 10
MAX_CONTEXT_ELEMENTS: Final = 10
MAX_BUTTONS: Final = 25
MAX_BUTTON_LABEL: Final = 75
MAX_BUTTON_VALUE: Final = 2000
MAX_ACTION_ID: Final = 255
MAX_FALLBACK_CHARS: Final = 4000

# A page keeps to fewer blocks than Slack allows (room for the page note and the More button)
# and to a readable amount of text: a 500-row table becomes a few pages, not one wall.
_PAGE_BLOCKS: Final = MAX_BLOCKS - 3
_PAGE_CHARS: Final = 12_000
_CODE_FENCE: Final = "```"
_TONE_MARK: Final = {Tone.INFO: "", Tone.SUCCESS: "✅ ", Tone.WARNING: "⚠️ ", Tone.ERROR: "❌ "}
_MAX_CELL: Final = 60


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One Slack message: Block Kit blocks and the notification fallback text.

    Attributes:
        text: Plain fallback for notifications and screen readers, escaped, at most 4000 chars.
        blocks: Block Kit blocks as JSON-ready dicts.
    """

    text: str
    blocks: list[dict[str, Any]]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _split(text: str, limit: int) -> list[str]:
    """Split already-escaped text into pieces of at most ``limit`` chars, at newlines if possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
            amp = rest.rfind("&", max(cut - 5, 0), cut)
            if amp != -1 and ";" not in rest[amp:cut]:
                cut = amp
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _text_sections(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": _plain(piece)}
        for piece in _split(escape(text), MAX_TEXT)
        if piece.strip()
    ]


def _code_sections(lines: list[str], *, header: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Pack escaped lines into code-block sections of at most `MAX_TEXT` chars each.

    ``header`` lines (a table's heading) open every section so each page reads alone.
    """
    head_size = sum(len(h) + 1 for h in header)
    budget = MAX_TEXT - 2 * len(_CODE_FENCE) - 2 - head_size
    chunks: list[list[str]] = [[]]
    size = 0
    for raw in lines:
        for line in _split(raw, budget) if raw else [""]:
            if chunks[-1] and size + len(line) + 1 > budget:
                chunks.append([])
                size = 0
            chunks[-1].append(line)
            size += len(line) + 1
    if header:
        chunks = [[*header, *chunk] for chunk in chunks if chunk] or [list(header)]
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{_CODE_FENCE}\n" + "\n".join(chunk) + f"\n{_CODE_FENCE}",
            },
        }
        for chunk in chunks
        if chunk
    ]


def _cell(text: str) -> str:
    # Neutralised before splitting: str.split() would silently eat NEL and other controls.
    text = " ".join(neutralise_controls(text).split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _table_sections(block: Table) -> list[dict[str, Any]]:
    header = tuple(_cell(c) for c in block.columns)
    rows = [tuple(_cell(c) for c in row) for row in block.rows]
    widths = [
        max([len(header[i])] + [len(row[i]) for row in rows if i < len(row)])
        for i in range(len(header))
    ]

    def line(cells: tuple[str, ...]) -> str:
        return escape_code("  ".join(c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip())

    heading = (line(header), escape_code("  ".join("-" * w for w in widths)))
    sections = _code_sections([line(row) for row in rows], header=heading)
    if block.total is not None and block.total > len(block.rows):
        sections.append(
            {
                "type": "context",
                "elements": [_plain(f"Showing {len(block.rows)} of {block.total} rows.")],
            }
        )
    return sections


def _fields_sections(block: Fields) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = []
    items = list(block.items)
    for start in range(0, len(items), MAX_FIELDS):
        fields = [
            _plain(truncate(escape(f"{label}: {value}"), limit=MAX_FIELD))
            for label, value in items[start : start + MAX_FIELDS]
        ]
        sections.append({"type": "section", "fields": fields})
    return sections


def _context_blocks(block: Context) -> list[dict[str, Any]]:
    items = list(block.items)
    return [
        {
            "type": "context",
            "elements": [
                _plain(truncate(escape(item), limit=MAX_FIELD))
                for item in items[start : start + MAX_CONTEXT_ELEMENTS]
            ],
        }
        for start in range(0, len(items), MAX_CONTEXT_ELEMENTS)
        if items
    ]


def _button(button: Button) -> dict[str, Any]:
    if len(button.action_id) > MAX_ACTION_ID:
        raise ValueError(
            f"button action_id longer than {MAX_ACTION_ID} chars: {button.action_id[:40]}…"
        )
    if len(button.value) > MAX_BUTTON_VALUE:
        raise ValueError(
            f"button value longer than {MAX_BUTTON_VALUE} chars (store the payload, send its id)"
        )
    element: dict[str, Any] = {
        "type": "button",
        "action_id": button.action_id,
        "text": _plain(truncate(escape(button.label), limit=MAX_BUTTON_LABEL)),
        "value": button.value,
    }
    if button.style is not None:
        element["style"] = button.style
    return element


def _actions_blocks(block: Actions) -> list[dict[str, Any]]:
    buttons = [_button(b) for b in block.buttons]
    return [
        {"type": "actions", "elements": buttons[start : start + MAX_BUTTONS]}
        for start in range(0, len(buttons), MAX_BUTTONS)
    ]


def _body_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            blocks.extend(_text_sections(block.text))
        elif isinstance(block, Fields):
            blocks.extend(_fields_sections(block))
        elif isinstance(block, Table):
            blocks.extend(_table_sections(block))
        elif isinstance(block, Preformatted):
            lines = neutralise_controls(block.text).splitlines()  # no NEL, VT or FF breaks
            blocks.extend(_code_sections([escape_code(x) for x in lines]))
        elif isinstance(block, Context):
            blocks.extend(_context_blocks(block))
        elif isinstance(block, Actions):
            blocks.extend(_actions_blocks(block))
        # Image: skipped on purpose (see the module docstring).
    return blocks


def _size(block: dict[str, Any]) -> int:
    total = len(block.get("text", {}).get("text", ""))
    total += sum(len(f.get("text", "")) for f in block.get("fields", ()))
    for element in block.get("elements", ()):
        text = element.get("text")
        total += len(text) if isinstance(text, str) else 0
    return total


def fallback_text(reply: Reply) -> str:
    """The notification text of a reply: its plain text, escaped, trimmed to 4000 chars.

    Args:
        reply: The reply.

    Returns:
        Text safe for the ``text`` argument of ``chat.postMessage``.
    """
    return truncate(escape(reply.plain_text()), limit=MAX_FALLBACK_CHARS)


def render_pages(reply: Reply) -> list[SlackMessage]:
    """Render a reply as one or more messages, each within Slack's limits.

    Args:
        reply: The reply.

    Returns:
        The pages in order (at least one). Page 1 starts with the headline; later pages
        start with a note "(continued, page i of n)". None carries a More button: see
        `with_more`.
    """
    headline = _TONE_MARK[reply.tone] + reply.headline
    head = _text_sections(headline) or [{"type": "section", "text": _plain("…")}]
    pages: list[list[dict[str, Any]]] = [list(head)]
    chars = sum(_size(b) for b in head)
    for block in _body_blocks(reply):
        size = _size(block)
        if len(pages[-1]) >= _PAGE_BLOCKS or (chars + size > _PAGE_CHARS and len(pages[-1]) > 1):
            pages.append([])
            chars = 0
        pages[-1].append(block)
        chars += size
    count = len(pages)
    fallback = fallback_text(reply)
    messages: list[SlackMessage] = []
    for number, blocks in enumerate(pages, start=1):
        if count > 1:
            note = truncate(escape(f"Page {number} of {count} — {reply.headline}"), limit=MAX_FIELD)
            blocks = [*blocks, {"type": "context", "elements": [_plain(note)]}]
        text = (
            fallback
            if number == 1
            else truncate(
                escape(f"(page {number} of {count}) {reply.headline}"), limit=MAX_FALLBACK_CHARS
            )
        )
        messages.append(SlackMessage(text=text, blocks=blocks))
    return messages


def render_reply(reply: Reply) -> SlackMessage:
    """Render a reply that is known to fit one message (e.g. a short status note).

    Args:
        reply: The reply.

    Returns:
        The first page; use `render_pages` when the reply may be long.
    """
    return render_pages(reply)[0]
