"""HMAC-signed button values, so that a forged or edited value is refused.

A value is ``request_id.decision.nonce.signature`` where the signature is
HMAC-SHA256(key, ``request_id|decision|nonce``) truncated to 32 hex digits. The nonce
changes with every approval round, so a card from an earlier round is refused as stale.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from agents.runbooks.decisions import DecisionKind

__all__ = ["ACTION_IDS", "ButtonSigner", "ForgedValueError", "SignedValue"]

ACTION_IDS: dict[DecisionKind, str] = {
    DecisionKind.APPROVE: "runbook.approve",
    DecisionKind.REJECT: "runbook.reject",
    DecisionKind.DRY_RUN: "runbook.dry_run",
}


class ForgedValueError(ValueError):
    """A button value that was not signed by this deployment (or was edited)."""


@dataclass(frozen=True, slots=True)
class SignedValue:
    """The parts of a button value."""

    request_id: str
    decision: DecisionKind
    nonce: str
    signature: str


class ButtonSigner:
    """Signs and checks button values with a secret key."""

    def __init__(self, key: bytes) -> None:
        """Use ``key`` (at least 16 bytes; e.g. from settings, shared by every replica).

        Raises:
            ValueError: The key is too short.
        """
        if len(key) < 16:
            raise ValueError("the button signing key needs at least 16 bytes")
        self._key = key

    def signature(self, *, request_id: str, decision: DecisionKind, nonce: str) -> str:
        """The signature of one button."""
        message = f"{request_id}|{decision.value}|{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def value(self, *, request_id: str, decision: DecisionKind, nonce: str) -> str:
        """The button value to put on a card."""
        sig = self.signature(request_id=request_id, decision=decision, nonce=nonce)
        return f"{request_id}.{decision.value}.{nonce}.{sig}"

    def verify(
        self, *, request_id: str, decision: DecisionKind, nonce: str, signature: str
    ) -> bool:
        """True when ``signature`` was made by this key for exactly these fields."""
        expected = self.signature(request_id=request_id, decision=decision, nonce=nonce)
        return hmac.compare_digest(expected, signature)

    def parse(self, *, action_id: str, value: str) -> SignedValue:
        """Split and check a clicked button's action id and value.

        Args:
            action_id: The button's action id (``runbook.approve`` ...).
            value: The button's value as the platform returned it.

        Returns:
            The checked parts.

        Raises:
            ForgedValueError: Malformed, action id and value disagree, or a bad signature.
        """
        parts = value.split(".")
        if len(parts) != 4:
            raise ForgedValueError("the button value is malformed")
        request_id, decision_text, nonce, signature = parts
        try:
            decision = DecisionKind(decision_text)
        except ValueError:
            raise ForgedValueError("the button value names no known decision") from None
        if ACTION_IDS.get(decision) != action_id:  # a rule's approval has no button
            raise ForgedValueError("the button's action and value disagree")
        if not self.verify(
            request_id=request_id, decision=decision, nonce=nonce, signature=signature
        ):
            raise ForgedValueError("the button value's signature is not valid")
        return SignedValue(request_id, decision, nonce, signature)
