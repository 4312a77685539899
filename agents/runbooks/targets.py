"""One open execution per target: a job or job stream is changed by one request at a time.

Two requests for the same job approved at the same moment (on one replica or on several)
would both pass their recheck, since the plan has not moved yet, and both send their call.
So a request holds every target of its action steps, a lease ``rb:target:{plan id}`` whose
owner is the request id, from the start of its recheck until it finishes. The recheck runs
after the hold is taken: a request that gets the hold after another one ran sees the plan
moved and goes back to approval. A request that finds its target held is refused ("nothing
was run") and told which request holds it.

The hold is keyed by the request, not the replica, so a replica that takes over a run (or
recovers it after a restart) keeps it. It is renewed with the drive lease between steps and
while waiting; `HOLD_SECONDS` lets a run whose replicas all died free its targets in the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import structlog

from agents.runbooks.catalog import ActionStep, Runbook
from agents.runbooks.journal import RequestJournal
from agents.runbooks.params import ResolvedParam

__all__ = ["HOLD_SECONDS", "Busy", "TargetClaims", "action_targets"]

log = structlog.get_logger(__name__)

HOLD_SECONDS: Final = 600.0


def action_targets(*, runbook: Runbook, params: Mapping[str, ResolvedParam]) -> list[ResolvedParam]:
    """The plan objects the runbook's action steps change, each once, in a fixed order.

    The order (by plan id) is the same for every request, so two requests taking holds on
    the same two objects cannot each end up with one of them.

    Args:
        runbook: The runbook.
        params: The request's resolved parameters.

    Returns:
        The targets (empty for a read-only runbook).
    """
    found = {
        params[step.target].ref: params[step.target]
        for step in runbook.steps
        if isinstance(step, ActionStep) and step.target in params
    }
    return [found[ref] for ref in sorted(found)]


@dataclass(frozen=True, slots=True)
class Busy:
    """A target another request holds.

    Attributes:
        target: The target as people read it (``STREAM.JOB``).
        holder: The id of the request that holds it.
    """

    target: str
    holder: str


class TargetClaims:
    """Takes, renews and releases a request's holds on its targets."""

    def __init__(self, *, journal: RequestJournal, hold_seconds: float = HOLD_SECONDS) -> None:
        """Keep holds in ``journal``'s store.

        Args:
            journal: Request records and the store.
            hold_seconds: How long a hold lives without being renewed.
        """
        self._journal = journal
        self._hold = hold_seconds

    async def claim(self, *, request_id: str, targets: Sequence[ResolvedParam]) -> Busy | None:
        """Hold every target for ``request_id`` (or renew its holds), or none of them.

        Args:
            request_id: The request.
            targets: From `action_targets`.

        Returns:
            None when the request holds all of them now; else the first one held by
            another request (the holds taken by this call are given back).
        """
        taken: list[ResolvedParam] = []
        for target in targets:
            if await self._journal.hold_target(
                target.ref, request_id=request_id, ttl_seconds=self._hold
            ):
                taken.append(target)
                continue
            holder = await self._journal.target_holder(target.ref)
            if holder is None or holder == request_id:  # released meanwhile: try once more
                if await self._journal.hold_target(
                    target.ref, request_id=request_id, ttl_seconds=self._hold
                ):
                    taken.append(target)
                    continue
                holder = await self._journal.target_holder(target.ref) or "?"
            await self.release(request_id=request_id, targets=taken)
            log.info("runbook.target_busy", request_id=request_id, target=target.ref, holder=holder)
            return Busy(target=target.display, holder=holder)
        return None

    async def renew(self, *, request_id: str, targets: Sequence[ResolvedParam]) -> None:
        """Extend the holds ``request_id`` still has (never takes a hold back).

        An executor that was taken over renews between its steps until it notices; it must
        not take back a hold the request's finisher already gave back.
        """
        for target in targets:
            if await self._journal.target_holder(target.ref) == request_id:
                await self._journal.hold_target(
                    target.ref, request_id=request_id, ttl_seconds=self._hold
                )

    async def release(self, *, request_id: str, targets: Sequence[ResolvedParam]) -> None:
        """Give back the holds ``request_id`` has on ``targets`` (others' holds stay)."""
        for target in targets:
            await self._journal.drop_target(target.ref, request_id=request_id)

    async def refusal(self, busy: Busy) -> str:
        """Why a request was not run, naming the request that holds its target.

        Args:
            busy: What `claim` found.

        Returns:
            One sentence for the requester and the clicker.
        """
        holder = await self._journal.load(busy.holder)
        about = ""
        if holder is not None:
            asked = holder.requester_name or holder.requester_identity
            about = f" ({holder.runbook_id}, asked by {asked})"
        return (
            f"nothing was run: {busy.target} is being changed by request {busy.holder}{about}; "
            "ask again once that request has finished"
        )
