"""Hostile job names and log lines on every surface: no control character (C0, DEL, C1) and
no bidirectional formatting character reaches Slack, Teams or the terminal; each becomes the
same visible marker (`bot.render_text.CONTROL_MARKER`), carriage returns become newlines."""

from __future__ import annotations

import io
import re

from hostile_support import BIDI, C0, C1, UNSAFE, hostile_reply
from slack_support import EchoAsker as SlackAsker
from slack_support import slack_harness
from teams_support import EchoAsker as TeamsAsker
from teams_support import card_of, message, running_bot

from agents.messages import ChatEvent, Reply
from bot.render_text import CONTROL_MARKER, neutralise_controls, render_text

ASKED = "status PAY\u200fROLL"
SHOWN_NAME = f"PAYROLL{CONTROL_MARKER}LX.TXE abended"
SHOWN_ASKED = f"PAY{CONTROL_MARKER}ROLL"
SHOWN_LOG = f"line 1{CONTROL_MARKER}]0;owned{CONTROL_MARKER}\nline 2\nline 3{CONTROL_MARKER}"


def _strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def _assert_harmless(shown: str) -> None:
    assert not sorted(hex(ord(c)) for c in UNSAFE & set(shown))
    assert SHOWN_NAME in shown
    assert SHOWN_ASKED in shown
    assert f"SUCC{CONTROL_MARKER * 2}2J" in shown  # a table cell: NEL is not a space


async def test_slack_shows_no_control_or_bidi_character() -> None:
    async with slack_harness(asker=SlackAsker(lambda e: hostile_reply(e.text))) as h:
        await h.command(ASKED)
        await h.settle()
        (answer,) = h.mock.of("chat.update")
    blocks = "\n".join(_strings(answer["blocks"]))
    _assert_harmless(blocks)
    _assert_harmless(answer["text"])  # the notification text
    assert SHOWN_LOG in blocks


class _Hostile(TeamsAsker):
    async def ask(self, event: ChatEvent) -> Reply:
        self.events.append(event)
        return hostile_reply(event.text)


async def test_teams_shows_no_control_or_bidi_character() -> None:
    async with running_bot(asker=_Hostile()) as bot:
        await bot.post(message(ASKED, service_url=bot.connector.url))
        (posted,) = await bot.connector.wait_for(1)
    strings = [*_strings(card_of(posted.body)), str(posted.body.get("summary"))]
    shown = re.sub(r"\\(.)", r"\1", "\n".join(strings))  # Teams markdown escapes removed
    _assert_harmless(shown)
    assert SHOWN_LOG in shown


def test_the_terminal_shows_no_control_or_bidi_character() -> None:
    out = io.StringIO()
    print(render_text(hostile_reply(ASKED)), file=out)
    shown = out.getvalue()
    _assert_harmless(shown)
    assert "\n".join(f"    | {line}" for line in SHOWN_LOG.splitlines()) in shown
    # The marker takes one column, like the character it replaces: the table stays aligned.
    rows = [line for line in shown.splitlines() if "ABEND" in line or "SUCC" in line]
    assert rows[0].index("ABEND") == rows[1].index("SUCC")


def test_one_rule_for_every_surface() -> None:
    cleaned = neutralise_controls(f"a{BIDI}b{C0}c{C1}d\te\r\nf")
    expected = "a" + CONTROL_MARKER * len(BIDI) + "b" + CONTROL_MARKER * len(C0) + "c"
    assert cleaned == expected + CONTROL_MARKER * len(C1) + "d\te\nf"
