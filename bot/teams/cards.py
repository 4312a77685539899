"""Render a `Reply` as an Adaptive Card 1.5 for Teams.

The card mirrors the reply block by block: a ``TextBlock`` headline coloured by `Tone`, a
``FactSet`` for `Fields`, a ``Table`` element for `Table`, a monospace ``TextBlock`` for
`Preformatted`, a small subtle ``TextBlock`` for `Context`, an ``Image`` (``data:`` URI) for
`Image`, and an ``ActionSet`` of
``Action.Execute`` buttons (Universal Actions; each carries an ``Action.Submit`` fallback
for older clients). All text is escaped with `escape_markdown`.

Long replies arrive already paged by the chat core (`bot.core.paging`: the rest waits behind
its neutral "More" button, rendered like any other). Teams refuses messages over about
28 KB, so `render_card` still keeps the card JSON under a budget as a last resort: a table
shows as many rows as fit and says "Showing n of m rows.".

A note for one person (the clicker's view of a card, `bot.teams.clicks`) is rendered under
the card as small print coloured by its tone. `image_card` shows a PNG (a chart) inline.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Final

import agents.messages as kinds
from agents.messages import Block, Reply, Tone
from bot.teams.escape import escape_markdown, neutralise_text

__all__ = [
    "CARD_BUDGET_BYTES",
    "CARD_CONTENT_TYPE",
    "DATA_MARKER",
    "CardPage",
    "card_size",
    "image_card",
    "render_card",
]

CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
CARD_BUDGET_BYTES: Final = 24_000  # Teams' limit is ~28 KB for the whole activity
DATA_MARKER: Final = "resync"  # key present in every button's data: ours, not someone else's
_MAX_PREFORMATTED: Final = 12_000
_MAX_FALLBACK: Final = 2_000
_COLOR: Final = {
    Tone.INFO: "Default",
    Tone.SUCCESS: "Good",
    Tone.WARNING: "Warning",
    Tone.ERROR: "Attention",
}
_STYLE: Final = {"primary": "positive", "danger": "destructive", None: "default"}


@dataclass(frozen=True, slots=True)
class CardPage:
    """A rendered card.

    Attributes:
        card: The Adaptive Card JSON (a dict ready for an attachment).
        truncated: Rows of the first table were left out to fit the size budget.
    """

    card: dict[str, Any]
    truncated: bool = False


def card_size(card: dict[str, Any]) -> int:
    """Bytes of the card as JSON (what counts against Teams' message size limit).

    Args:
        card: The card.

    Returns:
        The UTF-8 length of its compact JSON.
    """
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode())


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": escape_markdown(text), "wrap": True, **extra}


def _cell(text: str, *, header: bool = False) -> dict[str, Any]:
    block = _text(text.replace("\n", " "))
    if header:
        block["weight"] = "Bolder"
    return {"type": "TableCell", "items": [block]}


def _row(row: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "TableRow", "cells": [_cell(c) for c in row]}


def _table(block: kinds.Table, rows: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    return {
        "type": "Table",
        "firstRowAsHeader": True,
        "showGridLines": True,
        "columns": [{"width": 1} for _ in block.columns],
        "rows": [
            {"type": "TableRow", "cells": [_cell(c, header=True) for c in block.columns]},
            *(_row(row) for row in rows),
        ],
    }


def _button_data(button: kinds.Button, *, card_id: str | None) -> dict[str, Any]:
    return {
        DATA_MARKER: 1,
        "card": card_id,
        "action_id": button.action_id,
        "value": button.value,
    }


def _action(title: str, verb: str, data: dict[str, Any], style: str) -> dict[str, Any]:
    submit = {"type": "Action.Submit", "title": title, "data": {**data, "verb": verb}}
    if style != "default":
        submit["style"] = style
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": data,
        "fallback": submit,
    }
    if style != "default":
        action["style"] = style
    return action


def _actions(buttons: tuple[kinds.Button, ...], *, card_id: str | None) -> dict[str, Any]:
    return {
        "type": "ActionSet",
        "actions": [
            _action(
                neutralise_text(b.label)[:60],
                b.action_id,
                _button_data(b, card_id=card_id),
                _STYLE[b.style],
            )
            for b in buttons
        ],
    }


def _fallback_text(reply: Reply) -> str:
    text = reply.plain_text()
    if len(text) > _MAX_FALLBACK:
        text = text[: _MAX_FALLBACK - 1] + "…"
    return escape_markdown(text)


def _static(block: Block, *, card_id: str | None) -> dict[str, Any] | None:
    if isinstance(block, kinds.Paragraph):
        return _text(block.text)
    if isinstance(block, kinds.Fields):
        return {
            "type": "FactSet",
            "facts": [
                {"title": escape_markdown(label), "value": escape_markdown(value)}
                for label, value in block.items
            ],
        }
    if isinstance(block, kinds.Preformatted):
        text = block.text
        if len(text) > _MAX_PREFORMATTED:
            text = "…" + text[-(_MAX_PREFORMATTED - 1) :]  # the end of a log matters most
        return _text(text, fontType="Monospace", size="Small")
    if isinstance(block, kinds.Context):
        return _text(" · ".join(block.items), size="Small", isSubtle=True)
    if isinstance(block, kinds.Actions):
        return _actions(block.buttons, card_id=card_id) if block.buttons else None
    if isinstance(block, kinds.Image):
        return _image(block.data, alt=block.alt)
    return None


def _image(data: str, *, alt: str) -> dict[str, Any]:
    """A PNG inline as a ``data:`` URI (the caller keeps it small: the card limit is ~28 KB)."""
    return {
        "type": "Image",
        "url": "data:image/png;base64," + data,
        "altText": neutralise_text(alt)[:200],
        "size": "Stretch",
    }


def _note(note: Reply) -> list[dict[str, Any]]:
    """A note for one person, under the card: small print in the note's colour."""
    lines = note.plain_text().split("\n", 1)
    shown = [_text(lines[0], size="Small", color=_COLOR[note.tone], separator=True)]
    if len(lines) > 1 and lines[1].strip():
        shown.append(_text(lines[1], size="Small", isSubtle=True))
    return shown


def render_card(
    reply: Reply,
    *,
    card_id: str | None = None,
    note: Reply | None = None,
    budget_bytes: int = CARD_BUDGET_BYTES,
) -> CardPage:
    """Render a reply as an Adaptive Card 1.5 that fits Teams' size limit.

    Args:
        reply: What to show.
        card_id: Id under which the reply is stored; buttons carry it back.
        note: A note for the one person who sees this copy (e.g. the clicker's answer).
        budget_bytes: Most bytes the card JSON may take.

    Returns:
        The card, and whether table rows were left out to fit.
    """
    body: list[dict[str, Any]] = [
        _text(
            reply.headline,
            size="Medium",
            weight="Bolder",
            color=_COLOR[reply.tone],
        )
    ]
    table_at: int | None = None
    table_block: kinds.Table | None = None
    for block in reply.blocks:
        if isinstance(block, kinds.Table):
            if table_block is None:
                table_at, table_block = len(body), block
                body.append({})  # placeholder, filled below
            else:  # later tables: first rows only
                body.append(_table(block, block.rows[:20]))
            continue
        element = _static(block, card_id=card_id)
        if element is not None:
            body.append(element)
    if note is not None:
        body.extend(_note(note))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "fallbackText": _fallback_text(reply),
        "body": body,
    }
    if table_block is None or table_at is None:
        return CardPage(card=card)
    return _fit_table(card, table_at, table_block, budget_bytes)


