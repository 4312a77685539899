"""The evidence of one failed job: its log's error lines, what they mean, its return code.

Shared by "why did JOB fail?" and "why did STREAM fail?" (which explains each failed job
inside the stream the same way).

Only the end of the job log is read (`integrations.tws.scheduler.JOB_LOG_WINDOW_BYTES`: the
error lines and the JOBINFO trailer are there), and it is scanned in a worker thread: a
chatty job's log must not hold up everyone else's answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agents.answers.common import AnswerContext
from agents.logscan import exit_status, relevant_lines
from agents.messages import Block, Paragraph, Preformatted
from integrations.tws.models import JobLog, PlanJob
from knowledge.codes import CodeEntry, ErrorPattern, explain_codes, lookup_error_pattern

__all__ = ["FailureEvidence", "evidence_blocks", "read_failure", "scan_log"]


@dataclass(frozen=True, slots=True)
class FailureEvidence:
    """What the log of a failed job says.

    Attributes:
        job: The job.
        log: The part of its log that was read (empty when it never started).
        lines: The log's error lines.
        codes: AWS codes found, with their meaning.
        patterns: Application errors found (ORA-, Java, ...), with their meaning.
        return_code: The plan's return code, else the JOBINFO trailer's.
        cause: The one line that best says why (or that there is none).
    """

    job: PlanJob
    log: JobLog
    lines: list[str] = field(default_factory=list)
    codes: list[CodeEntry] = field(default_factory=list)
    patterns: list[ErrorPattern] = field(default_factory=list)
    return_code: int | None = None
    cause: str = "no error line in the job log"

    @property
    def sources(self) -> list[str]:
        """The knowledge files that explained something, each once."""
        found = [entry.source for entry in self.codes] + [p.source for p in self.patterns]
        return list(dict.fromkeys(found))


def scan_log(job: PlanJob, log: JobLog) -> FailureEvidence:
    """Everything the answer reads from a job log (CPU-bound: run it in a worker thread).

    Args:
        job: The failed job.
        log: What was read of its log.

    Returns:
        The evidence.
    """
    lines = relevant_lines(log.text)
    codes = explain_codes(log.text)
    patterns = lookup_error_pattern(log.text)
    cause = lines[-1] if lines else "no error line in the job log"
    for line in lines:
        if any(entry.code in line for entry in codes) or any(p.matches(line) for p in patterns):
            cause = line
            break
    # The plan's return code first; the log's JOBINFO trailer when the plan has none.
    return_code = job.return_code if job.return_code is not None else exit_status(log.text)
    return FailureEvidence(
        job=job,
        log=log,
        lines=lines,
        codes=codes,
        patterns=patterns,
        return_code=return_code,
        cause=cause,
    )


async def read_failure(ctx: AnswerContext, job: PlanJob) -> FailureEvidence:
    """Read the end of a failed job's log and scan it (one engine call, none if it never ran).

    Args:
        ctx: The answer context.
        job: The failed job.

    Returns:
        The evidence.
    """
    log = JobLog(text="")
    if job.run_id:
        log = (await ctx.scheduler.job_log_tail(job.run_id)).value
    return await asyncio.to_thread(scan_log, job, log)


def _size_text(size_bytes: int) -> str:
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.1f} MB"
    return f"{max(1, size_bytes // 1024)} KB"


def evidence_blocks(evidence: FailureEvidence, *, title: str | None = None) -> list[Block]:
    """The log lines and what they mean, as answer blocks.

    Args:
        evidence: The evidence.
        title: A paragraph to start with (e.g. the job's name in a stream answer).

    Returns:
        The blocks.
    """
    job, log = evidence.job, evidence.log
    blocks: list[Block] = [Paragraph(text=title)] if title else []
    if log.truncated:
        blocks.append(
            Paragraph(
                text=(
                    f"The job log is {_size_text(log.size_bytes)}; I read only its last "
                    f"{_size_text(len(log.text.encode()))}, where the error lines and the "
                    "exit status usually are."
                )
            )
        )
    if evidence.lines:
        blocks.append(Paragraph(text=f"From the job log (run {job.run_id}):"))
        blocks.append(Preformatted(text="\n".join(evidence.lines)))
    elif job.run_id is None:
        blocks.append(Paragraph(text="The job never started, so there is no job log."))
    for entry in evidence.codes:
        blocks.append(Paragraph(text=f"{entry.code}: {entry.meaning} What to do: {entry.action}"))
    for pattern in evidence.patterns:
        blocks.append(
            Paragraph(text=f"{pattern.name}: {pattern.meaning} What to do: {pattern.action}")
        )
    return blocks
