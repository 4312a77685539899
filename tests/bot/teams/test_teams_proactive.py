"""Proactive posts: a new post in a channel, then replies in its thread, from any replica."""

from __future__ import annotations

import json

import pytest
from teams_support import (
    BOT_ID,
    CHANNEL,
    TENANT,
    EchoAsker,
    RecordingAudit,
    card_of,
    message,
    running_bot,
)

from agents.messages import Reply, Tone
from bot.dispatch import Dispatcher
from bot.teams import NoConversationError, TeamsSurface
from config.settings import Settings


def _installed(service_url: str) -> dict[str, object]:
    """What Teams sends when the app is added to a team's channel."""
    return {
        "type": "conversationUpdate",
        "id": "cu-1",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": "29:admin", "aadObjectId": "aad-admin"},
        "conversation": {
            "id": CHANNEL,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        },
        "recipient": {"id": BOT_ID, "name": "Resync"},
        "membersAdded": [{"id": BOT_ID}],
        "channelData": {
            "tenant": {"id": TENANT},
            "team": {"id": CHANNEL},
            "eventType": "teamMemberAdded",
        },
    }


async def test_alert_starts_a_post_and_follow_ups_go_into_its_thread() -> None:
    async with running_bot() as bot:
        assert (await bot.post(_installed(bot.connector.url))).status == 200
        stored = json.loads(await bot.store.get(f"teams:ref:{CHANNEL}") or "{}")
        assert stored["serviceUrl"] == bot.connector.url
        assert stored["conversation"]["id"] == CHANNEL

        # another replica, sharing only the store, makes the posts
        replica = TeamsSurface(
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            dispatcher=Dispatcher(assistant=EchoAsker(), audit=None),
            audit=(audit := RecordingAudit()),
            store=bot.store,
            allow_unauthenticated=True,
        )
        try:
            alert = Reply(headline="PAYROLL_EXTRACT abended", tone=Tone.ERROR)
            root = await replica.post_to_channel(conversation_id=CHANNEL, reply=alert)
            (create,) = [c for c in bot.connector.calls if c.path == "/v3/conversations"]
            assert create.body["isGroup"] is True
            assert create.body["channelData"]["channel"]["id"] == CHANNEL
            assert create.body["channelData"]["tenant"]["id"] == TENANT
            assert card_of(create.body["activity"])["body"][0]["color"] == "Attention"
            assert root

            follow = Reply(headline="Rerun started")
            posted = await replica.post_to_channel(
                conversation_id=CHANNEL, reply=follow, thread_id=root
            )
            (in_thread,) = bot.connector.activities()
            assert in_thread.conversation_id == f"{CHANNEL};messageid={root}"
            assert card_of(in_thread.body)["body"][0]["text"] == "Rerun started"
            assert posted.startswith("act-")

            records = audit.of("teams.post")
            assert [r["outcome"] for r in records] == ["posted", "posted"]
            assert [r["thread"] for r in records] == [root, root]
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
        assert posted


async def test_unknown_conversation_says_what_to_do() -> None:
    async with running_bot() as bot:
        with pytest.raises(NoConversationError, match="install the Resync app"):
            await bot.surface.post_to_channel(
                conversation_id="19:never@thread.tacv2", reply=Reply(headline="x")
            )
        assert bot.connector.calls == []
        assert [r["outcome"] for r in bot.audit.of("teams.post")] == ["no_conversation"]
