"""Help: what Resync can answer, with examples; and the answer to what it did not understand."""

from __future__ import annotations

from agents.answers.common import Answer, AnswerContext
from agents.intents import Intent
from agents.messages import Paragraph, Reply, Table, Tone

__all__ = ["EXAMPLES", "INCIDENT_EXAMPLES", "answer_help", "answer_unknown"]

EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "Status of a job or job stream",
        "status PAYROLL_EXTRACT · status PAY* · how is PAYROLL_DAILY",
    ),
    (
        "Jobs by status",
        "what failed tonight? · what is running on AGT_LNX01 · held jobs · waiting jobs",
    ),
    ("Why a job failed", "why did PAYROLL_EXTRACT abend? · why?  (after asking about a job)"),
    ("Counts", "how many jobs are in the plan? · how many jobs on AGT_LNX02? · how many failed?"),
    ("Late and at risk", "what is late? · any SLA breaches? · when will GL_CLOSE finish?"),
    ("What changed", "what changed since 22:00? · anything new in the last hour?"),
    ("Codes and fixes", "what does AWSBHT001E mean? · how do I fix ORA-01555?"),
    ("Dependencies", "what depends on PAYROLL_EXTRACT? · and its predecessors?"),
    ("Workstations", "workstation status · is AGT_WIN01 up?"),
    (
        "Change the plan (colleagues approve first)",
        "rerun PAYROLL_EXTRACT · kill GL_CLOSE_INIT · run cancel-job job=STREAM.JOB",
    ),
)

INCIDENT_EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "Incidents",
        "raise an incident for PAYROLL_EXTRACT · incident declare SEV2 <title> · incidents · "
        "incident INC-2026-0042",
    ),
    (
        "In an incident's room",
        "incident update <text> · incident note <text> · incident lead @someone · "
        "incident severity SEV1 · incident escalate · incident status monitoring · "
        "incident resolve <summary> · incident close · incident link <JOB>",
    ),
)


async def answer_help(ctx: AnswerContext, intent: Intent) -> Answer:
    """List what Resync answers, with examples.

    Args:
        ctx: The answer context (help reads nothing; incidents are listed when enabled).
        intent: The HELP intent.

    Returns:
        The help answer.
    """
    del intent
    rows = EXAMPLES + (INCIDENT_EXAMPLES if ctx.incidents is not None else ())
    return Answer(
        reply=Reply(
            headline="I answer questions about the current TWS plan. Try:",
            blocks=(
                Table(columns=("You want", "Ask"), rows=rows),
                Paragraph(
                    text="Names can be exact (PAYROLL_EXTRACT), qualified (PAYROLL_DAILY.PAYROLL_EXTRACT) "
                    "or wildcards (PAY*). Follow-ups in the same thread keep the job in mind."
                ),
            ),
        )
    )


# What to suggest for a word that was recognised in a question that was not.
_SUGGEST: tuple[tuple[str, str], ...] = (
    ("anomal", "what's unusual tonight?"),
    ("unusual", "what's unusual tonight?"),
    ("sla", "what is at risk?"),
    ("deadline", "what is at risk?"),
    ("eta", "when will GL_CLOSE finish?"),
    ("incident", "what incidents are open?"),
    ("rerun", "what changed in the last hour?"),
    ("hold", "what is held?"),
    ("release", "what changed in the last hour?"),
    ("failure", "what failed tonight?"),
    ("plan", "how many jobs are in the plan?"),
    ("workstation", "workstation status"),
    ("agent", "workstation status"),
)


def _suggestions(understood: str) -> list[str]:
    words = [word.strip().lower() for word in understood.split(",") if word.strip()]
    found: list[str] = []
    for word in words:
        if word[:1].isdigit():
            found.append(f"what changed since {word}?")
            continue
        found += [ask for stem, ask in _SUGGEST if word.startswith(stem) and ask not in found]
    return found[:3]


async def answer_unknown(ctx: AnswerContext, intent: Intent) -> Answer:
    """Say plainly that the question was not understood, what was, and how to ask.

    Args:
        ctx: The answer context (unused).
        intent: The UNKNOWN intent (``arguments["understood"]``: words recognised, if any).

    Returns:
        The answer.
    """
    del ctx
    understood = intent.arguments.get("understood", "")
    suggestions = _suggestions(understood) if understood else []
    if understood:
        headline = f"I recognised '{understood}' but not the question."
        ask = (
            "Did you mean " + " or ".join(f"'{text}'" for text in suggestions) + "?"
            if suggestions
            else "What would you like to know about it?"
        )
        text = f"{ask} Type 'help' for what I answer."
    else:
        headline = "I did not understand that question. What would you like to know?"
        text = (
            "Ask about a job, a job stream or the plan, e.g. 'what failed tonight?', "
            "'status PAYROLL_EXTRACT' or 'what will be late?'. Type 'help' for more."
        )
    return Answer(reply=Reply(headline=headline, tone=Tone.WARNING, blocks=(Paragraph(text=text),)))
