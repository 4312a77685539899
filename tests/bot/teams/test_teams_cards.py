"""The Adaptive Card renderer: every block, tones, escaping, notes, images, the size budget."""

from __future__ import annotations

import base64
import json

from teams_support import actions, assert_valid_card, texts

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
from bot.core.paging import split_pages
from bot.teams.cards import card_size, image_card, render_card
from bot.teams.escape import escape_markdown

EVIL = "**BOLD** _it_ [click](https://evil.example/x) <at>Boss</at> `code` # head\n- item\n1. one\n> quote www.evil.example"


def test_every_block_renders_as_a_valid_1_5_card() -> None:
    reply = Reply(
        headline="3 jobs failed",
        tone=Tone.ERROR,
        blocks=(
            Paragraph(text="Since 18:00"),
            Fields(items=(("Workstation", "CPU1"), ("Stream", "PAYROLL"))),
            Table(columns=("Job", "Status"), rows=(("A", "ABEND"), ("B", "ABEND"))),
            Preformatted(text="line 1\nline 2"),
            Context(items=("as of 18:05", "simulator")),
            Actions(buttons=(Button(action_id="x.go", label="Go", value="v1", style="danger"),)),
        ),
    )
    page = render_card(reply, card_id="c1")
    card = page.card
    assert_valid_card(card)
    assert not page.truncated
    kinds = [element["type"] for element in card["body"]]
    assert kinds == [
        "TextBlock",
        "TextBlock",
        "FactSet",
        "Table",
        "TextBlock",
        "TextBlock",
        "ActionSet",
    ]
    headline = card["body"][0]
    assert headline["color"] == "Attention"
    assert headline["weight"] == "Bolder"
    assert card["body"][4]["fontType"] == "Monospace"
    assert card["body"][5]["isSubtle"] is True
    assert card["body"][5]["size"] == "Small"
    button = actions(card)[0]
    assert button["type"] == "Action.Execute"
    assert button["verb"] == "x.go"
    assert button["style"] == "destructive"
    assert button["data"] == {"resync": 1, "card": "c1", "action_id": "x.go", "value": "v1"}
    assert button["fallback"]["type"] == "Action.Submit"
    assert button["fallback"]["data"]["verb"] == "x.go"
    assert "3 jobs failed" in card["fallbackText"]


def test_tones_map_to_colours() -> None:
    colours = {
        tone: render_card(Reply(headline="h", tone=tone)).card["body"][0]["color"] for tone in Tone
    }
    assert colours == {
        Tone.INFO: "Default",
        Tone.SUCCESS: "Good",
        Tone.WARNING: "Warning",
        Tone.ERROR: "Attention",
    }


def test_markdown_mentions_and_links_are_inert() -> None:
    escaped = escape_markdown(EVIL)
    assert "<at>" not in escaped
    assert "</at>" not in escaped
    assert "[click](" not in escaped
    assert "https://" not in escaped  # auto-link broken by a zero-width space
    assert "www.evil" not in escaped
    assert "**" not in escaped
    assert "`code`" not in escaped
    assert "\n- item" not in escaped
    assert "\n1. one" not in escaped
    assert "\n> quote" not in escaped
    assert escaped.replace("\\", "").replace("\u200b", "") == EVIL


def test_every_text_in_a_card_is_escaped() -> None:
    reply = Reply(
        headline=EVIL,
        blocks=(
            Paragraph(text=EVIL),
            Fields(items=((EVIL, EVIL),)),
            Table(columns=(EVIL,), rows=((EVIL,),)),
            Preformatted(text=EVIL),
            Context(items=(EVIL,)),
        ),
    )
    card = render_card(reply).card
    assert_valid_card(card)
    for text in [*texts(card), card["fallbackText"]]:
        assert "<at>" not in text
        assert "](" not in text
        assert "https://" not in text


def test_core_pages_of_a_long_table_each_fit_one_card() -> None:
    rows = tuple((f"JOB_{i:05d}", "ABEND", "n" * 60) for i in range(300))
    reply = Reply(
        headline="300 jobs",
        blocks=(Table(columns=("Job", "Status", "Note"), rows=rows, total=300),),
    )
    pages = split_pages(reply)  # what the chat core sends, one page at a time
    assert len(pages) > 3
    seen: list[str] = []
    for number, page in enumerate(pages):
        rendered = render_card(page, card_id="big")
        if number in (0, len(pages) - 1):  # schema checks are slow on big cards
            assert_valid_card(rendered.card)
        assert not rendered.truncated  # the core's pages never need the last resort
        assert card_size(rendered.card) <= 24_000
        table = next(e for e in rendered.card["body"] if e["type"] == "Table")
        seen.extend(row["cells"][0]["items"][0]["text"] for row in table["rows"][1:])
        shown = len(table["rows"]) - 1
        assert f"Showing {shown} of 300 rows." in texts(rendered.card)
    assert seen == [escape_markdown(r[0]) for r in rows]


def test_an_oversized_table_is_cut_to_the_budget_as_a_last_resort() -> None:
    rows = tuple((f"JOB_{i:05d}", "ABEND", "n" * 200) for i in range(300))
    reply = Reply(
        headline="300 jobs", blocks=(Table(columns=("Job", "Status", "Note"), rows=rows),)
    )
    page = render_card(reply, card_id="big")
    assert page.truncated
    assert_valid_card(page.card)
    assert card_size(page.card) <= 24_000
    table = next(e for e in page.card["body"] if e["type"] == "Table")
    shown = len(table["rows"]) - 1
    assert 0 < shown < 300
    assert f"Showing {shown} of 300 rows." in texts(page.card)
    assert not actions(page.card)  # no Teams-only paging: the core pages replies


def test_a_note_goes_under_the_card_in_its_tone() -> None:
    note = Reply(
        headline="You cannot approve your own request.",
        tone=Tone.WARNING,
        blocks=(Paragraph(text="Ask someone in tws-operators."),),
    )
    reply = Reply(
        headline="Rerun?",
        blocks=(Actions(buttons=(Button(action_id="runbook.approve", label="Go", value="v"),)),),
    )
    card = render_card(reply, card_id="c1", note=note).card
    assert_valid_card(card)
    *_, headline, rest = card["body"]
    assert headline["text"] == escape_markdown(note.headline)
    assert headline["color"] == "Warning"
    assert headline["size"] == "Small"
    assert rest["text"] == "Ask someone in tws-operators."
    assert actions(card)  # the buttons stay


def test_image_card_shows_the_png_inline() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    card = image_card(png, title="Late jobs [today]")
    assert_valid_card(card)
    image = card["body"][1]
    assert image["type"] == "Image"
    assert image["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert image["altText"] == "Late jobs [today]"
    assert card["body"][0]["text"] == escape_markdown("Late jobs [today]")


def test_huge_preformatted_is_trimmed_and_fits() -> None:
    card = render_card(Reply(headline="log", blocks=(Preformatted(text="y" * 200_000),))).card
    assert_valid_card(card)
    assert len(json.dumps(card)) < 28_000
