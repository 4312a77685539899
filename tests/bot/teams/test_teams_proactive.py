"""Proactive posts: a new post in a channel, then replies in its thread, from any replica."""

from __future__ import annotations

import json

import structlog.testing
from teams_support import (
    BOT_ID,
    CHANNEL,
    TENANT,
    EchoAsker,
    RecordingAudit,
    card_of,
    installed,
    make_core,
    message,
    running_bot,
)

from agents.messages import Reply, Tone
from bot.progress import ProgressRouter
from bot.teams import TeamsSurface
from config.settings import Settings


async def test_alert_starts_a_post_and_follow_ups_go_into_its_thread() -> None:
    async with running_bot() as bot:
        assert (await bot.post(installed(bot.connector.url))).status == 200
        stored = json.loads(await bot.store.get(f"teams:ref:{CHANNEL}") or "{}")
        assert stored["serviceUrl"] == bot.connector.url
        assert stored["conversation"]["id"] == CHANNEL

        # another replica, sharing only the store, makes the posts
        audit = RecordingAudit()
        replica = TeamsSurface(
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            core=make_core(asker=EchoAsker(), audit=audit, store=bot.store),
            store=bot.store,
            allow_unauthenticated=True,
        )
        try:
            alert = Reply(headline="PAYROLL_EXTRACT abended", tone=Tone.ERROR)
            root = await replica.post_to_channel(
                conversation_id=CHANNEL, reply=alert, correlation={"alert_id": "a1"}
            )
            (create,) = [c for c in bot.connector.calls if c.path == "/v3/conversations"]
            assert create.body["isGroup"] is True
            assert create.body["channelData"]["channel"]["id"] == CHANNEL
            assert create.body["channelData"]["tenant"]["id"] == TENANT
            assert create.body["bot"]["id"] == BOT_ID
            assert card_of(create.body["activity"])["body"][0]["color"] == "Attention"
            assert root is not None
            assert (root.channel, root.thread) == (CHANNEL, root.message_id)

            follow = Reply(headline="Rerun started")
            posted = await replica.post_to_channel(
                conversation_id=CHANNEL, reply=follow, thread_id=root.message_id
            )
            (in_thread,) = bot.connector.activities()
            assert in_thread.conversation_id == f"{CHANNEL};messageid={root.message_id}"
            assert card_of(in_thread.body)["body"][0]["text"] == "Rerun started"
            assert posted is not None
            assert posted.message_id.startswith("act-")
            assert posted.thread == root.message_id

            records = audit.of("chat.post")
            assert [r["outcome"] for r in records] == ["posted", "posted"]
            assert [r["thread"] for r in records] == [None, root.message_id]
            assert records[0]["correlation"] == {"alert_id": "a1"}
            assert all(r["platform"] == "teams" and r["channel"] == CHANNEL for r in records)
        finally:
            await replica.stop()


async def test_personal_chat_posts_go_straight_into_the_chat() -> None:
    async with running_bot() as bot:
        await bot.post(message("hello", service_url=bot.connector.url))
        await bot.connector.wait_for(1)
        posted = await bot.surface.post_to_channel(
            conversation_id="a:personal-chat", reply=Reply(headline="FYI")
        )
        calls = bot.connector.activities()
        assert calls[-1].conversation_id == "a:personal-chat"
        assert calls[-1].activity_id is None
        assert posted is not None
        assert posted.thread is None  # chats have no threads


async def test_unknown_conversation_says_what_to_do() -> None:
    async with running_bot() as bot:
        with structlog.testing.capture_logs() as logs:
            posted = await bot.surface.post_to_channel(
                conversation_id="19:never@thread.tacv2", reply=Reply(headline="x")
            )
        assert posted is None
        (missing,) = [e for e in logs if e["event"] == "teams.no_conversation"]
        assert "install the Resync app" in missing["hint"]
        assert bot.connector.calls == []
        assert [r["outcome"] for r in bot.audit.of("chat.post")] == ["failed"]


async def test_runbook_progress_goes_into_the_thread_in_channels_and_the_chat_elsewhere() -> None:
    async with running_bot() as bot:
        url = bot.connector.url
        await bot.post(installed(url))
        await bot.post(message("hello", service_url=url))
        await bot.connector.wait_for(1)
        router = ProgressRouter()
        router.use(bot.core)
        router.register(bot.surface.port)
        for reply, request_id, channel, thread in (
            (Reply(headline="step 1/2: done"), "r1", CHANNEL, "root9"),
            (Reply(headline="done"), "r2", "a:personal-chat", "x"),
            (Reply(headline="lost"), "r3", None, None),
        ):
            await router(
                reply, request_id=request_id, platform="teams", channel=channel, thread=thread
            )
        calls = bot.connector.activities()[1:]
        assert [c.conversation_id for c in calls] == [
            f"{CHANNEL};messageid=root9",
            "a:personal-chat",
        ]
        records = bot.audit.of("chat.post")
        assert [r["correlation"] for r in records] == [{"request_id": "r1"}, {"request_id": "r2"}]