def _fit_table(card: dict[str, Any], at: int, block: kinds.Table, budget: int) -> CardPage:
    body: list[dict[str, Any]] = card["body"]
    total = block.total if block.total is not None else len(block.rows)

    def extras(count: int) -> list[dict[str, Any]]:
        if count >= total:
            return []
        return [_text(f"Showing {count} of {total} rows.", size="Small", isSubtle=True)]

    # Size with an empty table and the longest possible note, then add rows while they fit.
    body[at : at + 1] = [_table(block, ()), *extras(0)]
    used = card_size(card) + len(str(total)) + 2
    del body[at + 1 : at + 1 + len(extras(0))]
    count = 0
    for row in block.rows:
        cost = card_size({"r": _row(row)}) - 6 + 1  # the row's JSON plus a comma
        if count and used + cost > budget:
            break
        used += cost
        count += 1
    body[at : at + 1] = [_table(block, block.rows[:count]), *extras(count)]
    return CardPage(card=card, truncated=count < len(block.rows))


def image_card(png: bytes, *, title: str) -> dict[str, Any]:
    """An Adaptive Card showing a PNG inline, as a ``data:`` URI (no upload needed).

    Args:
        png: The image.
        title: What it shows (headline and alt text).

    Returns:
        The card JSON.
    """
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "fallbackText": escape_markdown(title[:200]),
        "body": [
            _text(title[:200], weight="Bolder"),
            _image(base64.b64encode(png).decode("ascii"), alt=title),
        ],
    }
