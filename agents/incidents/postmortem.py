"""The postmortem draft (Markdown): timeline, actions, evidence of the linked jobs, durations.

Everything comes in as input: the incident with its timeline, its audit records (as read
back from the audit log, e.g. ``ReadRecord.as_dict()``), and the linked jobs' failure
evidence (`gather_evidence` reads it through the `Scheduler` protocol and
`agents.logscan`, or the caller passes its own). The draft says what is known and leaves
headed gaps (root cause, what went well) for people to fill in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agents.formatting import format_duration
from agents.incidents.model import Incident, IncidentStatus, LinkedObject, TimelineEntry
from agents.logscan import exit_status, relevant_lines
from integrations.tws.errors import TWSError
from integrations.tws.scheduler import Scheduler
from knowledge.codes import explain_codes

__all__ = ["JobEvidence", "gather_evidence", "render_postmortem"]


@dataclass(frozen=True, slots=True)
class JobEvidence:
    """Why a linked job failed, as far as the engine shows it.

    Attributes:
        name: The job as linked.
        status: Its status when read.
        return_code: Its return code (or the log trailer's exit status).
        log_lines: The log lines that name an error.
        codes: Message codes found in the log, with their meaning.
        source: The engine it was read from.
        as_of: The engine's time of the read.
        problem: Why there is no (or partial) evidence, if so.
    """

    name: str
    status: str | None = None
    return_code: int | None = None
    log_lines: tuple[str, ...] = ()
    codes: tuple[tuple[str, str], ...] = ()
    source: str | None = None
    as_of: datetime | None = None
    problem: str | None = None


async def gather_evidence(scheduler: Scheduler, links: Sequence[LinkedObject]) -> list[JobEvidence]:
    """Read the failure evidence of the linked jobs (job streams have no log of their own).

    Args:
        scheduler: The engine.
        links: The incident's linked objects.

    Returns:
        One entry per linked job; a read that failed says so in ``problem``.
    """
    found: list[JobEvidence] = []
    for link in links:
        if link.kind != "job":
            continue
        if link.plan_id is None:
            found.append(
                JobEvidence(name=link.name, problem="not resolved in the plan when linked")
            )
            continue
        try:
            job = await scheduler.get_job(link.plan_id)
            log = (await scheduler.job_log(job.value.run_id)).value if job.value.run_id else ""
        except TWSError as exc:
            found.append(JobEvidence(name=link.name, problem=f"could not read it: {exc}"))
            continue
        found.append(
            JobEvidence(
                name=link.name,
                status=job.value.status.value,
                return_code=job.value.return_code
                if job.value.return_code is not None
                else exit_status(log),
                log_lines=tuple(relevant_lines(log)),
                codes=tuple((entry.code, entry.meaning) for entry in explain_codes(log)),
                source=job.source,
                as_of=job.as_of,
                problem=None if log else "no job log (it has not run in this plan)",
            )
        )
    return found


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _what(entry: TimelineEntry) -> str:
    # Notes and updates are free text: say which they were.
    if entry.kind in ("note", "update"):
        return f"{entry.kind.capitalize()}: {entry.text}"
    return entry.text


def _durations(incident: Incident, zone: ZoneInfo) -> list[str]:
    start = incident.declared_at
    lines = ["| Milestone | Time | Since declared |", "|---|---|---|"]
    for label, moment in (
        ("Declared", start),
        ("Acknowledged (active)", incident.acknowledged_at),
        ("Monitoring", incident.status_times.get(IncidentStatus.MONITORING)),
        ("Resolved", incident.resolved_at),
        ("Closed", incident.status_times.get(IncidentStatus.CLOSED)),
    ):
        since = format_duration(moment - start) if moment else "-"
        lines.append(f"| {label} | {_time(moment, zone)} | {since} |")
    return lines


def _audit_lines(incident: Incident, records: Sequence[Mapping[str, Any]]) -> list[str]:
    mine = [
        r
        for r in records
        if r.get("target") == incident.id
        or (r.get("correlation") or {}).get("incident_id") == incident.id
    ]
    if not mine:
        return ["No audit records were given."]
    lines = ["| Time | Who | Action | Outcome | Change |", "|---|---|---|---|---|"]
    for record in mine:
        params = record.get("parameters") or {}
        change = ""
        if isinstance(params, Mapping) and ("before" in params or "after" in params):
            change = f"{json.dumps(params.get('before'))} → {json.dumps(params.get('after'))}"
        who = record.get("actor_identity") or record.get("actor_id") or "Resync"
        lines.append(
            f"| {_cell(record.get('time', '-'))} | {_cell(who)} | {_cell(record.get('action'))} "
            f"| {_cell(record.get('outcome'))} | {_cell(change)} |"
        )
    return lines


def _evidence_lines(evidence: Sequence[JobEvidence]) -> list[str]:
    if not evidence:
        return ["No linked job evidence."]
    lines: list[str] = []
    for item in evidence:
        lines.append(f"### {item.name}")
        if item.status is not None:
            rc = f", return code {item.return_code}" if item.return_code is not None else ""
            lines.append(f"- Status {item.status}{rc}")
        if item.as_of is not None:
            lines.append(f"- Read from {item.source} as of {item.as_of.isoformat()}")
        lines.extend(f"- {code}: {meaning}" for code, meaning in item.codes)
        if item.problem:
            lines.append(f"- Note: {item.problem}")
        if item.log_lines:
            body = "\n".join(line.replace("```", "'''") for line in item.log_lines)
            lines += ["", "```", body, "```"]
        lines.append("")
    return lines


def render_postmortem(
    incident: Incident,
    *,
    zone: ZoneInfo,
    timeline: Sequence[TimelineEntry] | None = None,
    audit_records: Sequence[Mapping[str, Any]] = (),
    evidence: Sequence[JobEvidence] = (),
) -> str:
    """The postmortem draft of an incident.

    Args:
        incident: The incident.
        zone: The time zone of the times shown.
        timeline: Its timeline (default: ``incident.timeline``).
        audit_records: Audit records (mappings with ``time``, ``actor_identity``,
            ``action``, ``outcome``, ``target``, ``parameters``); others' are left out.
        evidence: The linked jobs' failure evidence.

    Returns:
        Markdown.
    """
    entries = incident.timeline if timeline is None else timeline
    roles = ", ".join(f"{role.value}: {person.name}" for role, person in incident.roles.items())
    out = [
        f"# Postmortem (draft): {incident.id} — {incident.title}",
        "",
        f"- Severity: {incident.severity}; status: {incident.status.value}",
        f"- Declared by {incident.declared_by.name} at {_time(incident.declared_at, zone)}",
        f"- Roles: {roles or 'none assigned'}",
        f"- Participants: {', '.join(p.name for p in incident.participants) or '-'}",
        "",
        "## Summary",
        "",
        incident.resolution or "(not resolved yet)",
        "",
        "## Impact",
        "",
        incident.impact.summary or "(describe the business impact)",
    ]
    out += [
        f"- {d.name}: deadline {_time(d.deadline, zone)}"
        + (" — missed" if d.late else f", expected end {_time(d.expected_end, zone)}")
        + (f" ({d.note})" if d.note else "")
        for d in incident.impact.deadlines
    ]
    out += ["", "## Linked objects", ""]
    out += [
        f"- {o.kind.replace('_', ' ')} {o.name}: {o.state or '-'} when linked"
        for o in incident.links
    ] or ["- none"]
    out += ["", "## Durations", "", *_durations(incident, zone), "", "## Timeline", ""]
    out += ["| Time | Who | What |", "|---|---|---|"] + [
        f"| {_time(e.at, zone)} | {_cell(e.actor or 'Resync')} | {_cell(_what(e))} |"
        for e in entries
    ]
    out += ["", "## What failed (evidence)", "", *_evidence_lines(evidence)]
    out += ["", "## Actions (audit log)", "", *_audit_lines(incident, audit_records)]
    out += ["", "## Root cause", "", "(to be written)", "", "## Follow-ups", ""]
    out += [
        f"- [{'x' if f.done else ' '}] #{f.number} {f.text}" + (f" ({f.owner})" if f.owner else "")
        for f in incident.follow_ups
    ] or ["- none yet"]
    return "\n".join(out) + "\n"
