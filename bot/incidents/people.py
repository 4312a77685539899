"""`SlackPeople`: who a Slack ``<@U…>`` mention is, for incident roles (``incident lead @bob``).

The agent side takes a `agents.answers.common.PersonLookup` (``Assistant(people=...)``); this
is the Slack one, over the same ``users.info`` resolver (and store cache) the Slack surface
uses for who is asking, so a role holder's identity is the e-mail approvals and audit use.
A person Slack cannot tell about (no such user, no scope, Slack unreachable) is None: the
answer then says it cannot tell who that is, rather than giving a role to a bare id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import structlog

from agents.messages import Actor, Platform
from integrations.store import Store

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["SlackPeople"]

log = structlog.get_logger(__name__)

_USER_ID: Final = re.compile(r"[UW][A-Z0-9]{2,}")


class SlackPeople:
    """A `PersonLookup` for Slack user ids (other platforms: None)."""

    def __init__(self, *, client: AsyncWebClient, store: Store) -> None:
        """Look people up with ``client``; cache them in ``store`` (shared by the replicas).

        Args:
            client: The Slack Web API client (bot token).
            store: The identity cache.
        """
        # Imported here: only a process with a Slack bot token builds this (the Slack SDK is
        # slow to import, and `resync ask` never needs it).
        from bot.slack.identity import IdentityResolver

        self._resolver = IdentityResolver(client=client, store=store)

    async def __call__(self, platform: Platform, user_id: str) -> Actor | None:
        """The person ``user_id`` is on ``platform``, or None when unknown.

        Args:
            platform: Where the mention was written.
            user_id: The mentioned user id (from the mention's markup: untrusted).

        Returns:
            The actor with its e-mail identity, or None.
        """
        if platform is not Platform.SLACK or not _USER_ID.fullmatch(user_id):
            return None
        try:
            actor = await self._resolver.resolve(user_id=user_id)
        except Exception as exc:  # network trouble: unknown, never a crash of the answer
            log.warning("incidents.person_unresolved", user=user_id, error=type(exc).__name__)
            return None
        # The resolver falls back to the bare id when Slack could not tell: not a person.
        if actor.email is None and actor.display_name == user_id:
            return None
        return actor
