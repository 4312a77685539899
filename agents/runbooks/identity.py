"""Whether two sightings of a person are the same person (approvals, self-approval)."""

from __future__ import annotations

__all__ = ["same_person"]


def same_person(
    *,
    identity: str,
    platform: str,
    user_id: str,
    other_identity: str,
    other_platform: str,
    other_user_id: str,
) -> bool:
    """Whether two sightings are the same person, whatever form their identity took.

    One person can appear as an e-mail (when the platform's profile lookup worked) and as
    ``platform:user`` (when it did not); comparing identity strings alone would let them
    approve their own request or count twice towards a quorum.

    Args:
        identity: The first identity (e-mail, or ``platform:user``).
        platform: Its platform.
        user_id: Its platform user id.
        other_identity: The second identity.
        other_platform: Its platform.
        other_user_id: Its platform user id.

    Returns:
        True when the identities, or the platform user ids, match.
    """
    first = {identity.strip().lower(), f"{platform}:{user_id}".lower()}
    second = {other_identity.strip().lower(), f"{other_platform}:{other_user_id}".lower()}
    return bool(first & second)
