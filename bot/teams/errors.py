"""The Teams surface's exceptions.

Errors::

    TeamsError                  base of everything bot/teams raises
    ├── AuthError               (jwt_auth) the request is not from the Bot Framework
    ├── ConnectorError          (connector) the Bot Connector failed or answered an error
    └── NoConversationError     a post names a conversation the bot never saw (also a
                                `bot.core.port.ChatPortError`)
"""

from __future__ import annotations

from bot.core.port import ChatPortError

__all__ = ["NoConversationError", "TeamsError"]


class TeamsError(Exception):
    """Base of the Teams surface's errors."""


class NoConversationError(TeamsError, ChatPortError):
    """A post names a conversation the bot has no reference for.

    Install the app in the team (or @mention Resync once in the channel) so Teams sends
    the bot an activity from which the reference is stored.
    """
