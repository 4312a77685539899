"""Approval groups and who may approve a runbook request.

Groups come from ``config/approval_policy.yaml`` (``groups: {name: [entry, ...]}``). An entry
is an identity (an e-mail address or a ``slack:U…`` / ``teams:…`` id, compared case-blind) or
a reference to a group kept elsewhere, resolved at click time through a `GroupDirectory`:
``slack-usergroup:S0123ABCD`` (the members of that Slack user group). Self-approval is never
allowed, whatever the policy says.

A person is matched on every identity the platform verified for them: the e-mail (when the
profile lookup told it) and ``platform:user id`` (always), so ``slack:U0123`` still matches
once Slack returns that person's e-mail. An entry that is neither form can match nobody: it
is logged when the policy is loaded and never counted or shown as an approver.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Final, Protocol

import structlog
import yaml

from agents.runbooks.errors import CatalogError, GroupLookupError, Problem
from agents.runbooks.identity import same_person as same_person  # re-exported
from agents.runbooks.spec import ApprovalSpec
from agents.runbooks.validation import line_of
from config.yaml_files import compose_and_load

__all__ = [
    "DEFAULT_POLICY_FILE",
    "SELF_APPROVAL",
    "SLACK_USERGROUP_PREFIX",
    "ApprovalGroups",
    "GroupDirectory",
    "GroupLookupError",
    "check_approver",
    "describe_reference",
    "eligible_approvers",
    "group_references",
    "matchable",
    "may_approve",
    "slack_usergroup_id",
]

log = structlog.get_logger(__name__)

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[2] / "config" / "approval_policy.yaml"

SLACK_USERGROUP_PREFIX: Final = "slack-usergroup:"
_SLACK_USERGROUP_ID: Final = re.compile(r"S[A-Z0-9]+")
# The forms `agents.messages.Actor` gives a person: an e-mail, or platform:user id.
_IDENTITY: Final = re.compile(
    r"[^@\s:]+@[^@\s]+\.[^@\s]+|slack:[uw][a-z0-9]+|teams:\S+|console:\S+", re.IGNORECASE
)


def matchable(entry: str) -> bool:
    """Whether a policy entry can ever match a person (an e-mail or ``platform:user id``).

    Args:
        entry: An identity as written in the policy or a runbook's ``approval.users``.

    Returns:
        False for entries no click can resolve to (a bare name, ``U0123`` without
        ``slack:``, a malformed address).
    """
    return _IDENTITY.fullmatch(entry.strip()) is not None


def slack_usergroup_id(reference: str) -> str | None:
    """The Slack user group id of a ``slack-usergroup:S…`` reference, or None.

    Args:
        reference: A policy entry.

    Returns:
        The id (``S0123ABCD``) when the entry is a well-formed Slack user group reference.
    """
    text = reference.strip()
    if not text.lower().startswith(SLACK_USERGROUP_PREFIX):
        return None
    group_id = text[len(SLACK_USERGROUP_PREFIX) :].strip()
    return group_id if _SLACK_USERGROUP_ID.fullmatch(group_id) else None


def _is_reference(entry: str) -> bool:
    return entry.strip().lower().startswith(SLACK_USERGROUP_PREFIX)


def describe_reference(reference: str) -> str:
    """A reference as people read it, e.g. ``Slack user group S0123ABCD``."""
    group_id = slack_usergroup_id(reference)
    return f"Slack user group {group_id}" if group_id else reference


class GroupDirectory(Protocol):
    """Resolves a group reference of the policy (``slack-usergroup:S…``) to its members.

    Implementations: `bot.slack.usergroups.SlackUserGroups`, `bot.directory.GroupDirectoryRouter`.
    """

    async def members(self, reference: str) -> frozenset[str] | None:
        """The member identities (lower-cased e-mails or ``slack:U…`` ids).

        Args:
            reference: A group reference as written in the policy.

        Returns:
            The members, or None when this deployment cannot resolve such references
            (e.g. Slack is not configured here).

        Raises:
            GroupLookupError: The reference should resolve but the lookup failed (platform
                error, missing scope, rate limit).
        """
        ...


class ApprovalGroups:
    """Named lists of identities and group references."""

    def __init__(
        self, groups: Mapping[str, Sequence[str]], *, rules_may_grant: Collection[str] = ()
    ) -> None:
        """Keep the groups (identities lower-cased; references normalised, order kept).

        Args:
            groups: Group name -> identities and group references.
            rules_may_grant: Runbook ids an auto-remediation rule may approve on its own
                (``rules_may_grant`` in the file); none by default.
        """
        self.rules_may_grant = frozenset(rules_may_grant)
        for name, members in groups.items():
            for member in members:
                if not _is_reference(member) and not matchable(member):
                    log.warning(
                        "runbook.policy_entry_unmatchable",
                        group=name,
                        entry=member,
                        hint="an entry is an e-mail, slack:U…, teams:<aad-id> or "
                        "slack-usergroup:S…; this one can approve nothing and is not shown",
                    )
        self._groups = {
            name: frozenset(
                member.strip().lower() for member in members if not _is_reference(member)
            )
            for name, members in groups.items()
        }
        self._references = {
            name: tuple(
                dict.fromkeys(
                    SLACK_USERGROUP_PREFIX + (slack_usergroup_id(member) or "")
                    for member in members
                    if _is_reference(member) and slack_usergroup_id(member)
                )
            )
            for name, members in groups.items()
        }

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY_FILE) -> ApprovalGroups:
        """Read a policy file.

        Args:
            path: A YAML file with ``groups: {name: [identity or reference, ...]}`` and,
                optionally, ``rules_may_grant: [runbook id, ...]``.

        Returns:
            The groups.

        Raises:
            CatalogError: The file is unreadable, not of that shape, or names a malformed
                group reference (each problem with its line).
        """
        try:
            text = path.read_text(encoding="utf-8")
            root, data = compose_and_load(text)
            data = data or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogError([Problem(str(path), 0, "", f"cannot read: {exc}")]) from None
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, dict) or not all(
            isinstance(members, list) for members in groups.values()
        ):
            raise CatalogError(
                [Problem(str(path), 1, "groups", "expected groups: {name: [identity, ...]}")]
            )
        problems = [
            Problem(
                str(path),
                line_of(root=root, loc=["groups", name, index]),
                f"groups.{name}[{index}]",
                "expected an identity or slack-usergroup:<ID> (text; quote an entry "
                "that holds ': ')",
            )
            for name, members in groups.items()
            for index, member in enumerate(members)
            if not isinstance(member, str)
        ]
        if problems:
            raise CatalogError(problems)
        problems = [
            Problem(
                str(path),
                line_of(root=root, loc=["groups", name, index]),
                f"groups.{name}[{index}]",
                f"{member.strip()!r} is not a Slack user group reference: expected "
                f"{SLACK_USERGROUP_PREFIX}<ID> with an ID like S0123ABCD (S, then capital "
                "letters and digits)",
            )
            for name, members in groups.items()
            for index, member in enumerate(members)
            if _is_reference(member) and slack_usergroup_id(member) is None
        ]
        if problems:
            raise CatalogError(problems)
        grantable = data.get("rules_may_grant") or []
        if not isinstance(grantable, list) or not all(isinstance(g, str) for g in grantable):
            line = line_of(root=root, loc=["rules_may_grant"])
            where, what = "rules_may_grant", "expected a list of runbook ids"
            raise CatalogError([Problem(str(path), line, where, what)])
        return cls(groups, rules_may_grant=grantable)

    def replace(self, other: ApprovalGroups) -> None:
        """Take ``other``'s groups in one step (a configuration reload; no await in here).

        Args:
            other: The newly loaded policy.
        """
        self._groups, self._references = other._groups, other._references
        self.rules_may_grant = other.rules_may_grant

    def members(self, group: str) -> frozenset[str]:
        """Identities listed in a group (empty when unknown); references are not included."""
        return self._groups.get(group, frozenset())

    def references(self, group: str) -> tuple[str, ...]:
        """Group references (``slack-usergroup:S…``) listed in a group."""
        return self._references.get(group, ())

    def names(self) -> list[str]:
        """The group names."""
        return sorted(self._groups)


def eligible_approvers(*, spec: ApprovalSpec, groups: ApprovalGroups) -> frozenset[str]:
    """Every identity the policy names that can match someone (users, group members).

    Lower-cased; group references are not resolved here.
    """
    found = {user.strip().lower() for user in spec.users}
    for group in spec.groups:
        found |= groups.members(group)
    return frozenset(entry for entry in found if matchable(entry))


def group_references(*, spec: ApprovalSpec, groups: ApprovalGroups) -> tuple[str, ...]:
    """The group references (``slack-usergroup:S…``) of the policy's groups, in order."""
    return tuple(dict.fromkeys(r for group in spec.groups for r in groups.references(group)))


