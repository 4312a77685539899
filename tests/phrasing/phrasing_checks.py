"""Expectations about plan facts: each reads the simulator's API, then looks in the answer.

Each check takes the plan, the answer and the case's argument, and returns one short reason
per fact the answer gets wrong or leaves out (empty: right).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from phrasing_plan import DONE, FAILED, PlanJob, PlanView
from phrasing_rootcause import Blocker, blockers
from phrasing_text import LIST_CAP, NAME_SHAPED, Answer, has_name, has_number


def _filters(arg: Any) -> dict[str, Any]:
    if isinstance(arg, list):
        return {"status": arg}
    if isinstance(arg, str):
        return {"status": [arg]}
    return dict(arg or {})


def _select(plan: PlanView, arg: Any) -> list[PlanJob]:
    spec = _filters(arg)
    status = spec.get("status")
    jobs = plan.select(status=[status] if isinstance(status, str) else status)
    for key in ("workstation", "stream"):
        wanted = spec.get(key)
        if wanted is not None:
            allowed = {wanted} if isinstance(wanted, str) else set(wanted)
            jobs = [job for job in jobs if getattr(job, key) in allowed]
    if spec.get("late"):
        jobs = [job for job in jobs if job.late]
    if spec.get("held_by_operator"):
        jobs = [job for job in jobs if job.held_by_operator]
    return jobs


def _named(text: str, jobs: list[PlanJob], what: str) -> list[str]:
    if len(jobs) > LIST_CAP:
        return []
    missing = [job.name for job in jobs if not has_name(text, job.name)]
    return [f"{what}: missing {', '.join(missing[:5])}"] if missing else []


async def names_with_status(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every job matching the filter is named; the count when the list is long or empty.

    The filter is a status list, or {status, workstation, stream, late, held_by_operator}.
    """
    jobs = _select(plan, arg)
    reasons = _named(answer.text, jobs, f"list {arg}")
    if not has_number(answer.text, len(jobs)) and (len(jobs) > LIST_CAP or not jobs):
        reasons.append(f"count {len(jobs)} not stated for {arg}")
    return reasons


