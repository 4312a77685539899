"""The simulator's clock: simulated time that runs ``speed`` times faster than real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = ["SimClock"]


class SimClock:
    """Maps real elapsed time onto simulated time.

    ``now = base_sim + (real_elapsed × speed)``. A speed of 0 freezes the clock; only
    `advance` and `set_to` move it then (what tests use).
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a clock.

        Args:
            start: Simulated time at creation (aware UTC).
            speed: Simulated seconds per real second; 0 freezes the clock.
            monotonic: Real-time source (injectable for tests).
        """
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._monotonic = monotonic
        self._base_sim = start
        self._base_real = monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """The current simulated time (aware UTC)."""
        elapsed = self._monotonic() - self._base_real
        return self._base_sim + timedelta(seconds=elapsed * self._speed)

    def _rebase(self) -> None:
        self._base_sim = self.now()
        self._base_real = self._monotonic()

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on.

        Args:
            speed: Simulated seconds per real second; 0 freezes the clock.

        Raises:
            ValueError: The speed is negative.
        """
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._rebase()
        self._speed = float(speed)

    def advance(self, seconds: float) -> datetime:
        """Jump forward.

        Args:
            seconds: Simulated seconds to add (must be >= 0).

        Returns:
            The new simulated time.

        Raises:
            ValueError: The jump is negative.
        """
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._rebase()
        self._base_sim += timedelta(seconds=seconds)
        return self._base_sim

    def set_to(self, when: datetime) -> datetime:
        """Jump forward to a given time.

        Args:
            when: The target simulated time (aware; not before now).

        Returns:
            The new simulated time.

        Raises:
            ValueError: The target lies in the past.
        """
        current = self.now()
        if when < current:
            raise ValueError("the clock only moves forward")
        return self.advance((when - current).total_seconds())