SELF_APPROVAL = (
    "you asked for this run: someone else must approve it (self-approval is never allowed)"
)


def _identities(identity: str, aliases: Collection[str]) -> frozenset[str]:
    return frozenset(i.strip().lower() for i in (identity, *aliases) if i.strip())


def _self_approval(who: frozenset[str], requester: str) -> str | None:
    if requester.strip().lower() in who:
        return SELF_APPROVAL
    return None


def _not_an_approver(spec: ApprovalSpec) -> str:
    allowed = ", ".join(
        [*(f"group {g}" for g in spec.groups), *(u for u in spec.users if matchable(u))]
    )
    return f"you are not an approver for this runbook (allowed: {allowed})"


def may_approve(
    *,
    identity: str,
    requester: str,
    spec: ApprovalSpec,
    groups: ApprovalGroups,
    aliases: Collection[str] = (),
) -> str | None:
    """Why ``identity`` may not approve, or None when it may (listed identities only).

    Group references are not resolved here; `check_approver` resolves them.

    Args:
        identity: The clicker's resolved identity (the e-mail when known).
        requester: The requester's identity.
        spec: The runbook's approval policy.
        groups: The approval groups.
        aliases: The clicker's other verified identities (``slack:U0123``): any of them
            may match the policy.

    Returns:
        A reason for a refusal, or None.
    """
    who = _identities(identity, aliases)
    reason = _self_approval(who, requester)
    if reason is not None:
        return reason
    if not who & eligible_approvers(spec=spec, groups=groups):
        return _not_an_approver(spec)
    return None


