"""Who is asking: a Slack user id resolved to an `Actor` through ``users.info``, cached in the store.

The e-mail (``profile.email``, scope ``users:read.email``) is the identity audit and
approvals use. When Slack does not answer, or the scope is missing, the actor falls back to
``slack:<user id>`` with the name the payload carried, and the failure is logged once.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import Actor, Platform
from integrations.store import Store, StoreError

__all__ = ["IDENTITY_TTL_SECONDS", "LOOKUP_TIMEOUT_SECONDS", "IdentityResolver"]

log = structlog.get_logger(__name__)

IDENTITY_TTL_SECONDS: Final = 3600.0

# A message is resolved before Slack gets its HTTP 200 (it is kept in the durable inbox
# first), and Slack wants that within 3 s: a slow users.info falls back instead of waiting.
LOOKUP_TIMEOUT_SECONDS: Final = 1.5


class IdentityResolver:
    """Resolves Slack user ids to actors, with a store-backed cache."""

    def __init__(self, *, client: AsyncWebClient, store: Store) -> None:
        """Create a resolver.

        Args:
            client: The Slack Web API client.
            store: Where resolved identities are cached for an hour.
        """
        self._client = client
        self._store = store

    async def resolve(self, *, user_id: str, fallback_name: str | None = None) -> Actor:
        """Resolve one user.

        Args:
            user_id: Slack user id (``U...``/``W...``).
            fallback_name: Name to show when Slack cannot be asked (from the payload).

        Returns:
            The actor; ``email`` is None when Slack did not tell it.
        """
        key = f"slack:user:{user_id}"
        try:
            cached = await self._store.get(key)
        except StoreError:
            cached = None
        if cached is not None:
            data = json.loads(cached)
            return Actor(
                platform=Platform.SLACK,
                user_id=user_id,
                display_name=str(data["name"]),
                email=data.get("email"),
            )
        name = fallback_name or user_id
        email: str | None = None
        try:
            response = await asyncio.wait_for(
                self._client.users_info(user=user_id), timeout=LOOKUP_TIMEOUT_SECONDS
            )
            user: dict[str, Any] = response.get("user") or {}
            profile: dict[str, Any] = user.get("profile") or {}
            name = str(
                profile.get("display_name")
                or profile.get("real_name")
                or user.get("real_name")
                or user.get("name")
                or name
            )
            email = profile.get("email") or None
        except SlackApiError as exc:
            log.warning(
                "slack.identity_unresolved",
                user=user_id,
                error=exc.response.get("error"),
                hint="grant users:read and users:read.email so audit records carry e-mails",
            )
            return Actor(platform=Platform.SLACK, user_id=user_id, display_name=name)
        except TimeoutError:
            # Not cached: the next message asks Slack again.
            log.warning("slack.identity_slow", user=user_id, timeout=LOOKUP_TIMEOUT_SECONDS)
            return Actor(platform=Platform.SLACK, user_id=user_id, display_name=name)
        except (aiohttp.ClientError, OSError) as exc:
            # Slack unreachable: the message must still be kept and acknowledged (it is
            # resolved before the ack); not cached, the next message asks again.
            log.warning("slack.identity_unreachable", user=user_id, error=str(exc)[:200])
            return Actor(platform=Platform.SLACK, user_id=user_id, display_name=name)
        actor = Actor(platform=Platform.SLACK, user_id=user_id, display_name=name, email=email)
        try:
            await self._store.put(
                key, json.dumps({"name": name, "email": email}), ttl_seconds=IDENTITY_TTL_SECONDS
            )
        except StoreError:
            log.warning("slack.identity_cache_failed", user=user_id)
        return actor
