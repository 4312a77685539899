"""A walk upstream in words: each cause as a chain, its whole path, what releases it, the cut.

Chains are named the way an operator says them: ``GL_CLOSE ← PAYROLL_DAILY ←
PAYROLL_EXTRACT ABEND rc 12`` (one name per job stream crossed, then the job where the
cause is); "step by step" lists every job on the way.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.answers.blocking import RELEASING, RELEASING_STREAM, Blockage, Cause, CauseKind
from agents.formatting import plural
from agents.messages import Block, Paragraph
from integrations.tws.models import FAILED_STATUSES, Dependency, PlanJob

_OTHERS_LISTED = 12
"""Causes past the headline's named in full (each is one line of the walk's result)."""

__all__ = [
    "blockage_blocks",
    "chain_text",
    "chains",
    "path_text",
    "release_note",
    "unreleased",
]


def chains(found: Blockage, label: str, stream: str, *, limit: int = 5) -> list[str]:
    """Each cause as a chain from what was asked about.

    Args:
        found: What the walk found.
        label: The name the chain starts with (the job or job stream asked about).
        stream: The job stream of the starting point (not repeated in the chain).
        limit: At most this many chains.

    Returns:
        ``GL_CLOSE ← PAYROLL_DAILY ← PAYROLL_EXTRACT ABEND rc 12`` per cause.
    """
    return [chain_text(label, stream, cause) for cause in found.causes[:limit]]


def chain_text(label: str, stream: str, cause: Cause) -> str:
    """One cause as a chain: the start, each job stream crossed, then the cause.

    Args:
        label: The name the chain starts with.
        stream: The job stream of the starting point.
        cause: The cause.

    Returns:
        The chain; ``label: cause`` when the cause is on the starting job itself.
    """
    if not cause.path:
        # The cause is on the starting job itself; its text already starts with its name.
        return cause.text if label == cause.job.name else f"{label}: {cause.text}"
    parts = [label]
    current = stream
    for job in cause.path:
        if job.job_stream_name != current:
            current = job.job_stream_name
            parts.append(current)
    parts.append(cause.text)
    return " ← ".join(parts)


def path_text(start: PlanJob, cause: Cause) -> str:
    """The whole path, every job with its status: for the reader who wants each step.

    Args:
        start: The job the walk started from.
        cause: The cause.

    Returns:
        ``GL_CLOSE_INIT (HOLD) ← GL_CLOSE.. ← PAYROLL_DAILY.PAYROLL_EXTRACT (ABEND)``.
    """
    steps = [f"{start.name} ({start.status.value})"]
    steps += [f"{job.job_stream_name}.{job.name} ({job.status.value})" for job in cause.path]
    return " ← ".join(steps)


def unreleased(deps: Iterable[Dependency]) -> list[Dependency]:
    """The predecessors that still hold a job: not ended SUCC, cancelled or suppressed.

    A failed predecessor has finished but still holds its successors (TWS releases them only
    on SUCC); a job stream predecessor holds until it is SUCC or cancelled.

    Args:
        deps: A job's predecessors.

    Returns:
        Those not released, in the given order.
    """
    return [
        dep
        for dep in deps
        if dep.status not in (RELEASING if dep.kind == "job" else RELEASING_STREAM)
    ]


def release_note(deps: Iterable[Dependency], *, waiting: str = "it") -> str | None:
    """The sentence that says a failed predecessor does not release its successor.

    Args:
        deps: A job's predecessors.
        waiting: What waits (``it``: the job asked about).

    Returns:
        The note, or None when no predecessor failed.
    """
    failed = [dep for dep in deps if dep.status in {s.value for s in FAILED_STATUSES}]
    if not failed:
        return None
    names = ", ".join(f"{dep.name} ({dep.status})" for dep in failed[:5])
    verb = "does" if len(failed) == 1 else "do"
    return (
        f"{names} {verb} not release {waiting}: in TWS a successor waits until its predecessor ends "
        "SUCC. Rerun the failed job (or cancel it, or confirm it SUCC) to let it start."
    )


def blockage_blocks(
    found: Blockage, start: PlanJob | None, *, named: int | None = None
) -> list[Block]:
    """The details of a walk upstream: each cause's whole path, what releases it, the cut.

    Args:
        found: What the walk found.
        start: The job the walk started from (None: several, e.g. a job stream's jobs).
        named: How many causes the headline already named: the others are listed here, so
            every cause found is named somewhere (None: the headline's own "and N more").

    Returns:
        Paragraphs for the answer.
    """
    blocks: list[Block] = []
    others = found.causes[named:] if named is not None else []
    if others:
        listed = "; ".join(cause.text for cause in others[:_OTHERS_LISTED])
        more = f" and {len(others) - _OTHERS_LISTED} more" if len(others) > _OTHERS_LISTED else ""
        blocks.append(Paragraph(text=f"Also holding it ({len(others)}): {listed}{more}."))
    if start is not None and any(cause.path for cause in found.causes):
        paths = [path_text(start, cause) for cause in found.causes[:5] if cause.path]
        blocks.append(Paragraph(text="Step by step:\n" + "\n".join(paths)))
    failed = [cause.job for cause in found.causes if cause.job.failed]
    deps = [
        Dependency(kind="job", id=job.id, name=job.name, status=job.status.value) for job in failed
    ]
    note = release_note(
        deps, waiting="what waits for them" if len(deps) > 1 else "what waits for it"
    )
    if note is not None:
        blocks.append(Paragraph(text=note))
    # A job's own workstation already named as its cause is not repeated.
    said = {
        cause.job.workstation
        for cause in found.causes
        if cause.kind is CauseKind.WORKSTATION and not cause.path and start is not None
    }
    downs = [
        f"{station.name}: {station.status_text}"
        if station.status_text
        else f"{station.name}: {'unlinked' if not station.linked else 'not available'}"
        for station in found.stations_down.values()
        if station.name not in said
    ]
    if downs:
        blocks.append(
            Paragraph(
                text="Workstations down on the way: "
                + "; ".join(downs)
                + ". Their jobs will not start until they are back, even once their "
                "predecessors are done."
            )
        )
    if found.cut:
        left = [job.name for job in found.unexplored] + [dep.name for dep in found.missing]
        shown = ", ".join(left[:8]) + (" ..." if len(left) > 8 else "")
        blocks.append(
            Paragraph(
                text=(
                    f"I stopped after looking at the predecessors of {plural(found.walked, 'job')}; "
                    f"not followed further: {shown}. Ask about one of them to go on from there."
                )
            )
        )
    return blocks
