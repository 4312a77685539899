"""End to end over HTTP: signed requests to Resync's /slack/events, Slack played by a mock."""

from __future__ import annotations

import json
import time
from typing import Any

from slack_support import (
    BOT_USER,
    EchoAsker,
    assert_valid_blocks,
    command_body,
    mention_envelope,
    slack_harness,
)

from agents.messages import Actions, Button, ChatEvent, ClickOutcome, Reply


async def test_slash_command_acks_then_looks_up_then_answers() -> None:
    async with slack_harness() as h:
        started = time.perf_counter()
        status, body = await h.command("status PAYROLL*")
        assert (status, body) == (200, "")
        assert time.perf_counter() - started < 1.0
        await h.settle()
        posts, updates = h.mock.of("chat.postMessage"), h.mock.of("chat.update")
        assert len(posts) == 1
        assert len(updates) == 1
        assert "Looking up" in posts[0]["text"]
        assert posts[0]["channel"] == "C1"
        assert "thread_ts" not in posts[0]
        assert updates[0]["text"] == "You asked: status of PAYROLL*"
        for message in (*posts, *updates):
            assert_valid_blocks(message["blocks"])
        (event,) = h.asker.events
        assert event.text == "status of PAYROLL*"
        assert event.actor.email == "u1@example.com"
        assert event.actor.display_name == "Person U1"
        assert event.channel_id == "C1"
        assert event.thread_id == updates[0]["ts"]  # follow-ups in the answer's thread continue it
        (admitted,) = h.audit.actions("chat.message")
        assert admitted["outcome"] == "accepted"
        assert admitted["actor_identity"] == "u1@example.com"
        assert admitted["platform"] == "slack"
        assert admitted["parameters"]["kind"] == "command"
        assert len(h.audit.actions("question")) == 1


async def test_subcommands_map_to_questions_and_unknown_text_goes_as_is() -> None:
    async with slack_harness() as h:
        for n, text in enumerate(
            ["why PAYROLL_CALC", "late", "failed", "", "frobnicate the WIDGET"]
        ):
            await h.command(text, trigger=f"t{n}")
        await h.settle()
        assert sorted(e.text for e in h.asker.events) == sorted(
            [
                "why did PAYROLL_CALC fail",
                "what is late",
                "what failed tonight?",
                "help",
                "frobnicate the WIDGET",
            ]
        )


async def test_mention_answers_in_thread_and_keeps_thread_context() -> None:
    async with slack_harness() as h:
        await h.event(
            mention_envelope(f"<@{BOT_USER}> status PAYROLL_CALC", event_id="Ev1", ts="111.1")
        )
        await h.event(
            mention_envelope(
                f"<@{BOT_USER}|resync> and why?", event_id="Ev2", ts="111.5", thread_ts="111.1"
            )
        )
        await h.settle()
        first, second = h.asker.events
        assert first.text == "status PAYROLL_CALC"
        assert second.text == "and why?"
        assert first.thread_id == second.thread_id == "111.1"
        assert first.conversation_key == second.conversation_key == "slack:C1:111.1"
        posts = h.mock.of("chat.postMessage")
        assert [p["thread_ts"] for p in posts] == ["111.1", "111.1"]
        assert len(h.mock.of("chat.update")) == 2
        assert [r["parameters"]["kind"] for r in h.audit.actions("chat.message")] == [
            "mention",
            "mention",
        ]


async def test_direct_message_is_answered_and_bot_messages_are_ignored() -> None:
    async with slack_harness() as h:
        dm = mention_envelope("what is late", event_id="EvDM", channel="D1")
        dm["event"].update(type="message", channel_type="im")
        own = mention_envelope("You asked: x", event_id="EvBot", channel="D1")
        own["event"].update(type="message", channel_type="im", bot_id="B1", user=BOT_USER)
        await h.event(dm)
        await h.event(own)
        await h.settle()
        assert [e.text for e in h.asker.events] == ["what is late"]
        assert h.mock.of("chat.postMessage")[0]["channel"] == "D1"


async def test_url_verification_answers_the_challenge() -> None:
    async with slack_harness() as h:
        status, body = await h.event(
            {"type": "url_verification", "challenge": "abc123", "token": "x"}
        )
        assert status == 200
        assert json.loads(body) == {"challenge": "abc123"}


async def test_bad_signature_stale_and_unsigned_requests_are_refused() -> None:
    async with slack_harness() as h:
        body = command_body("failed")
        form = "application/x-www-form-urlencoded"
        assert (await h.post(body, content_type=form, secret="wrong-secret"))[0] == 401
        assert (await h.post(body, content_type=form, timestamp=int(time.time()) - 301))[0] == 401
        assert (await h.post(body, content_type=form, timestamp=int(time.time()) + 301))[0] == 401
        async with h.session.post(
            h.url + "/slack/events", data=body, headers={"Content-Type": form}
        ) as r:
            assert r.status == 401
        # a body changed after signing
        from slack_support import signed_headers

        headers = {"Content-Type": form, **signed_headers(body)}
        async with h.session.post(
            h.url + "/slack/events", data=body + b"&x=1", headers=headers
        ) as r:
            assert r.status == 401
        await h.settle()
        assert [c.method for c in h.mock.calls] == ["auth.test"]  # at start, not from these
        assert h.asker.events == []
        assert h.audit.records == []