async def check_approver(
    *,
    identity: str,
    requester: str,
    spec: ApprovalSpec,
    groups: ApprovalGroups,
    directory: GroupDirectory | None,
    aliases: Collection[str] = (),
) -> str | None:
    """Why ``identity`` may not approve, or None when it may, resolving group references.

    Eligible: named in the policy (users, group members), or a member of a group reference
    that ``directory`` resolves. The directory is asked only when the listed identities do
    not already decide. A failed lookup counts as "not a member" and, when nothing else makes
    the person eligible, the reason says the membership could not be checked.

    Args:
        identity: The clicker's resolved identity.
        requester: The requester's identity.
        spec: The runbook's approval policy.
        groups: The approval groups.
        directory: Resolves group references; None resolves none.
        aliases: The clicker's other verified identities (see `may_approve`).

    Returns:
        A reason for a refusal, or None.
    """
    reason = may_approve(
        identity=identity, requester=requester, spec=spec, groups=groups, aliases=aliases
    )
    references = group_references(spec=spec, groups=groups)
    who = _identities(identity, aliases)
    if reason is None or not references or _self_approval(who, requester):
        return reason
    failed: list[str] = []
    for reference in references:
        if directory is None:
            log.warning(
                "runbook.group_unresolvable",
                reference=reference,
                hint="no group directory is configured: only listed identities can approve",
            )
            continue
        try:
            found = await directory.members(reference)
        except GroupLookupError as exc:
            log.warning(
                "runbook.group_lookup_failed",
                reference=reference,
                identity=identity.strip().lower(),
                error=exc.reason,
                hint="the person is treated as not a member of this group",
            )
            failed.append(reference)
            continue
        if found is None:
            log.warning(
                "runbook.group_unresolvable",
                reference=reference,
                hint="this deployment cannot resolve the reference (is its platform enabled?)",
            )
            continue
        if who & found:
            return None
    if failed:
        names = ", ".join(describe_reference(r) for r in failed)
        return (
            f"could not check your membership of the {names}; ask an admin "
            "(the lookup failed, see the log; nothing was done)"
        )
    return reason
