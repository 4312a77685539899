"""Scores one answer of the phrasing set against the plan the simulator serves.

Every expectation is a query evaluated at run time (`CHECKS`): the scorer reads the facts
from the simulator's HTTP API (`PlanView`) or the shipped corpus files, then looks for
them in the answer's text. Three checks apply to every answer: the "as of" time and a
source when the answer states plan facts, and no TWS-name-shaped token that is neither in
the plan nor in the question (an invented name).
"""

from __future__ import annotations

import re
from typing import Any

from phrasing_checks import (
    blockers_of,
    changed_since,
    count_of,
    eta_of,
    failed_since,
    held_both,
    job_status,
    late_jobs,
    names_with_status,
    only,
    predecessors_of,
    stream_failures,
    stream_progress,
    successors_of,
    workstation_state,
    workstations_down,
)
from phrasing_knowledge import code_entry, content_words, pattern_entry
from phrasing_plan import PlanView
from phrasing_text import NAME_SHAPED, QUOTED, STATUS_WORDS, Answer, Check, has_name

COUNTED = re.compile(r"\b\d+ (jobs?|job streams?|workstations?)\b")
NO_FACT_CHECKS = frozenset(
    {"asks_back", "brief_reply", "knowledge_code", "knowledge_pattern", "not_as_name"}
)


async def invented_names(plan: PlanView, answer: Answer) -> list[str]:
    """Name-shaped tokens of the conversation's answers that nothing the engine served has.

    Known: the plan's jobs, streams and workstations, the question's own words, and tokens
    of the job logs the engine serves (an answer may quote a log line, e.g. a package name).
    """
    asked = " ".join(answer.questions).upper()
    known = plan.names
    unknown = {
        token
        for text in answer.all_texts
        for token in NAME_SHAPED.findall(text)
        if token not in known and not token.startswith("RESYNC_") and token not in asked
    }
    if unknown:
        logs = await plan.served_log_text()
        unknown = {token for token in unknown if not has_name(logs, token)}
    return sorted(unknown)


def needs_facts(expect: dict[str, Any]) -> bool:
    """Whether the expected answer states plan facts (then "as of" and a source are due)."""
    return not set(expect) <= NO_FACT_CHECKS


def answer_states_facts(plan: PlanView, answer: Answer) -> bool:
    """Whether the answer itself states plan facts: a count of jobs, or a status of a name.

    Help text that quotes example questions ('status PAYROLL_EXTRACT') states no fact.
    """
    asked = " ".join(answer.questions).upper()
    for line in answer.text.splitlines():
        if line.lower().startswith("as of"):
            continue
        if COUNTED.search(QUOTED.sub("", line)):
            return True
        if STATUS_WORDS.search(line) and any(
            t in plan.names and t not in asked for t in NAME_SHAPED.findall(line)
        ):
            return True
    return False


def states_facts(plan: PlanView, answer: Answer, expect: dict[str, Any]) -> bool:
    """Whether "as of" and a source are due: the answer should state facts, or does."""
    return needs_facts(expect) or answer_states_facts(plan, answer)


def as_of_and_source(plan: PlanView, answer: Answer) -> list[str]:
    """Reasons the answer lacks its "as of" time or its source."""
    reasons = []
    clock = plan.now.strftime("%H:%M")
    text = answer.text
    if not re.search(r"\bas of\b", text, re.IGNORECASE) or clock not in text:
        reasons.append(f"no 'as of {clock}'")
    host = plan.url.split("//", 1)[-1]
    if not re.search(r"\bsource\b", text, re.IGNORECASE) or host not in text:
        reasons.append("no source")
    return reasons