async def count_of(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """The number of jobs matching the filter is in the headline."""
    # The number asked for answers the question: it belongs in the headline, not only in a
    # by-status breakdown of some other count further down.
    number = len(_select(plan, arg))
    headline = answer.text.split("\n", 1)[0]
    return [] if has_number(headline, number) else [f"count {number} not in the headline for {arg}"]


async def only(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """No job outside the filter is listed (a workstation filter really filters)."""
    allowed = {job.name for job in _select(plan, arg)}
    asked = " ".join(answer.questions).upper()
    jobs = {job.name for job in plan.jobs}
    stray = [
        token
        for token in NAME_SHAPED.findall(answer.text)
        if token in jobs and token not in allowed and token not in asked
    ]
    return [f"lists jobs outside {arg}: {', '.join(sorted(set(stray))[:4])}"] if stray else []


def _status_words(job: PlanJob) -> list[str]:
    words = [job.status]
    if job.status in FAILED and job.return_code is not None:
        words.append(str(job.return_code))
    return words


def _missing_status(text: str, job: PlanJob) -> list[str]:
    """What of "NAME STATUS rc N" the text lacks (the rc as a number on its own)."""
    missing = [word for word in (job.name, job.status) if not has_name(text, word)]
    rc = job.return_code
    if job.status in FAILED and rc is not None and not has_number(text, rc):
        missing.append(f"rc {rc}")
    return missing


def _each(arg: Any) -> list[str]:
    return [arg] if isinstance(arg, str) else list(arg)


async def job_status(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Each named job with its status, and its return code when it failed."""
    reasons = []
    for name in _each(arg):
        job = plan.job(name)
        missing = _missing_status(answer.text, job)
        if missing:
            reasons.append(f"{job.name} is {job.status}: missing {', '.join(missing)}")
    return reasons


async def stream_progress(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """The stream named, with its done and total job counts and its failed jobs."""
    jobs = plan.select(stream=arg)
    done = sum(1 for job in jobs if job.status in DONE)
    reasons = [] if has_name(answer.text, arg) else [f"stream {arg} not named"]
    for number, what in ((done, "done"), (len(jobs), "total")):
        if not has_number(answer.text, number):
            reasons.append(f"{arg}: {what} {number} not stated")
    return reasons + await stream_failures(plan, answer, arg)


async def stream_failures(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every failed job of the stream(s) with status and return code."""
    failed = _select(plan, {"stream": arg, "status": sorted(FAILED)})
    return [
        f"{job.stream}: failed {job.name} ({' '.join(_status_words(job))}) not explained"
        for job in failed
        if _missing_status(answer.text, job)
    ]


async def blockers_of(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """The root causes upstream (failed, held, workstation down) and the streams crossed."""
    causes = await blockers(plan, arg)
    if not causes:
        return []
    text = answer.text
    failed = [cause for cause in causes if cause.reason == "failed"]
    must = failed if 0 < len(failed) <= 3 else []
    reasons = [
        f"root cause {cause.job.name} {cause.job.status} not named"
        for cause in must
        if not has_name(text, cause.job.name) or cause.job.status not in text
    ]
    mentioned = [cause for cause in causes if _cause_named(plan, text, cause)]
    if not mentioned:
        names = ", ".join(f"{cause.job.name} ({cause.reason})" for cause in causes[:4])
        reasons.append(f"no root cause named; expected one of {names}")
    held = [c.job.name for c in causes if c.reason == "held"]
    if held and not re.search(r"\bheld\b", text, re.I):
        reasons.append(f"held by an operator ({', '.join(held)}) not said")
    reasons.extend(f"held job {name} not named" for name in held if not has_name(text, name))
    down = {c.job.workstation for c in causes if c.reason == "workstation_down"}
    reasons.extend(
        f"down workstation {ws} not named" for ws in sorted(down) if not has_name(text, ws)
    )
    for cause in mentioned:
        if cause.reason != "failed":
            continue
        gaps = [s for s in cause.streams_between if not _stream_on_path(text, cause, s)]
        if cause.crosses and not has_name(text, cause.job.stream):
            gaps.append(cause.job.stream)
        if gaps:
            reasons.append(f"chain to {cause.job.name} skips {', '.join(gaps)}")
    return reasons


def _stream_on_path(text: str, cause: Blocker, stream: str) -> bool:
    return has_name(text, stream) or any(
        has_name(text, job.name) for job in cause.path if job.stream == stream
    )


def _cause_named(plan: PlanView, text: str, cause: Blocker) -> bool:
    if cause.reason == "workstation_down":
        return has_name(text, cause.job.workstation)
    if cause.reason == "at_time" and cause.job.at_time:
        at = datetime.fromisoformat(cause.job.at_time).strftime("%H:%M")
        return at in text or has_name(text, cause.job.name)
    return has_name(text, cause.job.name)


async def workstation_state(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """The workstation named with the right word for up or down."""
    up = plan.linked(arg)
    words = (
        r"\b(up|linked|online|running|fine|ok)\b"
        if up
        else r"\b(down|unlinked|not linked|offline|no heartbeat)\b"
    )
    if not has_name(answer.text, arg) or not re.search(words, answer.text, re.IGNORECASE):
        return [f"{arg} is {'up' if up else 'down'}: not said"]
    return []


async def workstations_down(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every unlinked workstation named, or that all are up."""
    down = [name for name, ws in plan.workstations.items() if not ws.get("linked")]
    if not down:
        ok = re.search(
            r"\b(all|every)\b.*\b(up|linked)\b|\bnone\b|\bno workstation", answer.text, re.I
        )
        return [] if ok else ["all workstations are up: not said"]
    return [
        f"down workstation {name} not named" for name in down if not has_name(answer.text, name)
    ]


async def late_jobs(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every job the engine flags late is named."""
    late = [job for job in plan.jobs if job.late]
    return _named(answer.text, late, "late jobs")


async def eta_of(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """An ETA time with its basis, or what stops the subject from finishing at all.

    A failed job, an operator hold or a down workstation upstream means no honest ETA: the
    answer must name that cause instead of a time.
    """
    text = answer.text
    reasons = [] if has_name(text, arg) else [f"{arg} not named"]
    stops = ("failed", "held", "workstation_down")
    causes = [cause for cause in await blockers(plan, arg) if cause.reason in stops]
    if causes:
        if not any(_cause_named(plan, text, cause) for cause in causes):
            what = f"{causes[0].job.name} ({causes[0].reason})"
            reasons.append(f"ETA of {arg}: blocked by {what}, not said")
        return reasons
    clock = plan.now.strftime("%H:%M")
    times = [t for t in re.findall(r"\b\d{2}:\d{2}\b", text) if t != clock]
    if not times:
        reasons.append("no ETA time")
    # The basis may sit in the small print ("Basis: typical durations from run history").
    said = f"{text}\n{answer.small_print}"
    if not re.search(r"basis|based on|usual|average|typical|history|estimat|median", said, re.I):
        reasons.append("ETA without its basis")
    return reasons


async def changed_since(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Failures since the time named; completions since counted or named."""
    since = _since(plan, arg)
    failures = [f["name"].split(".")[-1] for f in plan.truth["failures"] if _at(f["at"]) >= since]
    reasons = [
        f"new failure {name} not listed" for name in failures if not has_name(answer.text, name)
    ]
    done = [
        job
        for job in plan.jobs
        if job.status in DONE and job.actual_end and since <= _at(job.actual_end) <= plan.now
    ]
    all_named = len(done) <= LIST_CAP and not _named(answer.text, done, "completed")
    if not has_number(answer.text, len(done)) and not all_named:
        reasons.append(f"{len(done)} completions since {since:%H:%M} not stated")
    return reasons


def _since(plan: PlanView, arg: Any) -> datetime:
    if isinstance(arg, dict) and "minutes" in arg:
        return plan.now - timedelta(minutes=int(arg["minutes"]))
    hour, minute = (int(part) for part in str(arg).split(":"))
    return plan.now.replace(hour=hour, minute=minute, second=0)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def failed_since(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every failure since the time named, or that there was none."""
    since = _since(plan, arg)
    failures = [f["name"].split(".")[-1] for f in plan.truth["failures"] if _at(f["at"]) >= since]
    reasons = [f"failure {name} not listed" for name in failures if not has_name(answer.text, name)]
    if not failures and not has_number(answer.text, 0):
        reasons.append(f"no failure since {since:%H:%M}: not said")
    return reasons


async def successors_of(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every direct successor named."""
    names = [dep["name"] for dep in await plan.successors(plan.job(arg))]
    return [f"successor {name} not named" for name in names if not has_name(answer.text, name)]


async def predecessors_of(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every direct predecessor named."""
    names = [dep["name"] for dep in await plan.predecessors(plan.job(arg))]
    return [f"predecessor {name} not named" for name in names if not has_name(answer.text, name)]


async def held_both(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Both numbers: held by an operator, and in HOLD waiting for predecessors."""
    held = _select(plan, {**_filters(arg), "status": ["HOLD"]})
    by_operator = sum(1 for job in held if job.held_by_operator)
    waiting = len(held) - by_operator
    reasons = []
    if not has_number(answer.text, by_operator):
        reasons.append(f"held by an operator ({by_operator}) not stated")
    if not has_number(answer.text, waiting):
        reasons.append(f"waiting for predecessors ({waiting}) not stated")
    return reasons
