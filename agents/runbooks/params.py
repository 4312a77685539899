"""Request parameters: the ``/tws run RUNBOOK key=value ...`` syntax and live-plan resolution.

A job parameter is ``STREAM.JOB`` or ``WS#STREAM.JOB``; a job stream parameter ``STREAM`` or
``WS#STREAM``; a workstation its name. Each must name exactly one object in the current plan,
or the request is refused with a clear answer and nothing is queued.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from agents.runbooks.catalog import ParamType, Runbook
from agents.runbooks.errors import ParameterError
from integrations.tws.scheduler import Scheduler

__all__ = ["ParsedCommand", "ResolvedParam", "parse_command", "resolve_parameters"]

_PREFIX = re.compile(r"^\s*(?:/tws\s+)?run\s+", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9_@.#-]+$")


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A parsed ``/tws run`` command.

    Attributes:
        runbook_id: The runbook asked for (lower case).
        values: ``key=value`` pairs as typed.
    """

    runbook_id: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class ResolvedParam:
    """A parameter matched against the live plan.

    Attributes:
        name: Parameter name.
        type: Its type.
        raw: What the requester typed.
        ref: The plan id (job, job stream), the workstation name, or the value itself.
        display: How to show it (``WS#STREAM.JOB`` for a job).
    """

    name: str
    type: ParamType
    raw: str
    ref: str
    display: str

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form (kept in the request record)."""
        return {
            "name": self.name,
            "type": self.type.value,
            "raw": self.raw,
            "ref": self.ref,
            "display": self.display,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> ResolvedParam:
        """Inverse of `as_dict`."""
        return cls(
            name=data["name"],
            type=ParamType(data["type"]),
            raw=data["raw"],
            ref=data["ref"],
            display=data["display"],
        )


def parse_command(text: str) -> ParsedCommand:
    """Parse ``/tws run RUNBOOK key=value ...`` (``/tws`` and quotes optional).

    Args:
        text: The command as typed, e.g. ``/tws run rerun-abended-job job=PAYROLL_DAILY.X``.

    Returns:
        The runbook id and the values.

    Raises:
        ParameterError: The text is not a run command, or a value is malformed.
    """
    match = _PREFIX.match(text)
    if match is None:
        raise ParameterError(["expected: /tws run RUNBOOK key=value ..."])
    try:
        words = shlex.split(text[match.end() :])
    except ValueError as exc:
        raise ParameterError([f"cannot read the command: {exc}"]) from None
    if not words:
        raise ParameterError(["name a runbook: /tws run RUNBOOK key=value ... (see /tws runbooks)"])
    runbook_id, *pairs = words
    values: dict[str, str] = {}
    problems: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or not key or not value:
            problems.append(f"{pair!r} is not key=value")
        elif key in values:
            problems.append(f"{key} is given twice")
        else:
            values[key] = value.strip()
    if problems:
        raise ParameterError(problems)
    return ParsedCommand(runbook_id=runbook_id.lower(), values=values)


async def _resolve_job(scheduler: Scheduler, raw: str) -> tuple[str, str]:
    text = raw.upper()
    workstation, _, rest = text.rpartition("#")
    stream, dot, job = rest.rpartition(".")
    if not dot or not stream or not job:
        raise ValueError(f"{raw!r}: write the job as STREAM.JOB or WS#STREAM.JOB")
    found = (await scheduler.query_jobs(name=job, job_stream=stream)).value
    found = [j for j in found if j.name == job and j.job_stream_name == stream]
    if workstation:
        found = [j for j in found if j.job_stream_workstation == workstation]
    if not found:
        raise ValueError(f"{raw!r}: no such job in the current plan")
    if len(found) > 1:
        names = ", ".join(sorted(f"{j.qualified_name} (id {j.id})" for j in found)[:5])
        raise ValueError(f"{raw!r} matches {len(found)} jobs in the plan: {names}; add WS#")
    return found[0].id, found[0].qualified_name


async def _resolve_stream(scheduler: Scheduler, raw: str) -> tuple[str, str]:
    text = raw.upper()
    workstation, _, name = text.rpartition("#")
    found = [s for s in (await scheduler.query_job_streams(name=name)).value if s.name == name]
    if workstation:
        found = [s for s in found if s.workstation == workstation]
    if not found:
        raise ValueError(f"{raw!r}: no such job stream in the current plan")
    if len(found) > 1:
        names = ", ".join(sorted(f"{s.qualified_name} (id {s.id})" for s in found)[:5])
        raise ValueError(f"{raw!r} matches {len(found)} job streams: {names}; add WS#")
    return found[0].id, found[0].qualified_name


async def _resolve_workstation(scheduler: Scheduler, raw: str) -> tuple[str, str]:
    name = raw.upper()
    names = [w.name for w in (await scheduler.workstations()).value]
    if name not in names:
        raise ValueError(f"{raw!r}: no such workstation (known: {', '.join(sorted(names))})")
    return name, name


async def resolve_parameters(
    *, runbook: Runbook, values: Mapping[str, str], scheduler: Scheduler
) -> dict[str, ResolvedParam]:
    """Check values against the runbook's parameters and the live plan.

    Args:
        runbook: The runbook.
        values: ``key=value`` pairs from the request.
        scheduler: Where to look the objects up.

    Returns:
        Every parameter, resolved, by name.

    Raises:
        ParameterError: Unknown, missing, malformed, or not in the plan (every problem listed).
    """
    problems: list[str] = []
    known = {spec.name for spec in runbook.parameters}
    problems.extend(
        f"unknown parameter {key!r} (this runbook takes: {', '.join(sorted(known)) or 'none'})"
        for key in values
        if key not in known
    )
    resolved: dict[str, ResolvedParam] = {}
    for spec in runbook.parameters:
        raw = values.get(spec.name, spec.default)
        if raw is None:
            if spec.required:
                problems.append(f"missing {spec.name}= ({spec.type.value}: {spec.description})")
            continue
        if "*" in raw or "%" in raw:
            problems.append(f"{spec.name}: wildcards are not allowed in a runbook parameter")
            continue
        try:
            if spec.type == ParamType.JOB:
                ref, display = await _resolve_job(scheduler, raw)
            elif spec.type == ParamType.JOB_STREAM:
                ref, display = await _resolve_stream(scheduler, raw)
            elif spec.type == ParamType.WORKSTATION:
                ref, display = await _resolve_workstation(scheduler, raw)
            elif spec.type == ParamType.INTEGER:
                ref = display = str(int(raw))
            else:
                if not _NAME.match(raw):
                    raise ValueError(f"{raw!r}: letters, digits and _ @ . # - only")
                ref = display = raw
        except ValueError as exc:
            problems.append(f"{spec.name}: {exc}")
            continue
        resolved[spec.name] = ResolvedParam(
            name=spec.name, type=spec.type, raw=raw, ref=ref, display=display
        )
    if problems:
        raise ParameterError(problems)
    return resolved
