"""Validate the Bot Framework's inbound JWT on ``POST /api/messages``.

The Bot Connector signs each request with a bearer token. `BotFrameworkAuthenticator`
checks, before anything else runs:

- the header is ``Bearer <jwt>``; the token's ``alg`` is RS256 (``none``, HS* and
  everything else are refused);
- the signing key (``kid``) is one of the keys published at the ``jwks_uri`` of the
  OpenID metadata document (keys are cached; an unknown ``kid`` triggers one refetch,
  at most once per `refetch_interval`);
- the signature, the issuer, the audience (the bot's app id), ``exp`` / ``nbf`` (with
  five minutes of clock skew);
- the ``serviceurl`` claim equals the activity's ``serviceUrl`` (so a stolen token cannot
  point the bot at another host), and the key is endorsed for the activity's channel
  when the key lists endorsements.

Errors::

    AuthError           the request is not from the Bot Framework (status 401 or 403)

Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import jwt
import structlog
from jwt.algorithms import RSAAlgorithm

from bot.teams.errors import TeamsError

__all__ = [
    "BOT_FRAMEWORK_ISSUER",
    "BOT_FRAMEWORK_OPENID_METADATA",
    "AuthError",
    "BotFrameworkAuthenticator",
    "VerifiedToken",
    "issuers_for",
]

log = structlog.get_logger(__name__)

BOT_FRAMEWORK_OPENID_METADATA: Final = (
    "https://login.botframework.com/v1/.well-known/openidconfiguration"
)
BOT_FRAMEWORK_ISSUER: Final = "https://api.botframework.com"
_ALGORITHM: Final = "RS256"
_LEEWAY_SECONDS: Final = 300


class AuthError(TeamsError):
    """The request is not from the Bot Framework.

    Attributes:
        status: 401 (no or invalid token) or 403 (valid token, wrong request).
        reason: Short reason for the log (never the token).
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def issuers_for(*, tenant_id: str | None) -> tuple[str, ...]:
    """The token issuers accepted for a bot.

    Args:
        tenant_id: The bot's tenant (SingleTenant / UserAssignedMSI), None for MultiTenant.

    Returns:
        The Bot Framework issuer, plus the tenant's Entra ID issuers when a tenant is set.
    """
    issuers = [BOT_FRAMEWORK_ISSUER]
    if tenant_id:
        issuers += [
            f"https://sts.windows.net/{tenant_id}/",
            f"https://login.microsoftonline.com/{tenant_id}/v2.0",
        ]
    return tuple(issuers)


