"""Request records, the per-request step journal, leases and fencing tokens, in the `Store`.

Everything goes through the `Store` protocol, so several replicas share it through Redis:

- ``rb:req:{id}``: the `RequestRecord` (JSON); every change is a read-modify-write under the
  short lock lease ``rb:lock:{id}``.
- ``rb:drive:{id}``: the lease of the replica that drives the request's flow (resumes the
  graph, executes); renewed while steps run.
- ``rb:fence:{id}:{n}``: fencing tokens. A token is the smallest ``n`` whose key can still be
  claimed (``SET NX``), starting after the hint ``rb:fencehint:{id}``; claimed keys always form
  a prefix ``1..m``, so each new token is larger than every earlier one. The record keeps the
  current executor's token; a step journal write with an older token raises `FencedOutError`.
- ``rb:step:{id}:{i}``: the journal entry of step ``i`` (started with the plan before it,
  then done / failed): a step once done is never redone.
- ``rb:target:{plan id}``: which request changes a job or job stream now (a lease whose owner
  is the request id, `agents.runbooks.targets`).
- ``rb:active``: the ids of requests not yet finished, for recovery after a restart.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.runbooks.errors import FencedOutError
from agents.runbooks.params import ResolvedParam
from integrations.store.base import Store, StoreError

__all__ = [
    "Approval",
    "CardPlace",
    "HistoryEntry",
    "LockSkippedError",
    "RequestJournal",
    "RequestRecord",
    "RequestStatus",
    "StepEntry",
]

_KEEP_SECONDS = 14 * 24 * 3600
_LOCK_SECONDS = 5.0
_LOCK_WAIT_SECONDS = 15.0


class LockSkippedError(Exception):
    """The wait for a lock was abandoned because the caller no longer needs it."""


class RequestStatus(StrEnum):
    """Where a request is."""

    PENDING = "pending"  # waiting for approvals
    APPROVED = "approved"  # policy met, execution about to start
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NEEDS_PERSON = "needs_person"  # stopped; a person must look (see outcome)
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """True when nothing more will happen."""
        return self in _FINAL


_FINAL = {
    RequestStatus.SUCCEEDED,
    RequestStatus.FAILED,
    RequestStatus.NEEDS_PERSON,
    RequestStatus.REJECTED,
    RequestStatus.EXPIRED,
}


class Approval(BaseModel):
    """One approval: who, when, and the binding (runbook, parameters, plan) approved."""

    identity: str
    user_id: str
    platform: str
    name: str
    at: datetime
    binding: str


class HistoryEntry(BaseModel):
    """One line of the card's history: who decided what, or what happened."""

    at: datetime
    who: str
    what: str


