"""Which Slack workspaces Resync answers, checked before anything reaches the core.

A bot token belongs to one workspace, but Slack delivers more than that workspace's
people: in a Slack Connect channel anyone from the other organisations can mention the
bot, and an org-wide install hears every workspace of an Enterprise Grid. Answers carry
plan data and job logs, so a delivery is worked on only when every team Slack names in it
is allowed (``RESYNC_SLACK_ALLOWED_WORKSPACES``: workspace ids ``T…`` and grid ids ``E…``;
default: the workspace ``auth.test`` reports for the bot token, and its grid when the app
is installed org-wide). The teams read, as Slack documents them:

- Events API: the envelope's ``team_id`` / ``enterprise_id`` (where the event happened),
  and the event's ``team``, ``user_team``, ``source_team`` and ``user_profile.team``
  (whose message it is; in a Slack Connect channel these name the other organisation);
- slash commands: ``team_id`` / ``enterprise_id`` (where the person ran it);
- ``block_actions``: ``team.id`` / ``enterprise.id`` and the clicker's ``user.team_id``.

The delivery's own team (the first pair of each list) is allowed when its workspace id or
its grid id is listed. The message's and the sender's teams must then each be that same
workspace or grid, or be listed themselves: a Slack Connect guest's organisation is never
the host's, so a guest is refused unless their ``T…``/``E…`` id is listed. A delivery
naming no team is refused. A refused delivery is acknowledged and dropped with a warning
(``slack.workspace_refused``): no answer, no audit, nothing in the core.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import structlog
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["WorkspaceGate"]

log = structlog.get_logger(__name__)

_RETRY_AUTH_TEST_SECONDS: Final = 30.0

Team = tuple[str | None, str | None]
"""(workspace id, grid id) named together; either may be missing."""


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _alone(value: object) -> Team:
    """A team id named without its grid (``E…`` ids are grids)."""
    named = _id(value)
    return (None, named) if named and named.startswith("E") else (named, None)


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def named_teams(kind: str, payload: dict[str, Any]) -> tuple[Team, list[Team]]:
    """The teams a delivery names.

    Args:
        kind: ``events_api``, ``slash_commands`` or ``interactive``.
        payload: The payload (its shape already checked).

    Returns:
        ``(where, whose)``: the team the delivery comes from, and the teams of the message
        and its sender as named on their own.
    """
    if kind == "events_api":
        event = _obj(payload.get("event"))
        whose = [_alone(event.get(key)) for key in ("team", "user_team", "source_team")]
        whose.append(_alone(_obj(event.get("user_profile")).get("team")))
        return (_id(payload.get("team_id")), _id(payload.get("enterprise_id"))), whose
    if kind == "slash_commands":
        return (_id(payload.get("team_id")), _id(payload.get("enterprise_id"))), []
    team = _id(_obj(payload.get("team")).get("id"))
    grid = _id(_obj(payload.get("enterprise")).get("id"))
    return (team, grid), [_alone(_obj(payload.get("user")).get("team_id"))]


def _allows(allowed: frozenset[str], where: Team, whose: list[Team]) -> bool:
    team, grid = where
    if not ((team and team in allowed) or (grid and grid in allowed)):
        return False
    # The message's and the sender's teams: the delivery's own workspace or grid, or listed.
    return all(
        (not other or other in allowed or other == own)
        for other_team, other_grid in whose
        for other, own in ((other_team, team), (other_grid, grid))
    )


class WorkspaceGate:
    """Admits deliveries from allowed workspaces; knows the bot's own user id."""

    def __init__(self, *, client: AsyncWebClient, allowed: frozenset[str] | None) -> None:
        """Create the gate.

        Args:
            client: The Web API client (for ``auth.test``).
            allowed: Workspace (``T…``) and grid (``E…``) ids; None: the bot token's own.
        """
        self._client = client
        self._configured = allowed
        self._allowed = allowed
        self._bot_user_id: str | None = None
        self._identified = False
        self._lock = asyncio.Lock()
        self._next_try = 0.0

    async def start(self) -> None:
        """Ask ``auth.test`` once, so the request path does not have to."""
        await self._identify()

    async def bot_user_id(self) -> str | None:
        """The bot's own user id (``auth.test``; asked again when the start could not).

        Returns:
            The id, or None while Slack has not told it.
        """
        await self._identify()
        return self._bot_user_id

    async def _identify(self) -> None:
        async with self._lock:
            if self._identified or time.monotonic() < self._next_try:
                return
            try:
                response = await self._client.auth_test()
            except Exception as exc:  # any failure: retried later, refused meanwhile
                self._next_try = time.monotonic() + _RETRY_AUTH_TEST_SECONDS
                log.warning(
                    "slack.auth_test_failed",
                    error=str(exc)[:200],
                    hint="check RESYNC_SLACK_BOT_TOKEN; deliveries are refused until Slack "
                    "says which workspace the token belongs to"
                    if self._configured is None
                    else "the bot's own mentions are recognised by position only",
                )
                return
            self._identified = True
            self._bot_user_id = _id(response.get("user_id"))
            if self._configured is None:
                own = {_id(response.get("team_id"))}
                if response.get("is_enterprise_install"):
                    own.add(_id(response.get("enterprise_id")))
                self._allowed = frozenset(i for i in own if i)
                log.info(
                    "slack.workspaces_allowed", allowed=sorted(self._allowed), source="auth.test"
                )

    async def admits(self, kind: str, payload: dict[str, Any]) -> bool:
        """Whether a delivery comes from allowed workspaces only (else it is logged).

        Args:
            kind: ``events_api``, ``slash_commands`` or ``interactive``.
            payload: The payload (its shape already checked).

        Returns:
            True when it may be answered.
        """
        if self._allowed is None:
            await self._identify()
        where, whose = named_teams(kind, payload)
        ok = _allows(self._allowed or frozenset(), where, whose)
        if not ok:
            log.warning(
                "slack.workspace_refused",
                kind=kind,
                team=where[0],
                enterprise=where[1],
                others=sorted({i for pair in whose for i in pair if i}),
                hint="add the id to RESYNC_SLACK_ALLOWED_WORKSPACES to answer it",
            )
        return ok
