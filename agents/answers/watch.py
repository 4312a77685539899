"""Answers from the watcher: what is unusual, which deadlines are at risk, why, baselines.

They read the watcher's findings (`agents.answers.watch_desk.WatchDesk`): baselines per
calendar bucket, failure rates and Monte Carlo deadline risk, the same numbers the alerts
show. A paused watcher (the engine unreachable) says so and never answers "nothing unusual".
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from agents.answers.common import MAX_ROWS
from agents.formatting import format_clock, plural
from agents.messages import Block, Context, Paragraph, Reply, Table, Tone
from agents.understand_watch import WatchAsk, WatchQuestion
from agents.watch.model import Finding, FindingKind, RiskExplanation, Severity, WatchReport
from agents.watch.scan import BaselineView
from integrations.tws.errors import TWSNotFoundError

__all__ = ["WatchDesk", "answer_watch"]

_METHOD: Final = "Watcher: baselines from run history, Monte Carlo deadline risk"


class WatchDesk(Protocol):
    """What the watch answers read (`agents.answers.watch_desk.ScannerDesk`)."""

    @property
    def source(self) -> str:
        """Where the data comes from (the engine's source line)."""
        ...

    async def report(self) -> WatchReport:
        """A recent cycle's report (cached for a while, else a new cycle)."""
        ...

    async def explain_risk(self, job: str) -> RiskExplanation:
        """The deadline-risk finding about ``job`` (even under the alert threshold)."""
        ...

    async def baseline_of(self, job: str) -> BaselineView:
        """The job's duration baseline and how it was built."""
        ...


def _small_print(desk: WatchDesk, as_of: datetime | None, zone: ZoneInfo) -> Context:
    return Context(
        items=(f"As of {format_clock(as_of, zone=zone)}", f"Source: {desk.source}", _METHOD)
    )


def _paused(report: WatchReport, desk: WatchDesk, zone: ZoneInfo) -> Reply:
    return Reply(
        headline=f"Watching is paused: {report.paused}. I cannot say what is unusual right now.",
        tone=Tone.WARNING,
        blocks=(_small_print(desk, report.as_of, zone),),
    )


def _finding_rows(findings: list[Finding], zone: ZoneInfo) -> tuple[tuple[str, ...], ...]:
    rows = []
    for finding in findings[:MAX_ROWS]:
        level = "critical" if finding.severity is Severity.CRITICAL else "warning"
        rows.append((finding.headline, finding.explanation, level))
    del zone
    return tuple(rows)


def _unusual(report: WatchReport, desk: WatchDesk, zone: ZoneInfo) -> Reply:
    findings = sorted(report.findings, key=lambda f: f.severity is not Severity.CRITICAL)
    if not findings:
        return Reply(
            headline="Nothing unusual tonight: durations, failures and deadlines are "
            "within their usual ranges.",
            tone=Tone.SUCCESS,
            blocks=(_small_print(desk, report.as_of, zone),),
        )
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    headline = f"{plural(len(findings), 'thing')} unusual tonight"
    headline += f", {critical} critical." if critical else "."
    blocks: list[Block] = [
        Table(
            columns=("What", "Why", "Severity"),
            rows=_finding_rows(findings, zone),
            total=len(findings),
        ),
        _small_print(desk, report.as_of, zone),
    ]
    tone = Tone.ERROR if critical else Tone.WARNING
    return Reply(headline=headline, tone=tone, blocks=tuple(blocks))


def _risk_rows(findings: list[Finding], zone: ZoneInfo) -> tuple[tuple[str, ...], ...]:
    rows = []
    for f in findings[:MAX_ROWS]:
        chance = f"{round((f.probability or 0) * 100)} %"
        rows.append(
            (
                f.object_name,
                format_clock(f.deadline, zone=zone),
                format_clock(f.eta, zone=zone),
                chance,
                " → ".join(f.chain[-3:]) or "-",
            )
        )
    return tuple(rows)


def _risks(report: WatchReport, desk: WatchDesk, zone: ZoneInfo) -> Reply:
    risks = sorted(
        (f for f in report.findings if f.kind is FindingKind.DEADLINE_RISK),
        key=lambda f: -(f.probability or 0),
    )
    if not risks:
        return Reply(
            headline="No deadline is at risk tonight: every watched deadline is likely to be met.",
            tone=Tone.SUCCESS,
            blocks=(_small_print(desk, report.as_of, zone),),
        )
    table = Table(
        columns=("Job", "Deadline", "Expected end", "Chance of missing", "Driven by"),
        rows=_risk_rows(risks, zone),
        total=len(risks),
    )
    return Reply(
        headline=f"{plural(len(risks), 'deadline')} at risk tonight.",
        tone=Tone.WARNING,
        blocks=(table, _small_print(desk, report.as_of, zone)),
    )


def _why_risk(risk: RiskExplanation, job: str, desk: WatchDesk, zone: ZoneInfo) -> Reply:
    finding = risk.finding
    if finding is None:
        return Reply(
            headline=f"{job} has no deadline at risk: it has no deadline tonight, or it is "
            "finished or likely in time.",
            tone=Tone.INFO,
            blocks=(_small_print(desk, risk.as_of, zone),),
        )
    blocks: list[Block] = [Paragraph(text=finding.explanation)]
    blocks.extend(Paragraph(text=line) for line in finding.evidence)
    blocks.append(_small_print(desk, risk.as_of, zone))
    tone = Tone.WARNING if (finding.probability or 0) >= 0.5 else Tone.INFO
    return Reply(headline=finding.headline, tone=tone, blocks=tuple(blocks))


def _baseline(view: BaselineView, desk: WatchDesk) -> Reply:
    blocks: list[Block] = [Paragraph(text=view.text)]
    if view.history:
        rows = tuple((night.isoformat(), f"{minutes:.1f}") for night, minutes in view.history)
        blocks.append(Table(columns=("Night", "Minutes"), rows=rows[-MAX_ROWS:], total=len(rows)))
    how = "Baseline: median and spread of successful runs in the most specific calendar bucket"
    blocks.append(Context(items=(f"Source: {desk.source}", how)))
    return Reply(
        headline=f"Baseline of {view.name} for {view.plan_date.isoformat()}", blocks=tuple(blocks)
    )


async def answer_watch(desk: WatchDesk, question: WatchQuestion, *, zone: ZoneInfo) -> Reply:
    """Answer one question for the watcher.

    Args:
        desk: The watcher's findings.
        question: What is asked.
        zone: The time zone answers show times in.

    Returns:
        The reply.

    Raises:
        integrations.tws.errors.TWSError: The engine could not answer (the bot turns it
            into words, as for every answer).
    """
    try:
        if question.ask is WatchAsk.WHY_RISK and question.subject:
            risk = await desk.explain_risk(question.subject)
            return _why_risk(risk, question.subject, desk, zone)
        if question.ask is WatchAsk.BASELINE and question.subject:
            return _baseline(await desk.baseline_of(question.subject), desk)
    except TWSNotFoundError:
        return Reply(
            headline=f"I found no job {question.subject} in the current plan.",
            tone=Tone.WARNING,
            blocks=(Context(items=(f"Source: {desk.source}",)),),
        )
    report = await desk.report()
    if report.paused is not None:
        return _paused(report, desk, zone)
    if question.ask is WatchAsk.RISKS:
        return _risks(report, desk, zone)
    return _unusual(report, desk, zone)
