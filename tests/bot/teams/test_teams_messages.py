"""Messages end to end: Bot Framework activities in at /api/messages, cards out at a fake connector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import structlog.testing
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
from bot.teams.identity import is_loopback_url, resolve_sender
from integrations.store import MemoryStore


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
        assert reply.authorization == "Bearer outbound-test-token"  # the app's own token
        (event,) = bot.asker.events
        assert event.actor.user_id == "aad-alice"
        assert event.actor.display_name == "Alice Smith"
        assert event.actor.email == "alice@contoso.com"
        assert event.channel_id == "a:personal-chat"
        assert event.thread_id is None
        (typing,) = bot.connector.typing()  # "Resync is typing…" while the answer is worked on
        assert typing.conversation_id == "a:personal-chat"
        assert bot.connector.calls.index(typing) < bot.connector.calls.index(reply)
        await bot.surface.drain()
        (record,) = bot.audit.of("chat.message")
        assert record["outcome"] == "accepted"
        assert record["platform"] == "teams"
        assert record["actor_identity"] == "alice@contoso.com"
        assert record["channel"] == "a:personal-chat"
        assert record["parameters"] == {"text": "status of PAYROLL", "kind": "message"}
        assert record["correlation"] == {"delivery_id": "m1"}
        (question,) = bot.audit.of("question")  # the dispatcher's own record
        assert question["outcome"] == "answered"


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
        await bot.surface.drain()  # everything either delivery started is done
        assert len(bot.connector.activities()) == 1
        assert len(bot.asker.events) == 1
        assert len(bot.audit.of("chat.message")) == 1


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
    for unauthenticated, no_url_status in ((False, 403), (True, 400)):
        async with running_bot(unauthenticated=unauthenticated) as bot:
            raw = await bot.session.post(f"{bot.url}/api/messages", data=b"not json")
            # authenticated: the token is checked before the body is even parsed
            assert raw.status == (400 if unauthenticated else 401)
            if bot.signer is not None:
                token = bot.signer.token(service_url=bot.connector.url)
                signed = await bot.session.post(
                    f"{bot.url}/api/messages",
                    data=b"[" * 100_000,  # not an activity (and too deep for json)
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert signed.status == 400
            no_url = message("hi", service_url=bot.connector.url)
            no_url.pop("serviceUrl")
            # signed: the token's serviceurl claim matches no serviceUrl (403); unsigned: 400
            assert (await bot.post(no_url)).status == no_url_status
            await bot.surface.drain()
            assert isinstance(bot.asker, EchoAsker)
            assert bot.asker.events == []
            assert bot.connector.calls == []


async def test_oversized_bodies_are_refused_with_or_without_a_length() -> None:
    async with running_bot(unauthenticated=True) as bot:
        big = message("x" * 600_000, service_url=bot.connector.url)
        assert (await bot.post(big)).status == 413  # Content-Length says so

        async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length
            data = json.dumps(big).encode()
            for start in range(0, len(data), 50_000):
                yield data[start : start + 50_000]

        chunked = await bot.session.post(f"{bot.url}/api/messages", data=chunks())
        assert chunked.status == 413
        small = json.dumps(message("hi", service_url=bot.connector.url)).encode()

        async def small_chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(small), 100):
                yield small[start : start + 100]

        assert (
            await bot.session.post(f"{bot.url}/api/messages", data=small_chunks())
        ).status == 200
        await bot.connector.wait_for(1)
        await bot.surface.drain()
        assert [e.text for e in bot.asker.events] == ["hi"]


async def test_connector_failure_is_logged_with_a_hint() -> None:
    async with running_bot() as bot:
        bot.connector.fail_status = 502
        with structlog.testing.capture_logs() as logs:
            await bot.post(message("status of X", service_url=bot.connector.url, activity_id="f1"))
            await bot.connector.wait_for(1)
            await bot.surface.drain()
        (failed,) = [e for e in logs if e["event"] == "teams.reply_failed"]
        assert failed["event_id"] == "f1"
        assert "502" in failed["error"]
        assert "try again" in failed["hint"]
        assert any(e["event"] == "chat.reply_undelivered" for e in logs)


# --- unauthenticated (local) mode ----------------------------------------------------------


async def test_unauthenticated_sender_is_only_their_teams_id() -> None:
    async with running_bot(unauthenticated=True) as bot:
        forged = message("hi", service_url=bot.connector.url, user_id="29:alice", aad="aad-boss")
        forged["from"]["email"] = "boss@contoso.com"
        assert (await bot.post(forged)).status == 200
        await bot.connector.wait_for(1)
        (event,) = bot.asker.events
        assert event.actor.identity == "teams:29:alice"  # not aad-boss, not boss@, not the UPN
        assert event.actor.email is None
        assert event.actor.display_name == "Alice Smith"  # name from the loopback lookup
        await eventually(lambda: bool(bot.audit.of("chat.message")))
        (record,) = bot.audit.of("chat.message")
        assert record["actor_identity"] == "teams:29:alice"


class _Members:
    """Stands in for `ConnectorClient`: records member lookups."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def get_member(
        self, *, service_url: str, conversation_id: str, member_id: str
    ) -> dict[str, Any]:
        self.lookups.append(service_url)
        return {"name": "Looked Up", "userPrincipalName": "someone@contoso.com"}


async def test_unauthenticated_member_lookup_goes_to_loopback_only() -> None:
    for service_url, looked_up in (
        ("http://10.0.0.5:8080/", False),
        ("https://smba.trafficmanager.net/amer/", False),
        ("http://169.254.169.254/latest/", False),
        ("http://127.0.0.1.evil.example/", False),
        ("http://127.0.0.1:3978/", True),
        ("http://localhost:3978/", True),
        ("http://[::1]:3978/", True),
    ):
        members = _Members()
        activity = message("hi", service_url=service_url, user_id="29:carol", name="Carol")
        with structlog.testing.capture_logs() as logs:
            sender = await resolve_sender(
                activity=activity,
                connector=cast(Any, members),
                store=MemoryStore(),
                authenticated=False,
            )
        actor = sender.actor
        assert not sender.verified
        assert bool(members.lookups) is looked_up, service_url
        assert actor.identity == "teams:29:carol"
        assert actor.email is None
        assert actor.display_name == ("Looked Up" if looked_up else "Carol")
        refused = [e for e in logs if e["event"] == "teams.member_lookup_refused"]
        assert bool(refused) is not looked_up, service_url


def test_is_loopback_url() -> None:
    assert is_loopback_url("http://127.0.0.1:9/")
    assert is_loopback_url("https://localhost/")
    assert is_loopback_url("http://[::1]/")
    for url in (
        "http://10.0.0.1/",
        "http://localhost.evil.example/",
        "http://user@127.0.0.1/",
        "ftp://127.0.0.1/",
        "http://127.0.0.1:notaport/",
        "",
    ):
        assert not is_loopback_url(url), url