@dataclass(frozen=True, slots=True)
class _Key:
    key: Any
    endorsements: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature, issuer, audience and expiry were checked.

    Attributes:
        claims: The verified claims.
        endorsements: Channels the signing key is endorsed for (None: the key lists none).
    """

    claims: dict[str, Any]
    endorsements: tuple[str, ...] | None

    def check(self, *, service_url: str, channel_id: str | None) -> None:
        """Bind the token to the activity it came with.

        Args:
            service_url: The activity's ``serviceUrl``.
            channel_id: The activity's ``channelId``.

        Raises:
            AuthError: 403, the token was issued for another connector or channel.
        """
        claimed_url = self.claims.get("serviceurl", self.claims.get("serviceUrl"))
        if not _same_url(claimed_url, service_url):
            raise AuthError(403, "serviceUrl does not match the token")
        if self.endorsements is not None and channel_id not in self.endorsements:
            raise AuthError(403, "signing key not endorsed for this channel")


class BotFrameworkAuthenticator:
    """Checks inbound bearer tokens against the keys of an OpenID metadata document."""

    def __init__(
        self,
        *,
        app_id: str,
        openid_metadata_url: str = BOT_FRAMEWORK_OPENID_METADATA,
        issuers: Sequence[str] = (BOT_FRAMEWORK_ISSUER,),
        cache_seconds: float = 24 * 3600,
        refetch_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
        http_timeout_seconds: float = 10.0,
    ) -> None:
        """Create an authenticator.

        Args:
            app_id: The bot's app id: the audience every token must name.
            openid_metadata_url: Where the ``jwks_uri`` is published.
            issuers: Accepted ``iss`` values.
            cache_seconds: How long fetched keys are trusted before a refetch.
            refetch_interval: Least seconds between two refetches for an unknown ``kid``.
            clock: Wall clock in seconds (injectable for tests).
            http_timeout_seconds: Timeout of one metadata or JWKS fetch.
        """
        self._app_id = app_id
        self._metadata_url = openid_metadata_url
        self._issuers = list(issuers)
        self._cache_seconds = cache_seconds
        self._refetch_interval = refetch_interval
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=http_timeout_seconds)
        self._keys: dict[str, _Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session used for key fetches."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def authenticate(
        self, *, authorization: str | None, service_url: str, channel_id: str | None
    ) -> dict[str, Any]:
        """Validate a request's ``Authorization`` header against its activity.

        Args:
            authorization: The header value, or None when absent.
            service_url: The activity's ``serviceUrl``.
            channel_id: The activity's ``channelId`` (checked against key endorsements).

        Returns:
            The token's verified claims.

        Raises:
            AuthError: The request must be refused (401 or 403).
        """
        token = await self.verify(authorization)
        token.check(service_url=service_url, channel_id=channel_id)
        return token.claims

    async def verify(self, authorization: str | None) -> VerifiedToken:
        """Check the token itself (signature, issuer, audience, expiry), before any body parsing.

        Args:
            authorization: The ``Authorization`` header value, or None when absent.

        Returns:
            The verified token; `VerifiedToken.check` then binds it to the activity.

        Raises:
            AuthError: 401, the token is missing or not one the Bot Framework signed.
        """
        if not authorization:
            raise AuthError(401, "missing Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "Authorization is not a bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(401, "malformed token") from exc
        if header.get("alg") != _ALGORITHM:
            raise AuthError(401, f"token algorithm {str(header.get('alg'))[:16]!r} not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError(401, "token has no key id")
        signing = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=signing.key,
                algorithms=[_ALGORITHM],
                audience=self._app_id,
                issuer=self._issuers,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(401, "token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError(401, "token audience is not this bot") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError(401, "token issuer not trusted") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"token invalid: {type(exc).__name__}") from exc
        return VerifiedToken(claims=claims, endorsements=signing.endorsements)

    async def _key(self, kid: str) -> _Key:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self._cache_seconds
        if not stale and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            now = self._clock()
            recent = (
                self._attempted_at is not None and now - self._attempted_at < self._refetch_interval
            )
            stale = self._fetched_at is None or now - self._fetched_at > self._cache_seconds
            if (kid not in self._keys and not recent) or (stale and not recent):
                await self._refresh()
        found = self._keys.get(kid)
        if found is None:
            raise AuthError(401, "token signed by an unknown key")
        return found

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(self._metadata_url) as response:
                response.raise_for_status()
                metadata = await response.json(content_type=None)
            jwks_uri = metadata["jwks_uri"]
            async with self._session.get(jwks_uri) as response:
                response.raise_for_status()
                jwks = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as exc:
            log.warning("teams.jwks_fetch_failed", url=self._metadata_url, error=repr(exc))
            if not self._keys:
                raise AuthError(401, "signing keys unavailable") from exc
            return
        keys: dict[str, _Key] = {}
        for entry in jwks.get("keys", []):
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or "kid" not in entry:
                continue
            try:
                public = RSAAlgorithm.from_jwk(json.dumps(entry))
            except (jwt.PyJWTError, ValueError, TypeError):
                continue
            endorsements = entry.get("endorsements")
            keys[str(entry["kid"])] = _Key(
                key=public,
                endorsements=tuple(str(e) for e in endorsements)
                if isinstance(endorsements, list)
                else None,
            )
        self._keys = keys
        self._fetched_at = self._clock()
        log.info("teams.jwks_fetched", keys=len(keys))


def _same_url(claimed: object, actual: str) -> bool:
    if not isinstance(claimed, str) or not claimed:
        return False
    return claimed.rstrip("/").lower() == actual.rstrip("/").lower()
