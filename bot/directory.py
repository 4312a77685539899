"""Routing approval-group references to the platform that can resolve them.

The runbook service is built before the chat surfaces exist, so it gets one
`GroupDirectoryRouter` as its `agents.runbooks.policy.GroupDirectory`; ``bot.server.serving``
registers each platform's directory when its surface starts (Slack: ``slack-usergroup:``
references, `bot.slack.usergroups.SlackUserGroups`). A reference no registered directory
handles resolves to None: nobody is eligible through it on this deployment (logged by the
policy check).
"""

from __future__ import annotations

from agents.runbooks.policy import GroupDirectory

__all__ = ["GroupDirectoryRouter"]


class GroupDirectoryRouter:
    """A `GroupDirectory` that forwards each reference to the directory of its prefix."""

    def __init__(self) -> None:
        """Create a router with no directories yet."""
        self._directories: dict[str, GroupDirectory] = {}

    def register(self, prefix: str, directory: GroupDirectory) -> None:
        """Resolve references starting with ``prefix`` through ``directory``.

        Args:
            prefix: E.g. ``slack-usergroup:`` (compared case-blind).
            directory: Resolves those references.
        """
        self._directories[prefix.lower()] = directory

    def prefixes(self) -> list[str]:
        """The registered prefixes."""
        return sorted(self._directories)

    async def members(self, reference: str) -> frozenset[str] | None:
        """See `agents.runbooks.policy.GroupDirectory.members`."""
        text = reference.strip().lower()
        for prefix, directory in self._directories.items():
            if text.startswith(prefix):
                return await directory.members(reference)
        return None
