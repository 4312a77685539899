"""A small Bot Connector REST client over aiohttp, and where its bearer token comes from.

Only the calls Resync needs: send to a conversation, reply to an activity, update an
activity, create a conversation (a new channel post) and read one member. The base URL is
the activity's (or the stored reference's) ``serviceUrl``, so tests point it at a fake
connector on loopback.

Outbound auth: with an app id, `BotFrameworkTokens` gets an app token through
botframework-connector's credentials (MSAL under the hood, cached there); without one no
``Authorization`` header is sent (local mode and the fake connector).

Errors::

    ConnectorError      the connector answered an error or could not be reached
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import structlog
from yarl import URL

from bot.teams.errors import TeamsError
from config.settings import Settings

__all__ = ["BotFrameworkTokens", "ConnectorClient", "ConnectorError", "TokenSource"]

log = structlog.get_logger(__name__)


class ConnectorError(TeamsError):
    """The Bot Connector answered an error or could not be reached.

    Attributes:
        status: The HTTP status, or None when no answer came.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TokenSource(Protocol):
    """Gives the bearer token for outbound connector calls (None: send none)."""

    async def token(self) -> str | None:
        """Return a current token, or None."""
        ...


class BotFrameworkTokens:
    """App tokens from botframework-connector's credential classes."""

    def __init__(self, *, settings: Settings) -> None:
        """Build the credentials for the configured app type.

        Args:
            settings: Where the app id, password, type and tenant come from.
        """
        from botframework.connector.auth import (  # botbuilder stays inside bot/teams
            ManagedIdentityAppCredentials,
            MicrosoftAppCredentials,
        )

        app_id = settings.teams_app_id or ""
        password = (
            settings.teams_app_password.get_secret_value() if settings.teams_app_password else ""
        )
        self._credentials: Any
        if settings.teams_app_type == "UserAssignedMSI":
            self._credentials = ManagedIdentityAppCredentials(app_id)
        elif settings.teams_app_type == "SingleTenant":
            self._credentials = MicrosoftAppCredentials(
                app_id, password, channel_auth_tenant=settings.teams_tenant_id
            )
        else:
            self._credentials = MicrosoftAppCredentials(app_id, password)

    async def token(self) -> str | None:
        """Return an app token (MSAL caches and refreshes it)."""
        value = await asyncio.to_thread(self._credentials.get_access_token)
        return str(value) if value else None


class _NoTokens:
    async def token(self) -> str | None:
        return None


NO_TOKENS: TokenSource = _NoTokens()


def _path(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


class ConnectorClient:
    """Calls the Bot Connector REST API at any ``serviceUrl``."""

    def __init__(self, *, tokens: TokenSource, timeout_seconds: float = 15.0) -> None:
        """Create a client (the HTTP session opens on first use).

        Args:
            tokens: Where bearer tokens come from.
            timeout_seconds: Whole-request timeout.
        """
        self._tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(
        self, method: str, service_url: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"Content-Type": "application/json"}
        token = await self._tokens.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{service_url.rstrip('/')}/v3/{path}"
        try:
            async with self._session.request(
                method, URL(url, encoded=True), json=body, headers=headers
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise ConnectorError(
                        f"{method} /v3/{path} answered {response.status}: {text[:200]}",
                        status=response.status,
                    )
                if not text.strip():
                    return {}
                data = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise ConnectorError(f"{method} /v3/{path} failed: {exc}") from exc
        except TimeoutError as exc:
            raise ConnectorError(f"{method} /v3/{path} timed out") from exc
        return data if isinstance(data, dict) else {}

    async def send_to_conversation(
        self, *, service_url: str, conversation_id: str, activity: dict[str, Any]
    ) -> dict[str, Any]:
        """Post an activity into a conversation (``POST /v3/conversations/{id}/activities``).

        Args:
            service_url: The connector's base URL.
            conversation_id: Conversation id (with ``;messageid=`` to post into a thread).
            activity: The activity JSON.

        Returns:
            The connector's answer (``{"id": ...}``).
        """
        path = f"conversations/{_path(conversation_id)}/activities"
        return await self._call("POST", service_url, path, activity)

    async def reply_to_activity(
        self,
        *,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: dict[str, Any],
    ) -> dict[str, Any]:
        """Reply to an activity (``POST /v3/conversations/{id}/activities/{activityId}``).

        Args:
            service_url: The connector's base URL.
            conversation_id: Conversation id.
            activity_id: The activity replied to.
            activity: The reply.

        Returns:
            The connector's answer (``{"id": ...}``).
        """
        path = f"conversations/{_path(conversation_id)}/activities/{_path(activity_id)}"
        return await self._call("POST", service_url, path, {**activity, "replyToId": activity_id})

    async def update_activity(
        self,
        *,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: dict[str, Any],
    ) -> dict[str, Any]:
        """Replace an activity (``PUT /v3/conversations/{id}/activities/{activityId}``).

        Args:
            service_url: The connector's base URL.
            conversation_id: Conversation id.
            activity_id: The activity to replace.
            activity: The new content.

        Returns:
            The connector's answer.
        """
        path = f"conversations/{_path(conversation_id)}/activities/{_path(activity_id)}"
        return await self._call("PUT", service_url, path, {**activity, "id": activity_id})

    async def create_conversation(
        self, *, service_url: str, parameters: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a conversation, e.g. a new post in a Teams channel (``POST /v3/conversations``).

        Args:
            service_url: The connector's base URL.
            parameters: ConversationParameters JSON (``isGroup``, ``channelData``, ``activity``).

        Returns:
            The connector's answer (``{"id": ..., "activityId": ...}``).
        """
        return await self._call("POST", service_url, "conversations", parameters)

    async def get_member(
        self, *, service_url: str, conversation_id: str, member_id: str
    ) -> dict[str, Any]:
        """Read one member of a conversation (``GET /v3/conversations/{id}/members/{userId}``).

        Args:
            service_url: The connector's base URL.
            conversation_id: Conversation id.
            member_id: The member's id (``29:...`` or AAD object id).

        Returns:
            The member (TeamsChannelAccount JSON: name, email, userPrincipalName, ...).
        """
        path = f"conversations/{_path(conversation_id)}/members/{_path(member_id)}"
        return await self._call("GET", service_url, path)
