"""The Slack surface: ``POST /slack/events`` or Socket Mode in, Block Kit out.

Modules, one job each::

    surface.py       SlackSurface: routing, ack first, dedupe, rate limits, delivery
    verify.py        request signatures and timestamps
    payloads.py      the types of the payload fields Resync reads (else 400)
    workspaces.py    which workspaces are answered (auth.test at start)
    socket_mode.py   the Socket Mode connection
    commands.py      /tws subcommands -> questions
    identity.py      user id -> Actor (users.info, cached)
    usergroups.py    slack-usergroup:S… -> member identities (approval groups, cached)
    blocks.py        Reply -> Block Kit pages within Slack's limits
    escape.py        escaping of untrusted text for mrkdwn
    interactions.py  button clicks -> Decision
    poster.py        every Web API call, with error hints and audit
"""

from __future__ import annotations

from bot.slack.surface import EVENTS_PATH, SlackSurface, slack_enabled

__all__ = ["EVENTS_PATH", "SlackSurface", "slack_enabled"]
