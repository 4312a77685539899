"""Who is asking: the Teams user behind an activity, as an `Actor`.

The activity's ``from`` carries the Teams id (``29:...``), the display name and usually
the AAD object id; the UPN comes only from the connector's member lookup
(``GET /v3/conversations/{id}/members/{userId}``, what ``TeamsInfo.get_member`` calls),
cached in the store for an hour. Nothing in the activity body says who someone is:
``from.email`` and the like are not signed, so they are never read. When the lookup fails
the actor has no e-mail, its identity is ``teams:<aad id or from.id>``, and the `Sender`
is not ``verified``: such a person may ask questions but not press buttons that act
(`bot.teams.clicks`).

Unauthenticated (local) mode: nothing in the body is signed, so neither ``from.email`` nor
``from.aadObjectId`` nor a member lookup keyed by ``from.id`` says who is asking. The actor
is then ``teams:<from.id>`` without an e-mail, and the member lookup (for the display name
only) is made only when the activity's ``serviceUrl`` is a loopback address (the Bot
Framework Emulator); an unsigned body must not make Resync call arbitrary hosts.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import structlog

from agents.messages import Actor, Platform
from bot.teams.connector import ConnectorClient, ConnectorError
from bot.teams.escape import neutralise_text
from integrations.store import Store, StoreError

__all__ = ["Sender", "is_loopback_url", "resolve_sender"]

log = structlog.get_logger(__name__)

_MEMBER_TTL_SECONDS: Final = 3600.0


@dataclass(frozen=True, slots=True)
class Sender:
    """The sender of an activity and whether Teams vouched for who they are.

    Attributes:
        actor: The person.
        verified: True when the connector's member lookup (the conversation's roster)
            answered for them; False when it failed, and in local mode.
    """

    actor: Actor
    verified: bool


def is_loopback_url(url: str) -> bool:
    """Whether an http(s) URL points at this machine (``localhost``, 127.0.0.0/8, ``::1``).

    Args:
        url: The URL, e.g. an activity's ``serviceUrl``.

    Returns:
        True for a loopback host; False for any other host and for anything unparsable.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


async def _member(
    *,
    activity: dict[str, Any],
    sender_id: str,
    connector: ConnectorClient,
    store: Store,
    cache_prefix: str = "teams:member:",
) -> dict[str, Any]:
    key = f"{cache_prefix}{sender_id}"
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


async def resolve_sender(
    *,
    activity: dict[str, Any],
    connector: ConnectorClient,
    store: Store,
    authenticated: bool = True,
) -> Sender:
    """Resolve the sender of an activity through the conversation's roster.

    Args:
        activity: The inbound activity JSON.
        connector: For the member lookup.
        store: Member cache.
        authenticated: Whether the activity's token was validated. False (local mode):
            the actor is ``teams:<from.id>`` with no e-mail, whatever the body claims.

    Returns:
        ``Actor(platform=TEAMS, user_id=AAD object id, display_name, email=UPN)``, the
        e-mail only from the roster; ``verified`` when the roster answered.
    """
    sender: dict[str, Any] = activity.get("from") or {}
    sender_id = _text(sender.get("id")) or "unknown"
    if not authenticated:
        actor = await _unverified_actor(
            activity=activity, sender=sender, sender_id=sender_id, connector=connector, store=store
        )
        return Sender(actor=actor, verified=False)
    member = await _member(activity=activity, sender_id=sender_id, connector=connector, store=store)
    user_id = _text(member.get("aadObjectId")) or _text(sender.get("aadObjectId")) or sender_id
    name = _text(member.get("name")) or _text(sender.get("name")) or user_id
    email = _text(member.get("userPrincipalName")) or _text(member.get("email"))
    actor = Actor(
        platform=Platform.TEAMS,
        user_id=user_id,
        display_name=neutralise_text(name)[:120],
        email=email,
    )
    return Sender(actor=actor, verified=bool(member))


async def _unverified_actor(
    *,
    activity: dict[str, Any],
    sender: dict[str, Any],
    sender_id: str,
    connector: ConnectorClient,
    store: Store,
) -> Actor:
    """The sender of an unsigned activity: ``teams:<from.id>``, no e-mail, no AAD id."""
    member: dict[str, Any] = {}
    service_url = str(activity.get("serviceUrl") or "")
    if is_loopback_url(service_url):
        member = await _member(
            activity=activity,
            sender_id=sender_id,
            connector=connector,
            store=store,
            cache_prefix="teams:member-unverified:",  # never mixed with checked lookups
        )
    else:
        log.warning(
            "teams.member_lookup_refused",
            reason="unauthenticated mode: serviceUrl is not a loopback address",
            member=sender_id,
        )
    name = _text(member.get("name")) or _text(sender.get("name")) or sender_id
    return Actor(
        platform=Platform.TEAMS,
        user_id=sender_id,
        display_name=neutralise_text(name)[:120],
        email=None,
    )