async def test_retries_and_replays_never_cause_a_second_effect() -> None:
    async with slack_harness() as h:
        envelope = mention_envelope(f"<@{BOT_USER}> failed", event_id="EvRetry")
        assert (await h.event(envelope))[0] == 200
        assert (
            await h.event(
                envelope, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            )
        )[0] == 200
        assert (await h.command("late", trigger="same"))[0] == 200
        assert (await h.command("late", trigger="same"))[0] == 200
        await h.settle()
        assert len(h.asker.events) == 2
        assert len(h.mock.of("chat.postMessage")) == 2
        assert len(h.mock.of("chat.update")) == 2


async def test_non_numeric_retry_header_is_treated_as_a_retry_not_a_500() -> None:
    async with slack_harness() as h:
        envelope = mention_envelope(f"<@{BOT_USER}> failed", event_id="EvOddRetry")
        assert (await h.event(envelope))[0] == 200
        for odd in ("abc", "-1", "1e9", "١", "99999999999999999999"):
            status, _ = await h.event(envelope, headers={"X-Slack-Retry-Num": odd})
            assert status == 200, odd
        await h.settle()
        assert len(h.asker.events) == 1  # the odd re-deliveries were deduped, not answered
        (accepted,) = h.audit.actions("chat.message")
        assert accepted["parameters"]["retry"] == 0


async def test_malformed_but_signed_body_is_a_400() -> None:
    async with slack_harness() as h:
        assert (await h.post(b"{not json", content_type="application/json"))[0] == 400
        assert (await h.post(b"payload=%7Bnope", content_type="application/x-www-form-urlencoded"))[
            0
        ] == 400


async def test_rate_limit_tells_the_person_privately() -> None:
    async with slack_harness() as h:
        for n in range(21):
            await h.command("late", trigger=f"r{n}")
        await h.settle()
        assert len(h.asker.events) == 20
        (note,) = h.mock.responses
        assert note["response_type"] == "ephemeral"
        assert "try again in" in note["text"]
        outcomes = [r["outcome"] for r in h.audit.actions("chat.message")]
        assert outcomes.count("rate_limited") == 1


async def test_button_click_becomes_a_click_and_updates_the_message() -> None:
    clicks: list[Any] = []

    async def on_click(click: Any) -> ClickOutcome | None:
        clicks.append(click)
        return ClickOutcome(
            updated_message=Reply(headline=f"Approved by {click.actor.display_name}"),
            thread_reply=Reply(headline=f"{click.verb}d by {click.actor.identity}"),
        )

    def answer(event: ChatEvent) -> Reply:
        buttons = (
            Button(action_id="runbook.approve", label="Approve", value="run-42", style="primary"),
        )
        return Reply(headline="Rerun PAYROLL_CALC?", blocks=(Actions(buttons=buttons),))

    async with slack_harness(asker=EchoAsker(answer), on_decision=on_click) as h:
        await h.command("rerun PAYROLL_CALC")
        await h.settle()
        (update,) = h.mock.of("chat.update")
        assert_valid_blocks(update["blocks"])
        button = update["blocks"][-1]["elements"][0]
        message = {"ts": update["ts"], "text": update["text"], "blocks": update["blocks"]}
        for _ in range(2):  # Slack re-delivers: the same trigger and action_ts count once
            await h.click(
                action_id=button["action_id"], value=button["value"], message=message, user="U7"
            )
        await h.settle()
        (click,) = clicks
        assert (click.action_id, click.value, click.actor.email) == (
            "runbook.approve",
            "run-42",
            "u7@example.com",
        )
        assert click.message_id == update["ts"]
        assert click.channel_id == "C1"
        shown = h.mock.of("chat.update")[-1]
        assert_valid_blocks(shown["blocks"])
        assert shown["ts"] == update["ts"]
        assert shown["text"] == "Approved by Person U7"
        assert h.mock.of("chat.postMessage")[-1]["text"] == "approved by u7@example.com"
        assert len(h.audit.actions("chat.click")) == 1
        (decided,) = h.audit.actions("click")
        assert decided["outcome"] == "decided"


async def test_client_built_from_settings_uses_slack_api_url() -> None:
    async with slack_harness(inject_client=False) as h:
        await h.command("late")
        await h.settle()
        (update,) = h.mock.of("chat.update")
        assert update["text"] == "You asked: what is late"
