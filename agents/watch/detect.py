"""Findings from one plan snapshot: failures, durations, failure rates, workstations.

Pure functions: the scanner reads the engine, these turn what it read into `Finding`s that
explain themselves in numbers ("47 min so far; usually 18–24 min on month-end days (11
runs)"). Deadline risk is in `agents.watch.deadline`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from agents.logscan import exit_status, relevant_lines
from agents.watch.baseline import Baseline, minutes
from agents.watch.history import JobHistory
from agents.watch.model import ChartData, Finding, FindingKind, Severity
from integrations.tws.models import JobLog, JobStatus, PlanJob, Workstation
from knowledge.codes import explain_codes, lookup_error_pattern

__all__ = [
    "display_name",
    "duration_finding",
    "failure_finding",
    "failure_rate_finding",
    "workstation_finding",
]

_OK = frozenset({JobStatus.SUCC, JobStatus.SUCCP})


def display_name(job: PlanJob) -> str:
    """``STREAM.JOB``."""
    return f"{job.job_stream_name}.{job.name}"


def _chart(job: PlanJob, history: JobHistory, base: Baseline, tonight: float) -> ChartData:
    low, high = base.usual
    return ChartData(
        kind="durations",
        title=f"{display_name(job)}: duration (min)",
        history=history.recent(),
        band=(low / 60, high / 60),
        tonight=tonight / 60,
    )


def duration_finding(
    job: PlanJob, history: JobHistory | None, now: datetime, plan_date: date
) -> Finding | None:
    """A running job past its baseline's upper bound, or a finished run far outside it.

    Args:
        job: The job as the plan shows it now.
        history: Its past nights (None: not read yet, nothing to compare with).
        now: The engine's now.
        plan_date: Tonight's production day.

    Returns:
        The finding, or None when the duration is usual (or cannot be judged).
    """
    base = history.baseline if history is not None else None
    if base is None or history is None or job.started_at is None:
        return None
    if job.status == JobStatus.EXEC:
        elapsed = (now - job.started_at).total_seconds()
        if elapsed <= base.upper:
            return None
        return Finding(
            kind=FindingKind.SLOW_RUNNING,
            object_id=job.id,
            object_name=display_name(job),
            plan_date=plan_date,
            severity=Severity.WARNING,
            headline=f"{job.name} is running long",
            explanation=f"{minutes(elapsed)} min so far; {base.describe()}",
            evidence=_how_built(base),
            job_id=job.id,
            run_id=None,
            chart=_chart(job, history, base, elapsed),
        )
    if job.status not in _OK or job.ended_at is None:
        return None
    took = (job.ended_at - job.started_at).total_seconds()
    if base.lower <= took <= base.upper:
        return None
    long = took > base.upper
    return Finding(
        kind=FindingKind.DURATION,
        object_id=job.id,
        object_name=display_name(job),
        plan_date=plan_date,
        severity=Severity.WARNING,
        headline=f"{job.name} ran {'far too long' if long else 'suspiciously short'}",
        explanation=f"took {minutes(took)} min; {base.describe()}",
        evidence=_how_built(base),
        job_id=job.id,
        chart=_chart(job, history, base, took),
    )


def _how_built(base: Baseline) -> tuple[str, ...]:
    lines = [f"baseline: median {minutes(base.median)} min over {base.runs} runs ({base.label})"]
    if base.fallback:
        lines.append("fewer runs in: " + "; ".join(base.fallback))
    return tuple(lines)


def failure_finding(job: PlanJob, log: JobLog | None, plan_date: date) -> Finding:
    """One job run that ended ABEND/FAIL, with why: return code, log lines, message meanings.

    Args:
        job: The failed job (its current run).
        log: The end of the run's log, when it could be read.
        plan_date: Tonight's production day.

    Returns:
        The finding (one per run).
    """
    text = log.text if log is not None else ""
    rc = job.return_code if job.return_code is not None else exit_status(text)
    evidence: list[str] = []
    if rc is not None:
        evidence.append(f"return code {rc}")
    evidence.extend(relevant_lines(text, limit=5))
    evidence.extend(f"{code.code}: {code.meaning}" for code in explain_codes(text)[:3])
    evidence.extend(f"{p.name}: {p.meaning}" for p in lookup_error_pattern(text)[:2])
    if log is not None and log.truncated:
        evidence.append("(only the end of a long log was read)")
    at = job.ended_at.strftime("%H:%M UTC") if job.ended_at else "tonight"
    what = f"ended {job.status.value}" + (f" with return code {rc}" if rc is not None else "")
    return Finding(
        kind=FindingKind.FAILURE,
        object_id=job.id,
        object_name=display_name(job),
        plan_date=plan_date,
        severity=Severity.CRITICAL,
        headline=f"{job.name} {'abended' if job.status == JobStatus.ABEND else 'failed'}",
        explanation=f"{display_name(job)} {what} at {at} on {job.workstation}",
        evidence=tuple(evidence),
        job_id=job.id,
        run_id=job.run_id,
    )


def failure_rate_finding(
    job: PlanJob, history: JobHistory | None, plan_date: date
) -> Finding | None:
    """A job failing more often than its history supports, or night after night.

    Args:
        job: The job as the plan shows it now.
        history: Its past nights (None: not read yet).
        plan_date: Tonight's production day.

    Returns:
        The finding, or None.
    """
    if history is None:
        return None
    tonight: bool | None = True if job.failed else (False if job.status in _OK else None)
    rate = history.failure_rate(plan_date, tonight)
    if not rate.changed:
        return None
    return Finding(
        kind=FindingKind.FAILURE_RATE,
        object_id=job.id,
        object_name=display_name(job),
        plan_date=plan_date,
        severity=Severity.WARNING,
        headline=f"{job.name} keeps failing",
        explanation=rate.describe(),
        evidence=(f"{rate.failures} failed nights of {rate.nights} known",),
        job_id=job.id,
    )


def workstation_finding(
    ws: Workstation,
    blocked: Iterable[PlanJob],
    deadlines: Mapping[str, datetime],
    plan_date: date,
) -> Finding:
    """A workstation unlinked or down, with the jobs and deadlines it blocks.

    Args:
        ws: The workstation.
        blocked: Unfinished jobs that run there (or wait behind one that does).
        deadlines: Names of the deadlines those jobs put at risk → the deadline.
        plan_date: Tonight's production day.

    Returns:
        The finding.
    """
    jobs = sorted(display_name(job) for job in blocked)
    state = ws.status_text or ("unlinked" if not ws.linked else "not running")
    evidence = (
        [f"blocks: {', '.join(jobs[:10])}" + (" …" if len(jobs) > 10 else "")] if jobs else []
    )
    evidence.extend(
        f"deadline {at.strftime('%H:%M UTC')}: {name}" for name, at in sorted(deadlines.items())
    )
    return Finding(
        kind=FindingKind.WORKSTATION,
        object_id=ws.name,
        object_name=ws.name,
        plan_date=plan_date,
        severity=Severity.CRITICAL if deadlines else Severity.WARNING,
        headline=f"{ws.name} is {'unlinked' if not ws.linked else 'down'}",
        explanation=f"{state}; {len(jobs)} jobs cannot start, {len(deadlines)} deadlines behind them",
        evidence=tuple(evidence),
    )