class CardPlace(BaseModel):
    """Where a request's approval card is, so any replica can replace it.

    Attributes:
        platform: ``slack`` or ``teams``.
        channel: The channel or conversation (Teams: without ``;messageid=``).
        message_id: The card's message (Slack ``ts``, Teams activity id).
        thread: The thread it is in, None at top level.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    channel: str
    message_id: str
    thread: str | None = None


class RequestRecord(BaseModel):
    """A runbook request, as all replicas see it.

    ``revision`` goes up with every save: a card rendered from the record carries it, so a
    late (retried) card update never replaces a newer one. ``card`` is where the approval
    card is (set when it is posted and when it is clicked).
    """

    model_config = ConfigDict(validate_assignment=True)

    id: str
    runbook_id: str
    version: int
    digest: str
    values: dict[str, str]
    params: dict[str, dict[str, str]]
    requester_identity: str
    requester_id: str
    requester_platform: str
    requester_name: str
    channel: str | None = None
    thread: str | None = None
    created_at: datetime
    expires_at: datetime
    status: RequestStatus = RequestStatus.PENDING
    round: int = 1
    nonce: str = Field(default_factory=lambda: secrets.token_hex(8))
    plan_digest: str
    plan_items: dict[str, dict[str, object]] = Field(default_factory=dict)
    impact: dict[str, list[str]] = Field(default_factory=dict)
    binding: str
    approvals: list[Approval] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    exec_token: int = 0
    outcome: str | None = None
    report: list[str] = Field(default_factory=list)
    revision: int = 0
    card: CardPlace | None = None

    def resolved(self) -> dict[str, ResolvedParam]:
        """The resolved parameters."""
        return {name: ResolvedParam.from_dict(data) for name, data in self.params.items()}


class StepEntry(BaseModel):
    """The journal of one step."""

    index: int
    state: Literal["started", "done", "failed"]
    token: int
    attempt: int = 1
    before: dict[str, object] = Field(default_factory=dict)
    note: str = ""


class RequestJournal:
    """Typed access to a request's keys in the store."""

    def __init__(self, *, store: Store, namespace: str = "rb:") -> None:
        """Use ``store``; keys start with ``namespace``.

        Args:
            store: The shared store.
            namespace: Key prefix of this service's keys.
        """
        self._store = store
        self._ns = namespace
        self._owner = secrets.token_hex(8)

    @property
    def store(self) -> Store:
        """The store."""
        return self._store

    def _key(self, *parts: object) -> str:
        return self._ns + ":".join(str(p) for p in parts)

    @asynccontextmanager
    async def locked(
        self, name: str, *, give_up: Callable[[], Awaitable[bool]] | None = None
    ) -> AsyncIterator[None]:
        """Hold the short lock ``rb:lock:{name}`` (spins with backoff).

        Args:
            name: What to lock (a request id).
            give_up: Asked between attempts; True abandons the wait (`LockSkippedError`).

        Raises:
            StoreError: The lock could not be taken in time.
            LockSkippedError: ``give_up`` said the lock is no longer needed.
        """
        key = self._key("lock", name)
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        delay = 0.001
        while not await self._store.acquire_lease(key, owner=owner, ttl_seconds=_LOCK_SECONDS):
            if time.monotonic() > deadline:
                raise StoreError(f"could not lock {key} within {_LOCK_WAIT_SECONDS:g} s")
            if give_up is not None and await give_up():
                raise LockSkippedError(key)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.01)
        try:
            yield
        finally:
            await self._store.release_lease(key, owner=owner)

    async def load(self, request_id: str) -> RequestRecord | None:
        """The record, or None."""
        raw = await self._store.get(self._key("req", request_id))
        return None if raw is None else RequestRecord.model_validate_json(raw)

    async def save(self, record: RequestRecord) -> None:
        """Write the record (call under `locked`); its ``revision`` goes up by one."""
        record.revision += 1
        await self._store.put(
            self._key("req", record.id), record.model_dump_json(), ttl_seconds=_KEEP_SECONDS
        )

    # --- the drive lease and fencing tokens --------------------------------------------

    async def take_drive(self, request_id: str, *, ttl_seconds: float) -> bool:
        """Take (or renew) the lease to drive this request; True when this journal holds it."""
        return await self._store.acquire_lease(
            self._key("drive", request_id), owner=self._owner, ttl_seconds=ttl_seconds
        )

    async def drop_drive(self, request_id: str) -> None:
        """Release the drive lease if held."""
        await self._store.release_lease(self._key("drive", request_id), owner=self._owner)

    async def drive_holder(self, request_id: str) -> str | None:
        """Which replica drives the request now (an opaque id), or None when nobody does.

        Read only; recovery and tests use it to tell a live driver from an expired lease.
        """
        return await self._store.get(self._key("drive", request_id))

    async def next_token(self, request_id: str) -> int:
        """A fencing token larger than every token handed out before for this request."""
        hint_key = self._key("fencehint", request_id)
        hint = int(await self._store.get(hint_key) or 0)
        candidate = hint + 1
        while not await self._store.claim(
            self._key("fence", request_id, candidate), ttl_seconds=_KEEP_SECONDS
        ):
            candidate += 1
        await self._store.put(hint_key, str(candidate), ttl_seconds=_KEEP_SECONDS)
        return candidate

    async def check_token(self, request_id: str, token: int) -> RequestRecord:
        """The record, if ``token`` is still the current executor's (call under `locked`).

        Raises:
            FencedOutError: A newer executor took over, or the record is gone.
        """
        record = await self.load(request_id)
        if record is None or record.exec_token != token:
            current = record.exec_token if record else "none"
            raise FencedOutError(
                f"request {request_id}: fencing token {token} is stale (current {current})"
            )
        return record

    # --- targets: one open execution per job or job stream ------------------------------

    async def hold_target(self, ref: str, *, request_id: str, ttl_seconds: float) -> bool:
        """Take (or renew) the hold of ``request_id`` on the plan object ``ref``."""
        return await self._store.acquire_lease(
            self._key("target", ref), owner=request_id, ttl_seconds=ttl_seconds
        )

    async def target_holder(self, ref: str) -> str | None:
        """The id of the request holding ``ref``, or None."""
        return await self._store.get(self._key("target", ref))

    async def drop_target(self, ref: str, *, request_id: str) -> None:
        """Release ``ref`` if ``request_id`` holds it."""
        await self._store.release_lease(self._key("target", ref), owner=request_id)

    # --- the step journal -------------------------------------------------------------

    async def step(self, request_id: str, index: int) -> StepEntry | None:
        """The journal entry of a step, or None when it never started."""
        raw = await self._store.get(self._key("step", request_id, index))
        return None if raw is None else StepEntry.model_validate_json(raw)

    async def write_step(self, request_id: str, entry: StepEntry) -> None:
        """Write a step entry if ``entry.token`` is current (fenced).

        Raises:
            FencedOutError: A newer executor holds the request.
        """
        async with self.locked(request_id):
            await self.check_token(request_id, entry.token)
            await self._store.put(
                self._key("step", request_id, entry.index),
                entry.model_dump_json(),
                ttl_seconds=_KEEP_SECONDS,
            )

    async def once(self, request_id: str, what: str) -> bool:
        """True the first time ``what`` happens for this request (e.g. posting the outcome)."""
        return await self._store.claim(
            self._key("once", request_id, what), ttl_seconds=_KEEP_SECONDS
        )

    # --- the index of open requests ---------------------------------------------------

    async def active(self) -> list[str]:
        """Ids of requests not finished yet."""
        raw = await self._store.get(self._key("active"))
        return list(json.loads(raw)) if raw else []

    async def set_active(self, request_id: str, *, active: bool) -> None:
        """Add a request to the index of open requests, or remove it."""
        async with self.locked("active-index"):
            ids = await self.active()
            if active and request_id not in ids:
                ids.append(request_id)
            elif not active and request_id in ids:
                ids.remove(request_id)
            else:
                return
            await self._store.put(self._key("active"), json.dumps(ids))
