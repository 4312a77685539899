"""Incident memory: resolved incidents become knowledge documents; "this happened before".

`IncidentMemory.remember` turns a resolved incident into a short Markdown document (id,
date, title, linked jobs, summary, what was seen, fix) and stores it in the knowledge base
(`KnowledgeBase.add_incident`, replaced when it changes: a reopened incident resolved again
updates its entry). The full postmortem draft is not indexed: its timeline lines
("Declared SEV2 by ana", "Linked job ...") are the same in every incident and would make
every incident look like every other.

`IncidentMemory.similar` finds past incidents like a failure being explained: incident
passages above the similarity threshold that also name the job or one of the failure's
error codes, so "ORA-01555 on PAYROLL_EXTRACT" never recalls an unrelated incident that
merely reads alike.

Exceptions: none escape; a store that fails is logged and the incident is not remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import structlog

from agents.incidents.model import Incident
from agents.knowledge_memory import KnowledgeDesk
from knowledge.keywords import tokenize
from knowledge.passages import Passage
from knowledge.ranking import identifiers

__all__ = ["FIX_SECTION", "IncidentMemory", "PastIncident", "incident_document"]

log = structlog.get_logger(__name__)

FIX_SECTION: Final = "Fix"
_MAX_NOTES: Final = 12
_MAX_SHOWN: Final = 2
_CODE: Final = re.compile(r"\b(?:AWS[A-Z]{3}\d{3}[EWI]|ORA-\d{5}|SQL\d{4,5}[NWC])\b", re.I)


@dataclass(frozen=True, slots=True)
class PastIncident:
    """A resolved incident like the failure at hand.

    Attributes:
        incident_id: Its id (``INC-2026-0031``).
        date: When it happened (ISO date).
        title: Its title.
        fix: What fixed it (its resolution summary), possibly empty.
        shared: What it has in common with the failure: the job's name and the error codes
            both mention (``ORA-01555``, ``PAYROLL_EXTRACT``).
        similarity: The cosine similarity of its best passage (None: keyword-only).
    """

    incident_id: str
    date: str
    title: str
    fix: str
    shared: tuple[str, ...]
    similarity: float | None

    def sentence(self) -> str:
        """``This happened before: INC-… (date), same ORA-01555 on PAYROLL_EXTRACT, fixed by …``."""
        codes = [s for s in self.shared if _CODE.fullmatch(s)]
        names = [s for s in self.shared if s not in codes]
        same = f", same {', '.join(codes)}" if codes else ""
        on = f" on {', '.join(names)}" if names else ""
        if not same and on:
            same, on = f", also{on}", ""
        fixed = f", fixed by: {self.fix.rstrip('.')}." if self.fix else f": {self.title}."
        return f"This happened before: {self.incident_id} ({self.date}){same}{on}{fixed}"


def _line(text: str) -> str:
    return " ".join(text.split())


def incident_document(incident: Incident) -> str:
    """The Markdown incident memory stores for a resolved incident.

    Args:
        incident: The incident, with its timeline loaded (notes and updates are kept).

    Returns:
        The document: summary, linked jobs, what was seen, fix.
    """
    jobs = [f"{link.name} ({link.state or '-'})" for link in incident.links]
    parts = [f"# {incident.id}: {_line(incident.title)}", "", "## Summary", ""]
    parts.append(f"{incident.severity} incident declared {incident.declared_at.date()}.")
    if incident.description:
        parts.append(_line(incident.description))
    if jobs:
        parts.append("Linked jobs: " + ", ".join(jobs) + ".")
    seen = [_line(e.text) for e in incident.timeline if e.kind in ("note", "update")]
    if incident.last_update and _line(incident.last_update) not in seen:
        seen.append(_line(incident.last_update))
    if seen:
        parts += ["", "## What was seen", "", *(f"- {text}" for text in seen[-_MAX_NOTES:])]
    parts += ["", f"## {FIX_SECTION}", "", _line(incident.resolution or "No resolution recorded.")]
    return "\n".join(parts) + "\n"


class IncidentMemory:
    """Resolved incidents in the knowledge base, and recall of similar ones.

    Args:
        desk: The knowledge base as answers use it.
    """

    def __init__(self, desk: KnowledgeDesk) -> None:
        self._desk = desk

    @property
    def desk(self) -> KnowledgeDesk:
        """The knowledge desk it stores into."""
        return self._desk

    async def remember(self, incident: Incident) -> str:
        """Store a resolved incident (replacing an earlier version of it).

        Args:
            incident: The incident, resolved, with its timeline.

        Returns:
            What the store did (``added``, ``replaced``, ``unchanged``, ``unavailable``),
            or ``failed``.
        """
        when = incident.resolved_at or incident.declared_at
        try:
            done = await self._desk.add_incident(
                incident.id,
                date=incident.declared_at.date().isoformat(),
                title=_line(incident.title),
                text=incident_document(incident),
            )
        except Exception as exc:  # a broken store must not undo or fail the resolution
            log.error("incident.memory_failed", incident=incident.id, error=str(exc)[:300])
            return "failed"
        log.info("incident.remembered", incident=incident.id, outcome=done, resolved=str(when))
        return done

    async def similar(self, *, job: str, stream: str, cause: str) -> list[PastIncident]:
        """Past incidents like a job's failure, most similar first (at most two).

        Args:
            job: The job's name (``PAYROLL_EXTRACT``).
            stream: Its job stream's name.
            cause: What the failure shows (the cause line and the log's error lines).

        Returns:
            The incidents; empty when none clears the threshold or the store is down.
        """
        query = f"{job} {stream} {cause}"
        result = await self._desk.search(query, limit=10, kinds=["incident"])
        if result is None:
            return []
        codes = {c.upper() for c in _CODE.findall(cause)}
        found: dict[str, PastIncident] = {}
        for hit in result.hits:
            passage = hit.passage
            if passage.doc_id in found:
                continue
            if hit.similarity is not None and hit.similarity < self._desk.min_similarity:
                continue
            shared = _shared(passage, job=job, codes=codes)
            if not shared:
                continue
            found[passage.doc_id] = PastIncident(
                incident_id=passage.source,
                date=passage.date,
                title=passage.doc_title.split(": ", 1)[-1],
                fix=await self.fix_of(passage.doc_id),
                shared=shared,
                similarity=hit.similarity,
            )
        return list(found.values())[:_MAX_SHOWN]

    async def fix_of(self, doc_id: str) -> str:
        """What fixed a remembered incident (its Fix section), or empty.

        Args:
            doc_id: The incident's knowledge document id (``incident:INC-…``).

        Returns:
            The fix, one line.
        """
        base = await self._desk.base()
        if base is None:
            return ""
        for passage in base.passages:
            if passage.doc_id == doc_id and passage.section.endswith(FIX_SECTION):
                return _line(passage.text)
        return ""


def _shared(passage: Passage, *, job: str, codes: set[str]) -> tuple[str, ...]:
    """The error codes and the job name a past incident's passage has in common with now."""
    tokens = set(tokenize(passage.indexed_text))
    same = [code for code in sorted(codes) if identifiers(code) <= tokens]
    if job and job.lower() in passage.indexed_text.lower():
        same.append(job)
    return tuple(same)
