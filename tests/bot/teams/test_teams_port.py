"""`TeamsPort` against the fake connector: incident threads, inline charts, refusals."""

from __future__ import annotations

import pytest
import structlog.testing
from teams_support import BOT_ID, CHANNEL, TENANT, card_of, installed, running_bot, texts

from agents.messages import Platform, Reply
from bot.core.port import ChatPortError, Posted
from bot.teams.escape import escape_markdown
from bot.teams.port import IMAGE_MAX_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000


async def test_port_is_teams_and_verified_only_when_authenticated() -> None:
    async with running_bot() as bot:
        assert bot.surface.port.platform is Platform.TEAMS
        assert bot.surface.port.verified
    async with running_bot(unauthenticated=True) as bot:
        assert not bot.surface.port.verified


async def test_create_channel_starts_a_thread_in_the_parent_channel() -> None:
    async with running_bot() as bot:
        await bot.post(installed(bot.connector.url))
        port = bot.surface.port
        posted = await port.create_channel(
            name="INC-42: PAYROLL_EXTRACT abended",
            topic="Rerun pending approval",
            members=["alice@contoso.com", "bob@contoso.com"],
            parent=CHANNEL,
        )
        (create,) = [c for c in bot.connector.calls if c.path == "/v3/conversations"]
        assert create.body["channelData"]["channel"]["id"] == CHANNEL
        assert create.body["tenantId"] == TENANT
        assert create.body["bot"]["id"] == BOT_ID
        card = card_of(create.body["activity"])
        assert card["body"][0]["text"] == escape_markdown("INC-42: PAYROLL_EXTRACT abended")
        assert "Rerun pending approval" in texts(card)
        assert "For: alice@contoso.com, bob@contoso.com" in texts(card)
        assert posted.channel == CHANNEL
        assert posted.message_id
        assert posted.thread == posted.message_id

        follow = await port.post_in_thread(
            channel=posted.channel, thread=posted.thread, reply=Reply(headline="Rerun started")
        )
        (in_thread,) = bot.connector.activities()
        assert in_thread.conversation_id == f"{CHANNEL};messageid={posted.message_id}"
        assert follow is not None
        assert (follow.channel, follow.thread) == (CHANNEL, posted.thread)
        assert follow.message_id.startswith("act-")


async def test_create_channel_refuses_with_what_to_do() -> None:
    async with running_bot() as bot:
        port = bot.surface.port
        with pytest.raises(ChatPortError, match="Microsoft Graph"):
            await port.create_channel(name="INC-1", topic="", members=[], parent=None)
        with pytest.raises(ChatPortError, match="install the Resync app"):
            await port.create_channel(name="INC-1", topic="", members=[], parent=CHANNEL)
        await bot.post(installed(bot.connector.url))
        bot.connector.fail_status = 403
        with pytest.raises(ChatPortError, match="RESYNC_TEAMS_APP_ID"):
            await port.create_channel(name="INC-1", topic="", members=[], parent=CHANNEL)


async def test_upload_image_shows_the_png_inline_in_the_thread() -> None:
    async with running_bot() as bot:
        await bot.post(installed(bot.connector.url))
        posted = await bot.surface.port.upload_image(
            channel=CHANNEL, thread="root7", png=PNG, title="Late jobs today"
        )
        (sent,) = bot.connector.activities()
        assert sent.conversation_id == f"{CHANNEL};messageid=root7"
        image = card_of(sent.body)["body"][1]
        assert image["type"] == "Image"
        assert image["url"].startswith("data:image/png;base64,iVBORw0KGgo")
        assert posted == Posted(channel=CHANNEL, message_id="act-1000", thread="root7")


async def test_too_large_an_image_is_refused_without_a_call() -> None:
    async with running_bot() as bot:
        await bot.post(installed(bot.connector.url))
        with structlog.testing.capture_logs() as logs:
            posted = await bot.surface.port.upload_image(
                channel=CHANNEL, thread="root7", png=b"x" * (IMAGE_MAX_BYTES + 1), title="big"
            )
        assert posted is None
        assert bot.connector.activities() == []
        (refused,) = [e for e in logs if e["event"] == "teams.image_too_large"]
        assert "28 KB" in refused["hint"]


async def test_failures_are_logged_with_a_hint_not_raised() -> None:
    async with running_bot() as bot:
        await bot.post(installed(bot.connector.url))
        port = bot.surface.port
        with structlog.testing.capture_logs() as logs:
            replaced = await port.replace(
                Posted(channel=CHANNEL, message_id="not-ours"), Reply(headline="x")
            )
            bot.connector.fail_status = 429
            posted = await port.post_in_thread(
                channel=CHANNEL, thread="root7", reply=Reply(headline="x")
            )
            unknown = await port.post_to_channel(channel="19:never", reply=Reply(headline="x"))
        assert (replaced, posted, unknown) == (False, None, None)
        assert bot.connector.activities("PUT") == []
        events = {e["event"]: e for e in logs}
        assert "replaced" in events["teams.replace_unknown_message"]["hint"]
        assert "throttling" in events["teams.post_failed"]["hint"]
        assert "install the Resync app" in events["teams.no_conversation"]["hint"]
