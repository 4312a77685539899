"""Inbound JWT validation: only tokens the Bot Framework would sign get past /api/messages."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from teams_support import APP_ID, Harness, OpenIdServer, StaticTokens, message, running_bot

from bot.teams.jwt_auth import AuthError, BotFrameworkAuthenticator


@pytest.fixture
async def idp() -> AsyncIterator[OpenIdServer]:
    server = OpenIdServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(idp: OpenIdServer) -> AsyncIterator[Harness]:
    async with running_bot(
        app_id=APP_ID, openid_metadata_url=idp.metadata_url, token_source=StaticTokens()
    ) as harness:
        yield harness


def _unsigned(service_url: str) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "serviceurl": service_url,
        "exp": 9_999_999_999,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'test-key-1'})}.{part(claims)}."


async def test_valid_token_is_accepted_and_replies_carry_the_bot_token(
    bot: Harness, idp: OpenIdServer
) -> None:
    url = bot.connector.url
    response = await bot.post(message("hello", service_url=url), token=idp.token(service_url=url))
    assert response.status == 200
    (reply,) = await bot.connector.wait_for(1)
    assert reply.authorization == "Bearer outbound-test-token"
    assert len(bot.asker.events) == 1


async def test_missing_or_bad_tokens_are_refused_before_any_work(
    bot: Harness, idp: OpenIdServer
) -> None:
    url = bot.connector.url
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "no header": (None, 401),
        "not bearer": ("__basic__", 401),
        "wrong issuer": (idp.token(service_url=url, issuer="https://evil.example"), 401),
        "wrong audience": (idp.token(service_url=url, audience="someone-else"), 401),
        "expired": (idp.token(service_url=url, expires_in=-3600), 401),
        "unknown key id": (idp.token(service_url=url, kid="rotated-away"), 401),
        "forged signature": (idp.token(service_url=url, key=stranger), 401),
        "alg none": (_unsigned(url), 401),
        "HS256": (
            jwt.encode(
                {
                    "iss": "https://api.botframework.com",
                    "aud": APP_ID,
                    "serviceurl": url,
                    "exp": 9_999_999_999,
                },
                "secret-secret-secret-secret-secret",
                algorithm="HS256",
                headers={"kid": idp.kid},
            ),
            401,
        ),
        "serviceUrl mismatch": (
            idp.token(service_url="https://smba.trafficmanager.net/amer/"),
            403,
        ),
    }
    for label, (token, status) in cases.items():
        headers = {"Authorization": "Basic dXNlcjpwYXNz"} if token == "__basic__" else None
        response = await bot.post(
            message("hello", service_url=url, activity_id=f"a-{label}"),
            token=None if token in (None, "__basic__") else token,
            headers=headers,
        )
        assert response.status == status, label
    await bot.surface.drain()  # anything a request started has finished: absence is real
    assert bot.asker.events == []
    assert bot.connector.calls == []
    assert bot.audit.records == []
    # an unknown kid triggered at most one extra JWKS fetch, not one per request
    assert idp.fetches <= 2


async def test_rotated_key_is_picked_up_by_one_refetch(idp: OpenIdServer) -> None:
    now = [1_000.0]
    auth = BotFrameworkAuthenticator(
        app_id=APP_ID,
        openid_metadata_url=idp.metadata_url,
        refetch_interval=60,
        clock=lambda: now[0],
    )
    url = "https://smba.example/amer/"
    try:
        claims = await auth.authenticate(
            authorization=f"Bearer {idp.token(service_url=url)}",
            service_url=url,
            channel_id="msteams",
        )
        assert claims["aud"] == APP_ID
        idp.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        idp.kid = "test-key-2"  # the identity provider rotates its key
        rotated = f"Bearer {idp.token(service_url=url)}"
        with pytest.raises(AuthError):  # too soon after the last fetch: no refetch storm
            await auth.authenticate(authorization=rotated, service_url=url, channel_id="msteams")
        assert idp.fetches == 1
        now[0] += 61
        await auth.authenticate(authorization=rotated, service_url=url, channel_id="msteams")
        assert idp.fetches == 2
        with pytest.raises(AuthError) as refused:  # the key is endorsed for Teams only
            await auth.authenticate(authorization=rotated, service_url=url, channel_id="slack")
        assert refused.value.status == 403
    finally:
        await auth.close()
