"""Who is asking: the Teams user behind an activity, as an `Actor`.

The activity's ``from`` carries the Teams id (``29:...``), the display name and usually
the AAD object id; the UPN comes from the connector's member lookup
(``GET /v3/conversations/{id}/members/{userId}``, what ``TeamsInfo.get_member`` calls),
cached in the store for an hour. When the lookup fails the actor has no e-mail and its
identity falls back to ``teams:<aad id>``: approvals that need an e-mail then refuse.
"""

from __future__ import annotations

import json
from typing import Any, Final

import structlog

from bot.messages import Actor, Platform
from bot.teams.connector import ConnectorClient, ConnectorError
from bot.teams.escape import strip_control
from integrations.store import Store, StoreError

__all__ = ["resolve_actor"]

log = structlog.get_logger(__name__)

_MEMBER_TTL_SECONDS: Final = 3600.0


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


async def _member(
    *,
    activity: dict[str, Any],
    sender_id: str,
    connector: ConnectorClient,
    store: Store,
) -> dict[str, Any]:
    key = f"teams:member:{sender_id}"
    try:
        cached = await store.get(key)
    except StoreError:
        cached = None
    if cached is not None:
        loaded = json.loads(cached)
        return loaded if isinstance(loaded, dict) else {}
    conversation_id = str((activity.get("conversation") or {}).get("id") or "")
    service_url = str(activity.get("serviceUrl") or "")
    try:
        member = await connector.get_member(
            service_url=service_url,
            conversation_id=conversation_id.split(";messageid=")[0],
            member_id=sender_id,
        )
    except ConnectorError as exc:
        log.warning("teams.member_lookup_failed", member=sender_id, error=str(exc))
        return {}
    kept = {
        k: member[k]
        for k in ("name", "email", "userPrincipalName", "aadObjectId")
        if isinstance(member.get(k), str)
    }
    try:
        await store.put(key, json.dumps(kept), ttl_seconds=_MEMBER_TTL_SECONDS)
    except StoreError:
        log.warning("teams.member_cache_failed", member=sender_id)
    return kept


async def resolve_actor(
    *, activity: dict[str, Any], connector: ConnectorClient, store: Store
) -> Actor:
    """Resolve the sender of an activity.

    Args:
        activity: The inbound activity JSON.
        connector: For the member lookup.
        store: Member cache.

    Returns:
        ``Actor(platform=TEAMS, user_id=AAD object id, display_name, email=UPN)``.
    """
    sender: dict[str, Any] = activity.get("from") or {}
    sender_id = _text(sender.get("id")) or "unknown"
    member = await _member(activity=activity, sender_id=sender_id, connector=connector, store=store)
    user_id = _text(sender.get("aadObjectId")) or _text(member.get("aadObjectId")) or sender_id
    name = _text(member.get("name")) or _text(sender.get("name")) or user_id
    email = (
        _text(member.get("userPrincipalName"))
        or _text(member.get("email"))
        or _text(sender.get("email"))
    )
    return Actor(
        platform=Platform.TEAMS,
        user_id=user_id,
        display_name=strip_control(name)[:120],
        email=email,
    )
