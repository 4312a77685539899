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
    ("Late and at risk", "what is late? · what will be late? · at risk"),
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


async def answer_unknown(ctx: AnswerContext, intent: Intent) -> Answer:
    """Say plainly that the question was not understood, and how to ask.

    Args:
        ctx: The answer context (unused).
        intent: The UNKNOWN intent.

    Returns:
        The answer.
    """
    del ctx, intent
    return Answer(
        reply=Reply(
            headline="I did not understand that question.",
            tone=Tone.WARNING,
            blocks=(
                Paragraph(
                    text="Ask about a job, a job stream or the plan, e.g. 'what failed tonight?', "
                    "'status PAYROLL_EXTRACT' or 'what will be late?'. Type 'help' for more."
                ),
            ),
        )
    )
