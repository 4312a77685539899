"""Slack user groups as approval groups: ``slack-usergroup:S…`` -> member identities.

`SlackUserGroups` is the Slack `agents.runbooks.policy.GroupDirectory`. It calls
``usergroups.users.list?usergroup=S…`` (scope ``usergroups:read``) and resolves each member
id to the identity clicks resolve to (`bot.slack.identity.IdentityResolver`: the
``users.info`` e-mail lower-cased, else ``slack:U…``). The result is cached in the `Store`
for ``ttl_seconds`` (every replica shares it; Slack is not called per click), and one lookup
per group runs at a time in this process. A 429 is retried after ``Retry-After`` by the
client's `AsyncRateLimitErrorRetryHandler` (installed by `SlackSurface`); what still fails
(``ratelimited``, ``missing_scope``, an unknown group, Slack unreachable) is logged with a
hint and raised as `GroupLookupError`, so nobody is eligible through the group meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.runbooks.errors import GroupLookupError
from agents.runbooks.policy import SLACK_USERGROUP_PREFIX, slack_usergroup_id
from bot.slack.identity import IdentityResolver
from bot.slack.poster import hint_for
from integrations.store import Store, StoreError

__all__ = ["USERGROUP_TTL_SECONDS", "SlackUserGroups"]

log = structlog.get_logger(__name__)

USERGROUP_TTL_SECONDS: Final = 300.0
_RESOLVE_AT_ONCE: Final = 8
_HINTS: Final = {
    "missing_scope": "Grant the app the usergroups:read scope (manifest in docs/slack.md) "
    "and reinstall it.",
    "no_such_subteam": "No Slack user group has this id: check the slack-usergroup: entry "
    "in the approval policy file.",
    "subteam_not_found": "No Slack user group has this id: check the slack-usergroup: entry "
    "in the approval policy file.",
    "paid_teams_only": "User groups need a paid Slack plan; list the identities instead.",
    "ratelimited": "Slack rate-limited usergroups.users.list even after Retry-After; "
    "the next click tries again.",
}


class SlackUserGroups:
    """Members of Slack user groups, as approval identities, cached in the store."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        store: Store,
        ttl_seconds: float = USERGROUP_TTL_SECONDS,
        identity: IdentityResolver | None = None,
    ) -> None:
        """Create the directory.

        Args:
            client: The Web API client (with the rate-limit retry handler).
            store: Where resolved member lists are cached, shared by the replicas.
            ttl_seconds: How long a member list is trusted (membership changes show after
                at most this long).
            identity: Resolves member ids like clicks are resolved; built on ``client``
                and ``store`` when None.
        """
        self._client = client
        self._store = store
        self._ttl = ttl_seconds
        self._identity = identity or IdentityResolver(client=client, store=store)
        self._locks: dict[str, asyncio.Lock] = {}

    async def members(self, reference: str) -> frozenset[str] | None:
        """See `agents.runbooks.policy.GroupDirectory.members`.

        Args:
            reference: ``slack-usergroup:S…``.

        Returns:
            The members' identities; None for a reference that is not a Slack user group.

        Raises:
            GroupLookupError: Slack refused or could not be reached.
        """
        group_id = slack_usergroup_id(reference)
        if group_id is None:
            return None
        key = f"slack:usergroup:{group_id}"
        cached = await self._cached(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(group_id, asyncio.Lock())
        async with lock:  # concurrent clicks share one lookup
            cached = await self._cached(key)
            if cached is not None:
                return cached
            identities = await self._lookup(group_id)
            try:
                await self._store.put(key, json.dumps(sorted(identities)), ttl_seconds=self._ttl)
            except StoreError:
                log.warning("slack.usergroup_cache_failed", usergroup=group_id)
            return identities

    async def _cached(self, key: str) -> frozenset[str] | None:
        try:
            raw = await self._store.get(key)
        except StoreError:
            return None
        return None if raw is None else frozenset(json.loads(raw))

    async def _lookup(self, group_id: str) -> frozenset[str]:
        reference = SLACK_USERGROUP_PREFIX + group_id
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            log.warning(
                "slack.usergroup_unresolved",
                usergroup=group_id,
                error=error,
                hint=_HINTS.get(error) or hint_for(error),
            )
            raise GroupLookupError(reference, error) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = type(exc).__name__
            log.warning(
                "slack.usergroup_unresolved",
                usergroup=group_id,
                error=error,
                hint="Check the network path to Slack (or RESYNC_SLACK_API_URL).",
            )
            raise GroupLookupError(reference, error) from None
        user_ids = [str(u) for u in response.get("users") or [] if u]
        slots = asyncio.Semaphore(_RESOLVE_AT_ONCE)

        async def identity(user_id: str) -> str:
            async with slots:
                return (await self._identity.resolve(user_id=user_id)).identity

        found = frozenset(await asyncio.gather(*(identity(u) for u in user_ids)))
        log.info("slack.usergroup_resolved", usergroup=group_id, members=len(found))
        return found
