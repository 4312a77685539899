"""One forwarding replica at a time: a lease in the shared store (`LEASE_KEY`).

Every replica of ``resync serve`` reads the same audit log (PostgreSQL), so without a guard
each would send the whole log to the SIEM. The replica holding the lease forwards; the
others ask for it every third of its life. The holder renews it every third of its life;
when a renewal fails (another replica holds it, or the store cannot be reached) it stops
forwarding after the batch in flight and goes back to asking. A leader that dies without
releasing is replaced once its lease lapses, within two lease periods; one that stops
cleanly releases it and is replaced within a third of a period.

Delivery stays at-least-once: a batch a former leader had in flight when its lease lapsed
may be sent again by the next one. The cursor is a file per destination in ``data_dir``
(`cursor`): a takeover continues from where the previous leader stopped only when the
replicas share that directory; see docs/audit.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Final

import structlog

from integrations.audit.forward.forwarder import Forwarder
from integrations.store.base import Store, StoreError

__all__ = ["LEASE_KEY", "LEASE_SECONDS", "ForwardingLease", "forward_while_leader"]

log = structlog.get_logger(__name__)

LEASE_KEY: Final = "siem:forwarder"
LEASE_SECONDS: Final = 30.0


class ForwardingLease:
    """The forwarding lease of one replica: take it, keep it, give it back."""

    def __init__(
        self, store: Store, *, owner: str | None = None, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        """Name this replica in the lease.

        Args:
            store: The store shared by the replicas (Redis in a multi-replica deployment).
            owner: This replica's name in the lease; default host, process id and a random
                suffix (two processes never share it).
            lease_seconds: The lease's time to live; it is renewed every third of it.
        """
        self.store = store
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds

    async def try_take(self) -> bool:
        """Take or renew the lease; False when another replica holds it or the store fails."""
        try:
            return await self.store.acquire_lease(
                LEASE_KEY, owner=self.owner, ttl_seconds=self.lease_seconds
            )
        except StoreError as exc:
            log.error("audit.forward.lease_failed", owner=self.owner, problem=str(exc))
            return False

    async def wait_for(self, stop: asyncio.Event) -> bool:
        """Ask for the lease every third of its life until taken or ``stop`` is set.

        Returns:
            True when this replica holds the lease, False when stopped first.
        """
        while not stop.is_set():
            if await self.try_take():
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.lease_seconds / 3)
        return False

    async def keep(self, term: asyncio.Event, stop: asyncio.Event) -> None:
        """Renew every third of the lease's life; set ``term`` on ``stop`` or when it is lost."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.lease_seconds / 3)
            if stop.is_set():
                break
            if not await self.try_take():
                log.warning("audit.forward.lease_lost", owner=self.owner)
                break
        term.set()

    async def release(self) -> None:
        """Give the lease back (if held) so that another replica takes over at once."""
        try:
            if await self.store.release_lease(LEASE_KEY, owner=self.owner):
                log.info("audit.forward.lease_released", owner=self.owner)
        except StoreError as exc:  # it lapses on its own
            log.error("audit.forward.lease_failed", owner=self.owner, problem=str(exc))


async def forward_while_leader(
    forwarders: Sequence[Forwarder], lease: ForwardingLease, stop: asyncio.Event
) -> None:
    """Run the forwarders only while this replica holds the lease, until ``stop`` is set.

    Each term starts from the cursors as saved (another replica may have moved them) and
    ends after the batch in flight when the lease is lost or ``stop`` is set. Never raises
    for a store problem (a failed renewal ends the term; asking goes on).

    Args:
        forwarders: One per destination.
        lease: This replica's lease.
        stop: Set at shutdown; the lease is released.
    """
    try:
        while await lease.wait_for(stop):
            log.info("audit.forward.leading", owner=lease.owner)
            term = asyncio.Event()
            keeper = asyncio.create_task(lease.keep(term, stop), name="siem-forward-lease")
            try:
                for forwarder in forwarders:
                    forwarder.reload_cursor()
                await asyncio.gather(*(forwarder.run_forever(term) for forwarder in forwarders))
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
                for forwarder in forwarders:
                    forwarder.stand_by()
            log.info("audit.forward.following", owner=lease.owner)
    finally:
        await lease.release()