async def asks_back(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """A question back to the operator (outside quoted examples); no word taken for a name."""
    # A "?" inside a quoted example ('what failed tonight?') is not a question to the user.
    asks = "?" in QUOTED.sub("", answer.text)
    reasons = [] if asks else ["does not ask what was meant"]
    if re.search(r"No job or job stream named", answer.text):
        reasons.append("took a word for a job name")
    return reasons


async def not_as_name(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """None of the words is treated as a job or stream name."""
    words = [arg] if isinstance(arg, str) else list(arg)
    return [
        f"took {word!r} for a name"
        for word in words
        if re.search(rf"named {re.escape(word)}\b|^{re.escape(word)}\b", answer.text, re.I | re.M)
    ]


async def brief_reply(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """A short, friendly reply, not 'did not understand'."""
    reasons = []
    if re.search(r"did not understand|didn't understand|don't understand", answer.text, re.I):
        reasons.append("answered 'did not understand'")
    if len(answer.text) > 400:
        reasons.append(f"not brief ({len(answer.text)} characters)")
    return reasons


async def knowledge_code(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """The corpus entry of the AWS code (meaning or action) with its source."""
    spec = {"code": arg} if isinstance(arg, str) else dict(arg)
    entry = code_entry(spec["code"])
    return _knowledge(answer, spec["code"], entry[spec.get("part", "meaning")])


async def knowledge_pattern(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """The most specific corpus pattern for the text (meaning or action) with its source."""
    spec = {"text": arg} if isinstance(arg, str) else dict(arg)
    entry = pattern_entry(spec["text"])
    keys = (spec["text"], entry["name"])
    return _knowledge(answer, keys, entry[spec.get("part", "meaning")])


def _knowledge(answer: Answer, keys: str | tuple[str, ...], expected: str) -> list[str]:
    keys = (keys,) if isinstance(keys, str) else keys
    key = keys[0]
    named = any(k.lower() in answer.text.lower() for k in keys)
    reasons = [] if named else [f"{key} not named"]
    words = content_words(expected)
    found = [word for word in words if word in answer.text.lower()]
    if len(found) < 0.6 * len(words):
        reasons.append(f"{key}: corpus text not given ({len(found)}/{len(words)} words)")
    if not re.search(r"knowledge|source", answer.text, re.I):
        reasons.append(f"{key}: no source")
    return reasons


async def mentions_all(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """Every literal word is said."""
    return [f"{word!r} not said" for word in arg if word.lower() not in answer.text.lower()]


async def mentions_any(plan: PlanView, answer: Answer, arg: Any) -> list[str]:
    """At least one literal word is said."""
    said = any(word.lower() in answer.text.lower() for word in arg)
    return [] if said else [f"none of {arg} said"]


CHECKS: dict[str, Check] = {
    check.__name__: check
    for check in (
        names_with_status, count_of, only, job_status, stream_progress, stream_failures,
        blockers_of, workstation_state, workstations_down, late_jobs, eta_of, changed_since,
        failed_since,
        successors_of, predecessors_of, held_both, asks_back, not_as_name, brief_reply,
        knowledge_code, knowledge_pattern, mentions_all, mentions_any,
    )
}  # fmt: skip


async def score(plan: PlanView, answer: Answer, expect: dict[str, Any]) -> list[str]:
    """Every reason the answer is wrong; an empty list means correct.

    Args:
        plan: The plan as the simulator serves it.
        answer: The assistant's last answer and the conversation's questions.
        expect: The case's expectations (keys of `CHECKS`).

    Returns:
        One short reason per failed check, the generic checks included.
    """
    reasons: list[str] = [] if answer.text.strip() else ["empty answer"]
    # Facts are looked for outside the small print ("As of Mon 23 Nov 23:30" holds numbers).
    body = "\n".join(
        line for line in answer.text.splitlines() if not line.lower().startswith("as of")
    )
    facts = Answer(body, answer.small_print, answer.questions, answer.all_texts)
    for key, arg in expect.items():
        reasons.extend(await CHECKS[key](plan, facts, arg))
    if states_facts(plan, answer, expect):
        reasons.extend(as_of_and_source(plan, answer))
    invented = await invented_names(plan, answer)
    if invented:
        reasons.append(f"invented names: {', '.join(invented[:5])}")
    return reasons
