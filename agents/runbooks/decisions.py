"""`Decision`: a click on an approval card, as every chat surface hands it over.

Adapters (Slack, Teams, terminal) build it from the button's action id and signed value
(`agents.runbooks.signing.ButtonSigner.parse`) and the resolved actor; nothing in it is
trusted until `RunbookService.decide` verified the signature and the policy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agents.messages import Reply
from agents.runbooks.journal import CardPlace

__all__ = ["Decision", "DecisionKind", "DecisionResult", "DecisionStatus"]


class DecisionKind(StrEnum):
    """What the clicker asks for (or, for ``RULE``, what an auto-remediation rule granted)."""

    APPROVE = "approve"
    REJECT = "reject"
    DRY_RUN = "dry_run"
    RULE = "rule"  # an auto-remediation rule's approval: never a button, never signed


class Decision(BaseModel):
    """One click on an approval card.

    Attributes:
        request_id: The runbook request.
        decision: approve, reject or dry_run.
        actor_identity: The resolved identity (e-mail, else ``platform:user``).
        actor_user_id: The platform user id.
        actor_platform: ``slack``, ``teams`` or ``console``.
        actor_name: Display name, for the card.
        nonce: The card's nonce, from the button value.
        signature: The button value's HMAC, from the button value.
        received_at: When the click arrived.
        card: Where the clicked card is (the record keeps it, so whichever replica finishes
            the run can replace the card); None when the surface does not say.
    """

    model_config = ConfigDict(frozen=True)

    request_id: str
    decision: DecisionKind
    actor_identity: str
    actor_user_id: str
    actor_platform: str
    actor_name: str = ""
    nonce: str
    signature: str
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    card: CardPlace | None = None


class DecisionStatus(StrEnum):
    """How a decision was taken."""

    RECORDED = "recorded"  # an approval counted, more are needed
    APPROVED = "approved"  # this approval completed the policy: the run started here
    EXECUTED = "executed"  # (same as approved, the run finished)
    REJECTED = "rejected"  # the request is rejected
    DRY_RUN = "dry_run"  # a dry run was shown
    REFUSED = "refused"  # not allowed: self-approval, not eligible, forged, stale card
    EXPIRED = "expired"
    ALREADY = "already"  # already running or done, or already decided
    UNKNOWN = "unknown"  # no such request


class DecisionResult(BaseModel):
    """What to tell the clicker, and the card to show in place of the old one.

    Attributes:
        status: What happened.
        message: One line for the clicker (ephemeral where the surface can).
        card: The updated card (who decided what), when it changed.
        outcome: The run's final reply, when this click ran it to the end.
        card_version: The revision of the request the card shows: a surface never lets it
            replace a card that already shows a newer one.
    """

    model_config = ConfigDict(frozen=True)

    status: DecisionStatus
    message: str
    card: Reply | None = None
    outcome: Reply | None = None
    card_version: int | None = None
