"""Hardening of the Teams surface, through /api/messages with the fake connector and the
local OpenID server: the token before the body, malformed activities a 400 without a
traceback, only allowed tenants, identity from the roster only, and loopback serviceUrl in
local mode. (Control and bidirectional characters: tests/bot/test_hostile_text.py.)"""

from __future__ import annotations

import logging

import pytest
import structlog.testing
from hostile_support import assert_nothing_crashed
from teams_support import (
    TENANT,
    RecordingDecisions,
    actions,
    card_of,
    execute,
    installed,
    message,
    running_bot,
    texts,
)

from bot.teams.clicks import UNVERIFIED_CLICK
from bot.teams.escape import escape_markdown

NESTED = b"[" * 5000


async def test_token_is_checked_before_the_body_and_bad_bodies_are_a_400(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot() as bot:
        assert bot.signer is not None
        url = f"{bot.url}/api/messages"
        json_type = {"Content-Type": "application/json"}
        with structlog.testing.capture_logs() as logs, caplog.at_level(logging.WARNING):
            async with bot.session.post(url, data=NESTED, headers=json_type) as unsigned:
                assert unsigned.status == 401  # refused before the body is even read
            token = bot.signer.token(service_url=bot.connector.url)
            signed = {**json_type, "Authorization": f"Bearer {token}"}
            async with bot.session.post(url, data=NESTED, headers=signed) as response:
                assert response.status == 400
            good = message("hi", service_url=bot.connector.url)
            for field, value in (
                ("conversation", 5),
                ("from", "29:alice"),
                ("recipient", "bot"),
                ("channelData", 3),
                ("entities", [{"type": "mention", "mentioned": "x"}]),
            ):
                response = await bot.post({**good, field: value})
                assert response.status == 400, field
            await bot.surface.drain()
        malformed = [e for e in logs if e["event"] == "teams.activity_malformed"]
        assert len(malformed) == 6
        assert_nothing_crashed(logs, caplog)
        assert bot.asker.events == []
        assert bot.connector.calls == []


async def test_other_tenants_are_refused_without_an_answer() -> None:
    async with running_bot(decisions=RecordingDecisions()) as bot:
        url = bot.connector.url
        foreign = message("what failed tonight?", service_url=url)
        foreign["channelData"]["tenant"]["id"] = "tenant-evil"
        foreign["conversation"]["tenantId"] = "tenant-evil"
        no_tenant = message("what failed tonight?", service_url=url)
        del no_tenant["channelData"], no_tenant["conversation"]["tenantId"]
        mixed = message("what failed tonight?", service_url=url)  # names two tenants
        mixed["conversation"]["tenantId"] = "tenant-evil"
        joined = installed(url)
        joined["conversation"]["tenantId"] = joined["channelData"]["tenant"]["id"] = "x"
        with structlog.testing.capture_logs() as logs:
            for activity in (foreign, no_tenant, mixed, joined):
                assert (await bot.post(activity)).status == 403
            await bot.surface.drain()
        assert len([e for e in logs if e["event"] == "teams.tenant_refused"]) == 4
        assert bot.asker.events == []
        assert bot.connector.calls == []  # no reply, no typing, no member lookup
        assert bot.audit.records == []  # nothing reached the core
        assert await bot.store.get("teams:ref:a:personal-chat") is None
        assert (await bot.post(message("late", service_url=url))).status == 200
        await bot.connector.wait_for(1)
        assert [e.text for e in bot.asker.events] == ["late"]


async def test_the_apps_own_tenant_is_the_default_and_none_means_no_tenant() -> None:
    async with running_bot(tenants=None, tenant_id=TENANT.upper()) as bot:
        assert (await bot.post(message("hi", service_url=bot.connector.url))).status == 200
        other = message("hi", service_url=bot.connector.url)
        other["channelData"]["tenant"]["id"] = other["conversation"]["tenantId"] = "t2"
        assert (await bot.post(other)).status == 403
    with structlog.testing.capture_logs() as logs:
        async with running_bot(tenants=None) as bot:
            assert (await bot.post(message("hi", service_url=bot.connector.url))).status == 403
    (warning,) = [e for e in logs if e["event"] == "teams.NO_TENANT_ALLOWED"]
    assert "RESYNC_TEAMS_ALLOWED_TENANTS" in warning["detail"]


async def test_identity_never_comes_from_the_body_and_unconfirmed_clickers_cannot_act() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions, members={}) as bot:  # member lookup fails
        url = bot.connector.url
        asked = message("approve?", service_url=url, activity_id="q1")
        asked["from"]["email"] = "alice@contoso.com"
        await bot.post(asked)
        card = card_of((await bot.connector.wait_for(1))[0].body)
        (event,) = bot.asker.events
        assert event.actor.email is None
        assert event.actor.identity == "teams:aad-alice"
        approve = next(a for a in actions(card) if a["verb"] == "runbook.approve")
        click = execute(action=approve, service_url=url, card_message_id="act-1000")
        click["from"]["email"] = "boss@contoso.com"  # not signed by anyone
        with structlog.testing.capture_logs() as logs:
            response = await bot.post(click)
            shown = (await response.json())["value"]
            await bot.surface.drain()
        assert escape_markdown(UNVERIFIED_CLICK.headline) in texts(shown)
        assert decisions.decisions == []  # never approved
        assert not bot.audit.of("click")
        (refused,) = [e for e in logs if e["event"] == "teams.click_refused"]
        assert refused["actor"] == "teams:aad-bob"


async def test_local_mode_answers_only_loopback_service_urls() -> None:
    async with running_bot(unauthenticated=True) as bot:
        with structlog.testing.capture_logs() as logs:
            for service_url in (
                "https://attacker.example.net/",
                "http://127.0.0.1.evil.example/",
                "http://10.0.0.5:3978/",
            ):
                response = await bot.post(message("hi", service_url=service_url))
                assert response.status == 400, service_url
            await bot.surface.drain()
        assert len([e for e in logs if e["event"] == "teams.service_url_refused"]) == 3
        assert bot.asker.events == []
        assert (await bot.post(message("hi", service_url=bot.connector.url))).status == 200
        await bot.connector.wait_for(1)
