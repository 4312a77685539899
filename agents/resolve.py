"""From a name a person typed to the jobs and job streams it means.

Order of tries, cheapest first, so a simple status question costs one engine call:

1. jobs with that name (exact, or wildcard with ``*``), narrowed by a qualified
   ``WS#STREAM.JOB`` or ``STREAM.JOB``;
2. job streams with that name;
3. a business word ("payroll", "billing"): the job streams whose names hold it as a word
   (``PAYROLL_DAILY``; ``BILLING_USAGE``, ``BILLING_RUN``, ...), so "is payroll done?" is
   about the payroll stream, not a "did you mean" about a job that happens to look alike;
4. "did you mean": fuzzy match against the plan's names, cached for a few minutes because
   the names in a plan change rarely while the night runs.

A confident suggestion is looked up once, never again from there: a cached name can have
left the plan, or be a name the engine's exact query does not return, and following
suggestions from suggestions would then never end. Such a name is reported (``unreturned``)
and the cache is dropped, so the next question reads the names afresh.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz, process

from integrations.tws.models import PlanJob, PlanJobStream
from integrations.tws.scheduler import Scheduler

__all__ = ["NameIndex", "Resolution", "SubjectName", "parse_subject", "resolve"]

_NAME_CACHE_SECONDS = 300.0
_SUGGESTION_CUTOFF = 70.0
_CONFIDENT_SCORE = 90.0
# A business word: letters only, no wildcard, no qualifier (``PAYROLL``, not ``PAY*``).
_WORD = re.compile(r"^[A-Z]{2,}$")


@dataclass(frozen=True, slots=True)
class SubjectName:
    """A typed name split into its parts: ``WS#STREAM.JOB``, ``STREAM.JOB``, ``WS#STREAM`` or ``NAME``."""

    name: str
    job_stream: str | None = None
    workstation: str | None = None

    @property
    def has_wildcard(self) -> bool:
        """True when any part holds ``*``."""
        return "*" in self.name or "*" in (self.job_stream or "")


def parse_subject(subject: str) -> SubjectName:
    """Split a typed name into workstation, job stream and job parts.

    Args:
        subject: Upper-case name as the parser found it.

    Returns:
        The parts; a name with a ``#`` and no dot names a job stream on a workstation.
    """
    workstation: str | None = None
    rest = subject
    if "#" in rest:
        workstation, rest = rest.split("#", 1)
    if "." in rest:
        job_stream, name = rest.split(".", 1)
        return SubjectName(name=name, job_stream=job_stream, workstation=workstation or None)
    return SubjectName(name=rest, workstation=workstation or None)


@dataclass(slots=True)
class Resolution:
    """What a name resolved to.

    Attributes:
        asked: The name as typed.
        jobs: Matching jobs (empty when it named job streams or nothing).
        streams: Matching job streams.
        as_of: Engine time of the last read.
        suggestions: Close names, when nothing matched exactly.
        corrected_from: The typed name, when the answer is for a confident fuzzy match.
        workstation: The workstation the name was qualified with (``WS#...``), if any.
        elsewhere: When that workstation matched nothing: the qualified names that exist
            with the same name on other workstations.
        unreturned: A confident suggestion the engine did not return when looked up (it left
            the plan since the names were read, or the engine cannot find it by name).
        by_word: The business word the job streams were found by (``PAYROLL``), when the
            name was not a job or job stream name itself.
    """

    asked: str
    jobs: list[PlanJob] = field(default_factory=list)
    streams: list[PlanJobStream] = field(default_factory=list)
    as_of: datetime | None = None
    suggestions: list[str] = field(default_factory=list)
    corrected_from: str | None = None
    workstation: str | None = None
    elsewhere: list[str] = field(default_factory=list)
    unreturned: str | None = None
    by_word: str | None = None

    @property
    def found(self) -> bool:
        """True when jobs or job streams matched."""
        return bool(self.jobs or self.streams)


