"""What the alert layer remembers per alert, and the pure rules of what to do next.

`AlertState` is one alert on one platform (Slack or Teams): where its message is, whether
it is open, held back by the rate limit (it is in the channel's digest), or closed, and
the values it shows (`fingerprint`). `Attention` is what people did about a finding (ack,
snooze), shared by every platform and replica. `next_step` decides, from those and the
finding as it holds now, whether to open, update, remind or keep quiet.

Noise rules (see docs/watch-alerts.md):

- one alert per ``Finding.key``; a changed value (probability, ETA, explanation) updates
  it in place (an edit notifies nobody);
- a warning that turns critical says so once in the alert's thread, unless acknowledged
  or snoozed;
- a snoozed alert is left alone until the snooze ends; if the condition still holds then,
  one reminder goes into its thread.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from agents.watch.model import Finding, FindingKind, Severity

__all__ = [
    "AlertState",
    "AlertStatus",
    "Attention",
    "FindingView",
    "Shown",
    "Step",
    "next_step",
]

# Kinds whose text counts down every cycle: their card changes only on stable parts.
_LIVE_KINDS = frozenset({FindingKind.DEADLINE_RISK, FindingKind.SLOW_RUNNING})
_ETA_STEP_S = 5 * 60


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class FindingView(_Model):
    """The parts of a `Finding` an alert shows and its buttons act on (stored, JSON)."""

    key: str
    kind: FindingKind
    object_id: str
    object_name: str
    plan_date: date
    severity: Severity
    headline: str
    explanation: str
    evidence: tuple[str, ...] = ()
    job_id: str | None = None
    run_id: str | None = None
    probability: float | None = None
    eta: datetime | None = None
    deadline: datetime | None = None
    chain: tuple[str, ...] = ()

    @classmethod
    def of(cls, finding: Finding) -> FindingView:
        """The view of a finding."""
        return cls(
            key=finding.key,
            kind=finding.kind,
            object_id=finding.object_id,
            object_name=finding.object_name,
            plan_date=finding.plan_date,
            severity=finding.severity,
            headline=finding.headline,
            explanation=finding.explanation,
            evidence=finding.evidence,
            job_id=finding.job_id,
            run_id=finding.run_id,
            probability=finding.probability,
            eta=finding.eta,
            deadline=finding.deadline,
            chain=finding.chain,
        )

    @property
    def fingerprint(self) -> str:
        """A digest of what the alert shows: a change means the card is updated in place.

        Live findings (deadline risk, slow running) carry a countdown ("12 min to the
        deadline", "47 min so far") and a fresh Monte Carlo median in their text, which
        change every cycle; their digest keeps only the stable parts (probability in
        5-point steps, ETA in 5-minute steps, deadline, chain), so the card is not
        edited every cycle. Other findings' text is stable and is part of the digest.
        """
        parts = [
            self.kind.value,
            self.severity.value,
            "" if self.probability is None else f"{round(self.probability * 20) * 5}",
            "" if self.eta is None else f"{int(self.eta.timestamp()) // _ETA_STEP_S}",
            "" if self.deadline is None else self.deadline.strftime("%Y-%m-%dT%H:%M"),
            ">".join(self.chain),
        ]
        if self.kind not in _LIVE_KINDS:
            parts += [self.headline, self.explanation, "\n".join(self.evidence)]
        elif self.kind is FindingKind.DEADLINE_RISK:
            parts.append("\n".join(self.evidence))  # the failures it waits on: no countdown
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class AlertStatus(StrEnum):
    """Where an alert stands on one platform."""

    OPEN = "open"
    HELD = "held"  # over the channel's hourly rate: listed in the digest, no card
    CLOSED = "closed"


class Shown(_Model):
    """A posted message (mirrors `bot.core.port.Posted`, which the agents do not import)."""

    channel: str
    message_id: str
    thread: str | None = None


class AlertState(_Model):
    """One alert on one platform.

    Attributes:
        platform: ``slack`` or ``teams``.
        channel: The alerts channel it went to.
        generation: How often it was opened (a condition that ends and comes back is a new
            alert: a new post).
        status: Open, held (in the digest) or closed.
        view: The finding as last shown.
        message: The alert's message, once posted.
        fingerprint: What the message shows (`FindingView.fingerprint`).
        chart: The chart shown (base64 PNG), kept so a replaced card keeps it.
        as_of: The engine's time of the data last shown.
        opened_at: When it was posted (server clock).
        closed_at: When it was closed.
        closed_note: Why, as shown ("recovered", "missed at 04:12").
        reminded_until: The snooze end a reminder was already posted for.
    """

    platform: str
    channel: str
    generation: int = 1
    status: AlertStatus
    view: FindingView
    message: Shown | None = None
    fingerprint: str = ""
    chart: str | None = None
    as_of: datetime | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    closed_note: str | None = None
    reminded_until: datetime | None = None


class Attention(_Model):
    """What people did about a finding, on any platform.

    Attributes:
        acked_by: Who acknowledged it (display name), None while nobody did.
        acked_at: When.
        snoozed_until: Quiet until then (server clock, UTC).
        snoozed_by: Who snoozed it.
    """

    acked_by: str | None = None
    acked_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None

    def snoozed(self, now: datetime) -> bool:
        """Whether the snooze still runs at ``now``."""
        return self.snoozed_until is not None and now < self.snoozed_until


class Step(StrEnum):
    """What to do with one finding on one platform this cycle."""

    OPEN = "open"  # post a new alert (rate limit permitting)
    UPDATE = "update"  # replace the card in place (silent)
    ESCALATE = "escalate"  # replace, and say once in the thread that it turned critical
    REMIND = "remind"  # replace, and say in the thread that it still holds after a snooze
    QUIET = "quiet"  # nothing to do


def next_step(
    state: AlertState | None, view: FindingView, attention: Attention, *, now: datetime
) -> Step:
    """Decide what one finding needs now (pure).

    Args:
        state: The alert on this platform, if any.
        view: The finding as it holds now.
        attention: Ack and snooze.
        now: Server time (UTC).

    Returns:
        The step.
    """
    if state is None or state.status is not AlertStatus.OPEN or state.message is None:
        return Step.OPEN
    if attention.snoozed(now):
        return Step.QUIET
    snooze_end = attention.snoozed_until
    if snooze_end is not None and state.reminded_until != snooze_end:
        return Step.REMIND
    turned_critical = (
        view.severity is Severity.CRITICAL and state.view.severity is not Severity.CRITICAL
    )
    if turned_critical and attention.acked_by is None:
        return Step.ESCALATE
    if view.fingerprint != state.fingerprint:
        return Step.UPDATE
    return Step.QUIET
