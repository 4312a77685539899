"""Messages end to end: Bot Framework activities in at /api/messages, cards out at a fake connector."""

from __future__ import annotations

import asyncio

from teams_support import (
    EchoAsker,
    card_of,
    eventually,
    mention_of_bot,
    message,
    running_bot,
    texts,
)

from bot.teams.escape import escape_markdown


async def test_personal_chat_question_gets_a_card_reply_with_fallback() -> None:
    async with running_bot() as bot:
        response = await bot.post(
            message("status of PAYROLL", service_url=bot.connector.url, activity_id="m1")
        )
        assert response.status == 200
        (reply,) = await bot.connector.wait_for(1)
        assert reply.conversation_id == "a:personal-chat"
        assert reply.activity_id == "m1"  # a reply to the question
        assert reply.body["replyToId"] == "m1"
        card = card_of(reply.body)
        assert card["body"][0]["text"] == escape_markdown("You asked: status of PAYROLL")
        assert card["body"][0]["color"] == "Good"
        assert "You asked: status of PAYROLL" in card["fallbackText"]
        assert reply.body["summary"] == escape_markdown("You asked: status of PAYROLL")
        assert reply.authorization is None  # no app id: no outbound token
        (event,) = bot.asker.events
        assert event.actor.user_id == "aad-alice"
        assert event.actor.display_name == "Alice Smith"
        assert event.actor.email == "alice@contoso.com"
        assert event.channel_id == "a:personal-chat"
        assert event.thread_id is None
        await eventually(lambda: bool(bot.audit.of("teams.message")))
        (record,) = bot.audit.of("teams.message")
        assert record["outcome"] == "answered"
        assert record["platform"] == "teams"
        assert record["actor_identity"] == "alice@contoso.com"
        assert record["channel"] == "a:personal-chat"
        assert record["correlation"] == {"activity_id": "m1"}
        assert bot.audit.of("question")  # the dispatcher's own record


async def test_channel_mention_is_stripped_and_threads_are_conversations() -> None:
    async with running_bot() as bot:
        url = bot.connector.url
        thread_a = "19:ops@thread.tacv2;messageid=1700000000001"
        thread_b = "19:ops@thread.tacv2;messageid=1700000000002"
        for activity_id, conversation in (("c1", thread_a), ("c2", thread_a), ("c3", thread_b)):
            await bot.post(
                message(
                    "<at>Resync</at> what failed tonight?",
                    service_url=url,
                    activity_id=activity_id,
                    conversation_id=conversation,
                    conversation_type="channel",
                    entities=[mention_of_bot()],
                )
            )
        calls = await bot.connector.wait_for(3)
        events = sorted(bot.asker.events, key=lambda e: e.event_id)
        assert [e.text for e in events] == ["what failed tonight?"] * 3
        assert {e.channel_id for e in events} == {"19:ops@thread.tacv2"}
        assert [e.thread_id for e in events] == ["1700000000001", "1700000000001", "1700000000002"]
        keys = [e.conversation_key for e in events]
        assert keys[0] == keys[1] != keys[2]
        assert {c.conversation_id for c in calls} == {thread_a, thread_b}  # replies stay in thread


async def test_reply_to_id_marks_the_thread_in_group_chats() -> None:
    async with running_bot() as bot:
        await bot.post(
            message(
                "and its predecessors?",
                service_url=bot.connector.url,
                conversation_id="19:group@thread.v2",
                conversation_type="groupChat",
                reply_to="root-42",
            )
        )
        await bot.connector.wait_for(1)
        (event,) = bot.asker.events
        assert (event.channel_id, event.thread_id) == ("19:group@thread.v2", "root-42")


async def test_redelivered_activity_is_answered_once() -> None:
    async with running_bot() as bot:
        activity = message("status of X", service_url=bot.connector.url, activity_id="dup-1")
        first = await bot.post(activity)
        second = await bot.post(activity)
        assert (first.status, second.status) == (200, 200)
        await bot.connector.wait_for(1)
        await asyncio.sleep(0.2)
        assert len(bot.connector.activities()) == 1
        assert len(bot.asker.events) == 1
        assert len(bot.audit.of("teams.message")) == 1


async def test_markdown_mentions_and_links_from_users_are_inert() -> None:
    evil = "**x** [click](https://evil.example) <at>Boss</at> `y` _z_"
    async with running_bot() as bot:
        await bot.post(message(evil, service_url=bot.connector.url))
        (reply,) = await bot.connector.wait_for(1)
        card = card_of(reply.body)
        for text in [*texts(card), card["fallbackText"], reply.body["summary"]]:
            if text.startswith("teams:") or ("@" in text and "<" not in text):
                continue
            assert "](" not in text
            assert "https://" not in text
        shown = card["body"][1]["text"]
        assert shown == escape_markdown("**x** [click](https://evil.example) Boss `y` _z_")


async def test_member_lookup_failure_still_answers_without_email() -> None:
    async with running_bot(members={}) as bot:
        await bot.post(message("hi", service_url=bot.connector.url, name="Carol", aad="aad-carol"))
        await bot.connector.wait_for(1)
        (event,) = bot.asker.events
        assert event.actor.user_id == "aad-carol"
        assert event.actor.display_name == "Carol"
        assert event.actor.email is None
        assert event.actor.identity == "teams:aad-carol"


async def test_bad_requests_are_refused_before_any_work() -> None:
    async with running_bot() as bot:
        raw = await bot.session.post(f"{bot.url}/api/messages", data=b"not json")
        assert raw.status == 400
        no_url = message("hi", service_url=bot.connector.url)
        no_url.pop("serviceUrl")
        assert (await bot.post(no_url)).status == 400
        assert isinstance(bot.asker, EchoAsker)
        assert bot.asker.events == []


async def test_connector_failure_is_recorded_as_failed() -> None:
    async with running_bot() as bot:
        bot.connector.fail_status = 502
        await bot.post(message("status of X", service_url=bot.connector.url, activity_id="f1"))
        await bot.connector.wait_for(1)
        await eventually(lambda: bool(bot.audit.of("teams.message")))
        (record,) = bot.audit.of("teams.message")
        assert record["outcome"] == "failed"
        assert record["correlation"] == {"activity_id": "f1"}
