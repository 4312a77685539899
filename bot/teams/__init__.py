"""Microsoft Teams surface: ``POST /api/messages``, Adaptive Cards, proactive posts.

`TeamsSurface` translates Teams activities for the chat core (`bot.core.ChatCore`);
`TeamsPort` is the core's way back into Teams. The lead wires them into ``resync serve``
when `teams_enabled` says so. The Bot Framework SDK (botbuilder) stays inside this package
so it can be swapped for the Microsoft 365 Agents SDK.
"""

from __future__ import annotations

from bot.teams.cards import render_card
from bot.teams.errors import NoConversationError, TeamsError
from bot.teams.port import TeamsPort
from bot.teams.surface import TeamsSurface, teams_enabled

__all__ = [
    "NoConversationError",
    "TeamsError",
    "TeamsPort",
    "TeamsSurface",
    "render_card",
    "teams_enabled",
]