class NameIndex:
    """The plan's job and job stream names, for "did you mean", refreshed every few minutes."""

    def __init__(self, *, ttl_seconds: float = _NAME_CACHE_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._names: list[str] = []
        self._loaded_at = float("-inf")

    def forget(self) -> None:
        """Drop the cached names: the next suggestion reads them from the engine again."""
        self._loaded_at = float("-inf")

    async def names(self, scheduler: Scheduler) -> list[str]:
        """Return the cached names, reading them from the engine when stale.

        Args:
            scheduler: Where to read from.

        Returns:
            Distinct job and job stream names.
        """
        if time.monotonic() - self._loaded_at > self._ttl:
            jobs = await scheduler.query_jobs()
            streams = await scheduler.query_job_streams()
            names = {job.name for job in jobs.value} | {stream.name for stream in streams.value}
            self._names = sorted(names)
            self._loaded_at = time.monotonic()
        return self._names

    async def suggest(
        self, scheduler: Scheduler, typed: str, *, limit: int = 3
    ) -> list[tuple[str, float]]:
        """Names close to what was typed, best first.

        Args:
            scheduler: Where to read names from.
            typed: The name as typed.
            limit: At most this many.

        Returns:
            ``(name, score)`` pairs with score 0-100.
        """
        names = await self.names(scheduler)
        matches = process.extract(
            typed, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=_SUGGESTION_CUTOFF
        )
        return [(str(match[0]), float(match[1])) for match in matches]


async def _lookup(scheduler: Scheduler, subject: str) -> Resolution:
    """Jobs, then job streams, with exactly the typed name (or pattern): no suggestions."""
    parts = parse_subject(subject)
    result = Resolution(asked=subject, workstation=parts.workstation)
    jobs = await scheduler.query_jobs(name=parts.name, job_stream=parts.job_stream)
    result.as_of = jobs.as_of
    result.jobs = [
        job
        for job in jobs.value
        if parts.workstation is None
        or parts.workstation in (job.workstation, job.job_stream_workstation)
    ]
    if result.jobs:
        return result
    if parts.workstation is not None and jobs.value:
        # The name exists, not on that workstation: say so, never show another one.
        result.elsewhere = sorted({job.qualified_name for job in jobs.value})
        return result
    if parts.job_stream is not None:
        return result
    streams = await scheduler.query_job_streams(name=parts.name)
    result.as_of = streams.as_of
    result.streams = [
        stream for stream in streams.value if parts.workstation in (None, stream.workstation)
    ]
    if not result.found and parts.workstation is not None and streams.value:
        result.elsewhere = sorted({stream.qualified_name for stream in streams.value})
    return result


async def _by_word(scheduler: Scheduler, word: str, result: Resolution) -> bool:
    """The job streams whose names hold ``word`` as one of their ``_``-separated words."""
    streams = await scheduler.query_job_streams(name=f"*{word}*")
    result.as_of = streams.as_of
    matched = [stream for stream in streams.value if word in stream.name.split("_")]
    if not matched:
        return False
    result.streams = sorted(matched, key=lambda stream: stream.name)
    result.by_word = word
    return True


async def resolve(scheduler: Scheduler, subject: str, *, index: NameIndex) -> Resolution:
    """Find the jobs or job streams a typed name means.

    At most two exact lookups, one business-word lookup (a plain word only) and one read of
    the name index: the typed name, the job streams named by the word, then the one
    confident suggestion, if there is one.

    Args:
        scheduler: Where to read the plan.
        subject: The typed name (upper case; may be qualified, may hold ``*``).
        index: The name cache for fuzzy suggestions.

    Returns:
        The resolution; for a business word, the job streams it names with ``by_word``
        set; when nothing matched, close names in ``suggestions``, and when one of them is
        a confident match, the answer for it with ``corrected_from`` set. A confident
        match the engine did not return is in ``unreturned``.
    """
    parts = parse_subject(subject)
    result = await _lookup(scheduler, subject)
    if result.found or result.elsewhere or parts.has_wildcard or parts.job_stream is not None:
        return result
    plain_word = parts.workstation is None and _WORD.match(parts.name) is not None
    if plain_word and await _by_word(scheduler, parts.name, result):
        return result
    suggestions = await index.suggest(scheduler, parts.name)
    result.suggestions = [name for name, _ in suggestions]
    confident = [name for name, score in suggestions if score >= _CONFIDENT_SCORE]
    if len(confident) != 1:
        return result
    # Keep the workstation typed: the correction is of the name, not of where it runs.
    qualified = f"{parts.workstation}#{confident[0]}" if parts.workstation else confident[0]
    corrected = await _lookup(scheduler, qualified)
    if corrected.found or corrected.elsewhere:
        corrected.corrected_from = subject
        corrected.suggestions = result.suggestions
        return corrected
    # The cached name did not come back: the names are stale (or the engine cannot look
    # this one up). Stop here, and read the names afresh for the next question.
    index.forget()
    result.as_of = corrected.as_of or result.as_of
    result.unreturned = confident[0]
    result.suggestions = [name for name in result.suggestions if name != confident[0]]
    return result
