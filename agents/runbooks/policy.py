"""Approval groups and who may approve a runbook request.

Groups come from ``config/approval_policy.yaml`` (``groups: {name: [identity, ...]}``);
identities are e-mail addresses or ``slack:U…`` / ``teams:…`` ids, compared case-blind.
Self-approval is never allowed, whatever the policy says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from agents.runbooks.catalog import ApprovalSpec
from agents.runbooks.errors import CatalogError, Problem

__all__ = ["DEFAULT_POLICY_FILE", "ApprovalGroups", "eligible_approvers", "may_approve"]

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[2] / "config" / "approval_policy.yaml"


class ApprovalGroups:
    """Named lists of identities."""

    def __init__(self, groups: Mapping[str, list[str]]) -> None:
        """Keep the groups (identities lower-cased)."""
        self._groups = {
            name: frozenset(member.strip().lower() for member in members)
            for name, members in groups.items()
        }

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY_FILE) -> ApprovalGroups:
        """Read a policy file.

        Args:
            path: A YAML file with ``groups: {name: [identity, ...]}``.

        Returns:
            The groups.

        Raises:
            CatalogError: The file is unreadable or not of that shape.
        """
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogError([Problem(str(path), 0, "", f"cannot read: {exc}")]) from None
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, dict) or not all(
            isinstance(members, list) and all(isinstance(m, str) for m in members)
            for members in groups.values()
        ):
            raise CatalogError(
                [Problem(str(path), 1, "groups", "expected groups: {name: [identity, ...]}")]
            )
        return cls(groups)

    def members(self, group: str) -> frozenset[str]:
        """Identities in a group (empty when unknown)."""
        return self._groups.get(group, frozenset())

    def names(self) -> list[str]:
        """The group names."""
        return sorted(self._groups)


def eligible_approvers(*, spec: ApprovalSpec, groups: ApprovalGroups) -> frozenset[str]:
    """Every identity the policy names (users and group members)."""
    found = set(spec.users)
    for group in spec.groups:
        found |= groups.members(group)
    return frozenset(found)


def may_approve(
    *, identity: str, requester: str, spec: ApprovalSpec, groups: ApprovalGroups
) -> str | None:
    """Why ``identity`` may not approve, or None when it may.

    Args:
        identity: The clicker's resolved identity.
        requester: The requester's identity.
        spec: The runbook's approval policy.
        groups: The approval groups.

    Returns:
        A reason for a refusal, or None.
    """
    who = identity.strip().lower()
    if who == requester.strip().lower():
        return (
            "you asked for this run: someone else must approve it (self-approval is never allowed)"
        )
    if who not in eligible_approvers(spec=spec, groups=groups):
        allowed = ", ".join([*(f"group {g}" for g in spec.groups), *spec.users])
        return f"you are not an approver for this runbook (allowed: {allowed})"
    return None
