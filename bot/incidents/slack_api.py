"""The Slack Web API calls of incident rooms, with Slack's refusals turned into words.

`bot.slack.poster.SlackPoster` keeps only the error code of a refused call; incident rooms
must say which scope is missing (Slack answers ``missing_scope`` with ``needed``), whether a
channel is archived or Resync is not in it, so they call the Web API client directly
(`SlackApi.call`) and turn a refusal into a `agents.incidents.RoomsError` with a sentence a
person can act on (`rooms_error`). No token or request body is ever logged or put in an
error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import aiohttp

from agents.incidents.errors import RoomsError

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["READ_METHODS", "SCOPES", "SlackApi", "SlackCallError", "rooms_error"]

READ_METHODS: Final = frozenset({"conversations.list", "conversations.info", "auth.test"})
"""Methods Slack only takes as query parameters (no JSON body)."""

SCOPES: Final = {
    "conversations.create": "channels:manage",
    "conversations.setTopic": "channels:manage",
    "conversations.setPurpose": "channels:manage",
    "conversations.invite": "channels:manage",
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
    "pins.add": "pins:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
}
"""The bot scope each method needs (named when Slack's answer does not say)."""

_TOKEN_SETTING: Final = "RESYNC_SLACK_BOT_TOKEN"  # noqa: S105 - a setting name


class SlackCallError(Exception):
    """Slack refused a Web API call, or could not be reached.

    Attributes:
        method: The Web API method.
        error: Slack's ``error`` code (``unreachable`` when Slack could not be reached).
        needed: For ``missing_scope``: the scope Slack says is needed.
    """

    def __init__(self, method: str, error: str, *, needed: str | None = None) -> None:
        self.method = method
        self.error = error
        self.needed = needed
        super().__init__(f"{method}: {error}" + (f" (needed: {needed})" if needed else ""))


class SlackApi:
    """Calls Web API methods; a refusal raises `SlackCallError`."""

    def __init__(self, client: AsyncWebClient) -> None:
        """Wrap a client.

        Args:
            client: The Web API client (its token and base URL).
        """
        self._client = client

    async def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        """Call one method.

        Args:
            method: E.g. ``conversations.create``.
            **arguments: Its arguments (``None`` values are left out).

        Returns:
            Slack's answer.

        Raises:
            SlackCallError: Slack answered ``ok: false``, an HTTP error, or was unreachable.
        """
        # The client exists, so the Slack SDK is imported already: this costs nothing.
        from slack_sdk.errors import SlackApiError

        kwargs = {k: v for k, v in arguments.items() if v is not None}
        try:
            if method in READ_METHODS:
                params = {
                    k: str(v).lower() if isinstance(v, bool) else v for k, v in kwargs.items()
                }
                response = await self._client.api_call(method, http_verb="GET", params=params)
            else:
                response = await self._client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or f"http_{exc.response.status_code}")
            needed = data.get("needed")
            raise SlackCallError(method, error, needed=str(needed) if needed else None) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SlackCallError(method, f"unreachable ({type(exc).__name__})") from None
        return dict(response.data) if isinstance(response.data, dict) else {}


def rooms_error(exc: SlackCallError, *, doing: str, channel: str | None = None) -> RoomsError:
    """A refused call as a `RoomsError` whose message says what to do.

    Args:
        exc: The refusal.
        doing: What Resync was doing, e.g. ``creating #inc-20261130-42-payroll``.
        channel: The channel it concerned, when there is one (named in the advice).

    Returns:
        The error to raise (the incident's rooms step is tried again later).
    """
    where = f"channel {channel}" if channel else "the channel"
    error = exc.error
    if error == "missing_scope":
        scope = exc.needed or SCOPES.get(exc.method, "see docs/slack.md")
        advice = (
            f"the Slack app lacks the {scope} scope ({exc.method}): add it under OAuth & "
            f"Permissions → Bot Token Scopes, reinstall the app, and Resync will try again"
        )
    elif error == "name_taken":
        advice = "that channel name is taken (also by archived channels)"
    elif error == "restricted_action":
        advice = (
            "the workspace does not allow the Resync app to do this (a Slack admin setting "
            "limits who may create channels or post): ask a Slack admin to allow it"
        )
    elif error == "not_in_channel":
        advice = f"Resync is not a member of {where}: invite it there with /invite @resync"
    elif error in ("is_archived", "channel_is_archived"):
        advice = f"{where} is archived: unarchive it in Slack (or configure another one)"
    elif error == "channel_not_found":
        advice = f"{where} does not exist or is private and Resync is not in it"
    elif error in ("invalid_auth", "not_authed", "token_revoked", "account_inactive"):
        advice = (
            f"the bot token is not valid ({error}): check {_TOKEN_SETTING} or reinstall the app"
        )
    elif error == "ratelimited":
        advice = "Slack is rate-limiting Resync; it will try again later"
    elif error.startswith("invalid_name"):
        advice = "Slack refused the channel name: check RESYNC_INCIDENT_CHANNEL_TEMPLATE"
    elif error.startswith("unreachable"):
        advice = "Slack could not be reached: check the network path (or RESYNC_SLACK_API_URL)"
    else:
        advice = f"Slack refused {exc.method} ({error}); see that error code in Slack's API docs"
    return RoomsError(f"Slack: {doing} failed: {advice} [{exc}]")
