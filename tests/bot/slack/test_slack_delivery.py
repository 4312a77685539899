"""Long answers, hostile text and Slack API errors, end to end against the mock Slack."""

from __future__ import annotations

import json
import time

import structlog.testing
from slack_sdk.web.async_client import AsyncWebClient
from slack_support import (
    EchoAsker,
    MockSlack,
    assert_valid_blocks,
    mention_envelope,
    serve,
    slack_harness,
)

from agents.messages import ChatEvent, Context, Fields, Paragraph, Preformatted, Reply, Table
from bot.slack.blocks import SlackMessage
from bot.slack.poster import PostContext, SlackPoster

HOSTILE = ("<!channel>", "<@U123>", "<http://evil.example|click>", "<!here>", "<#C999>")


def big_table(event: ChatEvent) -> Reply:
    rows = tuple((f"JOB_{n:03d}", "ABEND", f"MASTER#STREAM_{n % 7}") for n in range(500))
    return Reply(
        headline="500 jobs failed tonight.",
        blocks=(
            Table(columns=("Job", "Status", "Stream"), rows=rows),
            Context(items=("as of 02:00 UTC", "source: simulator")),
        ),
    )


async def test_oversized_answer_is_paginated_and_more_shows_every_row() -> None:
    async with slack_harness(asker=EchoAsker(big_table)) as h:
        await h.command("failed")
        await h.settle()
        (first,) = h.mock.of("chat.update")
        messages = [first]
        message = {"ts": first["ts"], "text": first["text"], "blocks": first["blocks"]}
        for n in range(20):
            more = [b for b in message["blocks"] if b["type"] == "actions"]
            if not more:
                break
            button = more[0]["elements"][0]
            assert button["action_id"] == "resync.more"
            await h.click(
                action_id=button["action_id"],
                value=button["value"],
                message=message,
                trigger=f"m{n}",
                action_ts=f"1.{n}",
            )
            # a double click on the same button must not post the page twice
            await h.click(
                action_id=button["action_id"],
                value=button["value"],
                message=message,
                trigger=f"m{n}b",
                action_ts=f"2.{n}",
            )
            await h.settle()
            page = h.mock.of("chat.postMessage")[-1]
            assert page["thread_ts"] == first["ts"]
            messages.append(page)
            message = {
                "ts": f"page-{n}",
                "thread_ts": first["ts"],  # Slack sends the thread of a message in a thread
                "text": page["text"],
                "blocks": page["blocks"],
            }
        assert len(messages) > 1
        assert len(h.mock.of("chat.postMessage")) == len(messages)  # placeholder + pages 2..n
        text = ""
        for sent in messages:
            assert_valid_blocks(sent["blocks"])
            assert len(sent["text"]) <= 4000
            assert len(json.dumps(sent["blocks"])) < 40_000
            for block in sent["blocks"]:
                if block["type"] == "section" and "text" in block:
                    assert len(block["text"]["text"]) <= 3000
                    text += block["text"]["text"]
        assert all(f"JOB_{n:03d}" in text for n in range(500))
        assert "as of 02:00 UTC" in json.dumps(messages[-1]["blocks"])
        for update in h.mock.of("chat.update")[1:]:  # clicked pages lose their More button
            assert_valid_blocks(update["blocks"])
            assert all(b["type"] != "actions" for b in update["blocks"])


async def test_expired_more_button_says_so() -> None:
    async with slack_harness() as h:
        message = {
            "ts": "5.5",
            "text": "x",
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "x"}}],
        }
        await h.click(action_id="resync.more", value="nope:1", message=message)
        await h.settle()
        (note,) = h.mock.of("chat.postEphemeral")
        assert "expired" in note["text"]


def hostile(event: ChatEvent) -> Reply:
    return Reply(
        headline=f"Job {HOSTILE[0]} failed & {HOSTILE[1]} *bold* _it_",
        blocks=(
            Paragraph(text=" ".join(HOSTILE)),
            Fields(items=((HOSTILE[2], HOSTILE[3]),)),
            Table(columns=("Job",), rows=tuple((h,) for h in HOSTILE)),
            Preformatted(text="log line ``` <!channel> ```"),
            Context(items=HOSTILE),
        ),
    )


async def test_mrkdwn_injection_arrives_escaped_everywhere() -> None:
    async with slack_harness(asker=EchoAsker(hostile)) as h:
        await h.command("status <!here> <@U999>")
        await h.event(mention_envelope("<@UBOT> status <!channel>", event_id="EvH"))
        await h.settle()
        sent = h.mock.of("chat.postMessage") + h.mock.of("chat.update")
        assert len(sent) == 4
        for message in sent:
            raw = json.dumps(message)
            for bad in (*HOSTILE, "<http", "<!", "<@"):
                assert bad not in raw, (bad, raw)
            assert_valid_blocks(message["blocks"])
        answer = json.dumps(h.mock.of("chat.update"))
        assert "&lt;!channel&gt;" in answer
        assert "&lt;http://evil.example|click&gt;" in answer
        assert "&amp;" in answer
        code = [
            b["text"]["text"]
            for b in h.mock.of("chat.update")[0]["blocks"]
            if b.get("text", {}).get("type") == "mrkdwn"
        ]
        assert all(c.count("```") == 2 for c in code)  # a log line cannot close the code block


