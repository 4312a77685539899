"""`RoomMemory`: what incident rooms remember in the `Store` (channels, threads, posts by key).

Best effort: the store makes a repeated call cheap and exact (Redis survives restarts and is
shared by the replicas), but it is not the source of truth — Slack channels are found again
by name, and the service's places table records what was opened. A store failure is logged
(``store.unavailable``) and treated as "nothing remembered".
"""

from __future__ import annotations

from typing import Final

import structlog

from integrations.store import Store, StoreError

__all__ = ["REMEMBER_SECONDS", "RoomMemory"]

log = structlog.get_logger(__name__)

REMEMBER_SECONDS: Final = 400 * 86_400.0
"""How long a room or post is remembered (longer than any incident stays open)."""


class RoomMemory:
    """Keys and values under one namespace of the store."""

    def __init__(self, store: Store, namespace: str) -> None:
        """Remember under ``namespace`` (e.g. ``inc:rooms:slack:``) in ``store``."""
        self._store = store
        self._ns = namespace

    async def get(self, key: str) -> str | None:
        """The value remembered for ``key``; None when absent or the store failed."""
        try:
            return await self._store.get(self._ns + key)
        except StoreError as exc:
            log.error("store.unavailable", use="incident_rooms", error=str(exc)[:200])
            return None

    async def put(self, key: str, value: str) -> None:
        """Remember ``value`` for ``key`` (a store failure is logged)."""
        try:
            await self._store.put(self._ns + key, value, ttl_seconds=REMEMBER_SECONDS)
        except StoreError as exc:
            log.error("store.unavailable", use="incident_rooms", error=str(exc)[:200])
