"""Block Kit rendering, escaping, subcommands and signatures, without a network."""

from __future__ import annotations

import json
import re

import pytest
from slack_support import assert_valid_blocks

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
from bot.slack.blocks import fallback_text, render_pages
from bot.slack.commands import command_question
from bot.slack.escape import escape, escape_code, escape_mrkdwn, truncate
from bot.slack.verify import RequestVerifier, sign


def test_escape_neutralises_control_sequences_and_formatting() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape_mrkdwn("*b* _i_ ~s~ `c`") == "∗b∗ ＿i＿ ∼s∼ ˋcˋ"
    assert escape_code("```x```") == "ˋˋˋxˋˋˋ"
    assert truncate("a &amp; b", limit=6) == "a …"
    assert truncate("short", limit=10) == "short"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("help", "help"),
        ("", "help"),
        ("status PAYROLL*", "status of PAYROLL*"),
        ("STATUS PAYROLL*", "status of PAYROLL*"),
        ("why JOB_A", "why did JOB_A fail"),
        ("late", "what is late"),
        ("failed", "what failed tonight?"),
        ("deps PAYROLL_CALC", "what depends on PAYROLL_CALC"),
        ("preds PAYROLL_CALC", "predecessors of PAYROLL_CALC"),
        ("ws", "workstation status"),
        ("is PAYROLL late?", "is PAYROLL late?"),
    ],
)
def test_subcommands(text: str, question: str) -> None:
    assert command_question(text) == question


def test_every_kind_of_block_renders_valid_block_kit() -> None:
    reply = Reply(
        headline="Status of PAYROLL_DAILY",
        tone=Tone.WARNING,
        blocks=(
            Paragraph(text="line one\nline two"),
            Fields(items=tuple((f"Label {n}", f"value {n}") for n in range(23))),
            Table(columns=("Job", "Status"), rows=(("A", "SUCC"), ("B", "ABEND")), total=40),
            Preformatted(text="\n".join(f"log line {n}" for n in range(400))),
            Context(items=tuple(f"item {n}" for n in range(12))),
            Actions(
                buttons=(
                    Button(
                        action_id="approval.approve",
                        label="Approve " * 20,
                        value="v",
                        style="danger",
                    ),
                )
            ),
        ),
    )
    pages = render_pages(reply)
    for page in pages:
        assert_valid_blocks(page.blocks)
        assert len(page.text) <= 4000
    blocks = [b for p in pages for b in p.blocks]
    assert sum(len(b.get("fields", ())) for b in blocks) == 23
    assert any("Showing 2 of 40 rows." in str(b) for b in blocks)
    assert "⚠️ Status of PAYROLL_DAILY" in pages[0].blocks[0]["text"]["text"]


def test_huge_paragraph_is_split_not_cut() -> None:
    text = "x" * 9000 + "<" * 3000
    pages = render_pages(Reply(headline="h", blocks=(Paragraph(text=text),)))
    sections = [b["text"]["text"] for p in pages for b in p.blocks if b["type"] == "section"]
    joined = "".join(sections[1:])  # after the headline
    assert joined == escape(text)
    for page in pages:
        assert_valid_blocks(page.blocks)


def test_every_page_of_a_long_table_renders_as_one_valid_slack_message() -> None:
    rows = tuple((f"JOB_{i:04d}", "ABEND", "x" * 50) for i in range(500))
    reply = Reply(headline="500 jobs", blocks=(Table(columns=("job", "status", "why"), rows=rows),))
    pages = split_pages(reply)
    assert len(pages) > 1
    shown: list[str] = []
    for page in pages:
        # The core's pages always fit one Slack message: nothing is cut by the renderer.
        (message,) = render_pages(page)
        assert_valid_blocks(message.blocks)
        shown.extend(re.findall(r"JOB_\d{4}", json.dumps(message.blocks)))
    assert shown == [row[0] for row in rows]


def test_oversized_button_value_is_refused_loudly() -> None:
    reply = Reply(
        headline="h",
        blocks=(Actions(buttons=(Button(action_id="a", label="b", value="v" * 2001),)),),
    )
    with pytest.raises(ValueError, match="2000"):
        render_pages(reply)


def test_fallback_text_is_escaped_and_trimmed() -> None:
    reply = Reply(headline="<!here>", blocks=(Paragraph(text="y" * 5000),))
    text = fallback_text(reply)
    assert len(text) <= 4000
    assert text.startswith("&lt;!here&gt;")
    assert text.endswith("…")


def test_verifier() -> None:
    now = 1_700_000_000
    verifier = RequestVerifier(signing_secret="s", clock=lambda: now)
    body = b"a=1"
    good = {
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(signing_secret="s", timestamp=str(now), body=body),
    }
    assert verifier.verify(body=body, headers=good) is None
    assert verifier.verify(body=b"a=2", headers=good) == "bad signature"
    stale = {**good, "X-Slack-Request-Timestamp": str(now - 301)}
    assert verifier.verify(body=body, headers=stale) == "stale timestamp"
    assert verifier.verify(body=body, headers={}) == "missing signature headers"
    assert (
        verifier.verify(body=body, headers={**good, "X-Slack-Request-Timestamp": "x"})
        == "malformed timestamp"
    )
    assert verifier.verify(body=b"\xff\xfe", headers={**good}) == "bad signature"


def test_slack_enabled_and_api_url() -> None:
    from bot.slack import slack_enabled
    from bot.slack.surface import api_base_url
    from config.settings import Settings

    def settings(**kw: object) -> Settings:
        return Settings(_env_file=None, **kw)  # type: ignore[call-arg]

    assert not slack_enabled(settings())
    assert not slack_enabled(settings(slack_bot_token="xoxb-1"))
    assert slack_enabled(settings(slack_bot_token="xoxb-1", slack_signing_secret="s"))
    assert slack_enabled(settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1"))
    assert api_base_url(settings()) == "https://slack.com/api/"
    assert (
        api_base_url(settings(slack_api_url="https://proxy.example/slack/api/"))
        == "https://proxy.example/slack/api/"
    )