async def test_channel_not_found_tells_the_waiting_person_via_response_url() -> None:
    async with slack_harness() as h:
        h.mock.fail("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
        with structlog.testing.capture_logs() as logs:
            await h.command("late")
            await h.settle()
        first, second = h.mock.responses
        assert "channel_not_found" in first["text"]
        assert "/invite" in first["text"]
        assert second["text"] == "You asked: what is late"
        assert second["response_type"] == "ephemeral"
        refused = [e for e in logs if e["event"] == "slack.api_error"]
        assert refused[0]["error"] == "channel_not_found"
        assert "/invite" in refused[0]["hint"]
        (question,) = h.audit.actions("question")  # answered, and recorded once
        assert question["outcome"] == "answered"


async def test_response_url_elsewhere_than_slack_is_ignored() -> None:
    other = MockSlack()  # another host (same address, other port): must get nothing
    async with slack_harness() as h, serve(other.app()) as other_url:
        h.mock.fail("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
        with structlog.testing.capture_logs() as logs:
            await h.command("late", response_url=other_url + "/response/r1")
            await h.settle()
        assert other.responses == []
        assert h.mock.responses == []
        assert len(h.asker.events) == 1  # the question itself was still handled
        refused = [e for e in logs if e["event"] == "slack.response_url_refused"]
        assert [e["host"] for e in refused] == ["127.0.0.1"]


def test_response_url_allowlist_is_slack_hooks_and_the_api_host() -> None:
    poster = SlackPoster(client=AsyncWebClient(base_url="http://127.0.0.1:8123/api/"))
    allowed = (
        "https://hooks.slack.com/commands/T1/1/abc",
        "https://HOOKS.slack.com:443/actions/T1/2/def",
        "http://127.0.0.1:8123/response/r1",
    )
    refused = (
        "http://hooks.slack.com/commands/T1/1/abc",
        "https://hooks.slack.com.evil.example/x",
        "https://evil.example/?https://hooks.slack.com/",
        "https://hooks.slack.com@evil.example/x",
        "https://user@hooks.slack.com/x",
        "http://127.0.0.1:8124/response/r1",
        "https://127.0.0.1:8123/response/r1",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://[::1/x",
        "not a url",
    )
    for url in allowed:
        assert poster.checked_response_url(url) == url, url
    for url in refused:
        assert poster.checked_response_url(url) == "", url


async def test_respond_to_a_refused_url_sends_nothing_and_is_logged() -> None:
    other = MockSlack()
    async with serve(other.app()) as other_url:
        poster = SlackPoster(client=AsyncWebClient(base_url="http://127.0.0.1:1/api/"))
        with structlog.testing.capture_logs() as logs:
            sent = await poster.respond(
                response_url=other_url + "/response/r1",
                message=SlackMessage(text="hi", blocks=[]),
                context=PostContext(actor=None, channel="C1", thread=None, event_id="e1"),
            )
    assert sent is False
    assert other.responses == []
    (refused,) = [e for e in logs if e["event"] == "slack.response_url_refused"]
    assert refused["host"] == "127.0.0.1"


async def test_invalid_auth_on_update_falls_back_to_a_new_post() -> None:
    async with slack_harness() as h:
        h.mock.fail("chat.update", body={"ok": False, "error": "message_not_found"})
        await h.event(mention_envelope("<@UBOT> late", event_id="EvU", ts="9.9"))
        await h.settle()
        posts = h.mock.of("chat.postMessage")
        assert [p["thread_ts"] for p in posts] == ["9.9", "9.9"]
        assert posts[-1]["text"] == "You asked: late"


async def test_rate_limited_by_slack_is_retried_after_retry_after() -> None:
    async with slack_harness() as h:
        h.mock.fail(
            "chat.postMessage",
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "1"},
        )
        started = time.perf_counter()
        await h.command("late")
        await h.settle()
        assert time.perf_counter() - started >= 1.0
        assert len(h.mock.of("chat.postMessage")) == 2  # the 429, then the retry
        assert len(h.mock.of("chat.update")) == 1
        assert h.mock.responses == []


async def test_users_info_failure_falls_back_to_the_payload_identity() -> None:
    async with slack_harness() as h:
        h.mock.fail("users.info", body={"ok": False, "error": "missing_scope"})
        await h.command("late")
        await h.settle()
        (event,) = h.asker.events
        assert event.actor.email is None
        assert event.actor.identity == "slack:U1"
        assert event.actor.display_name == "name-U1"
        await h.command("late", trigger="again")  # a failure is not cached; success is
        await h.settle()
        await h.command("late", trigger="again2")
        await h.settle()
        assert len(h.mock.of("users.info")) == 2
