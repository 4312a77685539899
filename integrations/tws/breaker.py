"""A small circuit breaker for calls to the engine.

After ``threshold`` consecutive failures the circuit opens: calls fail at once with
`CircuitOpenError` instead of piling up on a master that is down (each would otherwise
wait for its own timeout). After ``reset_seconds`` one trial call is let through
(half-open); its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Counts consecutive failures and decides whether a call may be attempted."""

    def __init__(
        self,
        *,
        threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a closed breaker.

        Args:
            threshold: Consecutive failures that open the circuit (0 disables the breaker).
            reset_seconds: How long the circuit stays open before a trial call.
            clock: Monotonic clock in seconds (injectable for tests).
        """
        self._threshold = threshold
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_seconds:
            return "half-open"
        return "open"

    def retry_after(self) -> float:
        """Seconds until a trial call is allowed (0 when one is allowed now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._reset_seconds - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may be attempted now; claims the single half-open trial."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def release_trial(self) -> None:
        """The trial call ended without a verdict (cancelled, e.g. by a time limit): allow another."""
        self._trial_in_flight = False

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        """A call failed because the engine was unavailable."""
        self._failures += 1
        self._trial_in_flight = False
        if self._threshold > 0 and (
            self._failures >= self._threshold or self._opened_at is not None
        ):
            self._opened_at = self._clock()
