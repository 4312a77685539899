"""Fault injection on the engine paths: latency, errors, 503 bursts, drops, bad JSON."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FaultSettings", "Faults"]


@dataclass
class FaultSettings:
    """What goes wrong, as ``GET/PUT /_sim/faults`` shows it.

    Attributes:
        latencyMs: Delay added to every engine request.
        errorRate: Share of requests answered 500.
        burst5xx: The next N requests are answered 503.
        dropRate: Share of requests whose connection is closed without an answer.
        malformedRate: Share of requests answered 200 with invalid JSON.
    """

    latencyMs: int = 0  # noqa: N815 - the wire name
    errorRate: float = 0.0  # noqa: N815
    burst5xx: int = 0
    dropRate: float = 0.0  # noqa: N815
    malformedRate: float = 0.0  # noqa: N815

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON."""
        return asdict(self)


class Faults:
    """The current settings and the random source that decides each request's fate."""

    def __init__(self, seed: int, initial: Mapping[str, Any] | None = None) -> None:
        """Create with the scenario's initial settings.

        Args:
            seed: Random seed.
            initial: Initial settings (wire names).
        """
        self.settings = FaultSettings()
        self._rng = random.Random(seed * 7919 + 3)
        if initial:
            self.update(initial)

    def update(self, values: Mapping[str, Any]) -> FaultSettings:
        """Change some settings.

        Args:
            values: Wire names to new values.

        Returns:
            The settings after the change.

        Raises:
            ValueError: Unknown name or invalid value.
        """
        known = set(FaultSettings.__dataclass_fields__)
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            if name in ("latencyMs", "burst5xx"):
                number: float = int(value)
                if number < 0:
                    raise ValueError(f"{name} must be >= 0")
            else:
                number = float(value)
                if not 0.0 <= number <= 1.0:
                    raise ValueError(f"{name} must be between 0 and 1")
            setattr(self.settings, name, number)
        return self.settings

    def decide(self) -> str | None:
        """The fault for one request: ``burst``, ``error``, ``drop``, ``malformed`` or None."""
        s = self.settings
        if s.burst5xx > 0:
            s.burst5xx -= 1
            return "burst"
        if s.dropRate and self._rng.random() < s.dropRate:
            return "drop"
        if s.errorRate and self._rng.random() < s.errorRate:
            return "error"
        if s.malformedRate and self._rng.random() < s.malformedRate:
            return "malformed"
        return None
