"""What the watcher finds: the contract between detection (`agents.watch`) and alerts in chat.

Detection turns the plan and its history into `Finding` objects; the alert layer
(`agents.watch.alerts`, `bot.watch`) decides what to post, update, close or keep quiet. A
finding carries everything the alert shows: headline, explanation, evidence, and the numbers
a chart is drawn from (`ChartData`), so the chat layer never goes back to the engine to draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

__all__ = ["ChartData", "Finding", "FindingKind", "Severity", "WatchReport"]


class FindingKind(StrEnum):
    """What kind of trouble a finding is about."""

    FAILURE = "failure"  # a new ABEND/FAIL of one job run
    SLOW_RUNNING = "slow_running"  # still running, already past its baseline's upper bound
    DURATION = "duration"  # finished far outside its baseline (too long or suspiciously short)
    FAILURE_RATE = (
        "failure_rate"  # failing more often than its history supports / night after night
    )
    DEADLINE_RISK = "deadline_risk"  # probability of missing a deadline over the threshold
    WORKSTATION = "workstation"  # a workstation unlinked or down, with what it blocks


class Severity(StrEnum):
    """How loud an alert is."""

    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class ChartData:
    """The numbers behind an alert's chart (drawn by the chat layer, never fetched again).

    Attributes:
        kind: "durations" (recent nights with the baseline band and tonight) or "forecast"
            (the distribution of the expected end against the deadline).
        title: The chart's title.
        history: (night's date, minutes) of recent runs, oldest first ("durations").
        band: (low, high) minutes of the baseline's usual range ("durations").
        tonight: Tonight's minutes so far or finished, or the ETA in minutes ("durations").
        samples: Simulated end times, minutes after ``origin`` ("forecast").
        deadline: The deadline, minutes after ``origin`` ("forecast").
        origin: What minute 0 is ("forecast": now).
    """

    kind: str
    title: str
    history: tuple[tuple[date, float], ...] = ()
    band: tuple[float, float] | None = None
    tonight: float | None = None
    samples: tuple[float, ...] = ()
    deadline: float | None = None
    origin: datetime | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One condition worth telling people about, as of one watch cycle.

    Attributes:
        kind: What kind of trouble.
        object_id: Engine id of the job, job stream or the workstation name.
        object_name: What people call it ("PAYROLL_DAILY.PAYROLL_EXTRACT", "AGT_LNX02").
        plan_date: The production day (plan start's date) it belongs to.
        severity: How loud.
        headline: One line, e.g. "PAYROLL_EXTRACT is running long".
        explanation: Why, in numbers, e.g. "47 min so far; usually 18–24 min on month-end
            days (11 runs)".
        evidence: Further lines (return code, log lines, message meaning, critical chain).
        job_id: The job the alert's Why?/Request rerun buttons act on, when there is one.
        run_id: The job run a failure is about (one alert per run).
        probability: Deadline risk: probability of missing it (0..1).
        eta: Deadline risk: the expected (median) end.
        deadline: Deadline risk: the deadline.
        chain: Deadline risk: the critical chain driving it, upstream first (names).
        chart: Numbers for the chart, when the alert has one.
    """

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
    chart: ChartData | None = None

    @property
    def key(self) -> str:
        """One alert per (object, kind, plan date); a failure per run."""
        subject = f"{self.object_id}@{self.run_id}" if self.run_id else self.object_id
        return f"{self.kind.value}:{subject}:{self.plan_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class RiskExplanation:
    """One job's deadline risk, for "why is X at risk?".

    Attributes:
        finding: The deadline-risk finding, whatever its probability; None when the job has
            no deadline or already ended.
        as_of: The engine's clock when the plan was read (answers say "as of" it).
    """

    finding: Finding | None
    as_of: datetime


@dataclass(frozen=True, slots=True)
class WatchReport:
    """One watch cycle's result.

    Attributes:
        as_of: The engine's clock when the cycle read the plan.
        plan_date: The production day the plan is for.
        findings: Every condition that holds now (an alert whose key is missing has ended).
        engine_calls: Engine requests this cycle made.
        paused: Why watching is paused (e.g. "engine unreachable"), None when it ran.
    """

    as_of: datetime
    plan_date: date
    findings: tuple[Finding, ...] = ()
    engine_calls: int = 0
    paused: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
