"""Requests to change the plan, in the words operators use, mapped to runbooks.

Only imperative requests at the start of a message count ("rerun PAYROLL_EXTRACT",
"please kill GL_CLOSE_INIT", "run cancel-job job=X"); questions that merely mention a word
("which jobs are cancelled?") stay questions. The runbook itself decides what is allowed:
this only names which one, and with what.

``run RUNBOOK key=value ...`` is read by the one strict parser the runbook service uses
(`agents.runbooks.params.parse_command`). A command it refuses (a key given twice, a word
that is not ``key=value``) still becomes a RUNBOOK intent, carrying the problems under
`COMMAND_PROBLEMS`, so the person is told what to fix instead of getting an answer to a
question they did not ask, and nothing is requested.
"""

from __future__ import annotations

import re
from typing import Final

from agents.intents import Intent, IntentKind
from agents.runbooks.errors import ParameterError
from agents.runbooks.params import parse_command

__all__ = ["COMMAND_PROBLEMS", "command_problems", "understand_action"]

COMMAND_PROBLEMS: Final = "!problems"
"""The `Intent.arguments` key holding why a run command could not be read (one per line).

`Intent` has no field for it; the key cannot be a runbook parameter (those match
``[a-z][a-z0-9_]*``), so it can never be mistaken for one, and the service would refuse it
as an unknown parameter if it ever got that far."""

_NAME = r"([A-Za-z0-9_#.*-]+)"
_IT = re.compile(r"^(it|that|this)$", re.IGNORECASE)
# "rerun the job", "cancel that failed job": a reference to the conversation's job, said
# with the noun. Rewritten to "it" before matching, so the optional "the" and "job" of the
# patterns below cannot take "job" (or "that") for a job name.
_JOB_REFERENCE = re.compile(
    r"\b(?:the|that|this)\s+(?:failed\s+|abended\s+)?job(?=\s*[.!?]?\s*(?:please)?\s*[.!?]?\s*$)",
    re.IGNORECASE,
)
_POLITE = r"^(?:please\s+|can you\s+|could you\s+|go ahead and\s+)?"

# (pattern, runbook id, parameter name); the first group is the object.
_ACTIONS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(_POLITE + pattern + r"\s*[.!?]?\s*(?:please)?\s*$", re.IGNORECASE), runbook, param)
    for pattern, runbook, param in (
        (
            r"re-?run\s+(?:the\s+)?(?:failed\s+|abended\s+)?(?:job\s+)?" + _NAME,
            "rerun-abended-job",
            "job",
        ),
        (
            r"restart\s+(?:the\s+)?(?:failed\s+)?chain\s+(?:from|of|at)\s+" + _NAME,
            "restart-failed-chain",
            "job",
        ),
        (r"cancel\s+(?:the\s+)?(?:job\s+)?" + _NAME, "cancel-job", "job"),
        (r"kill\s+(?:the\s+)?(?:job\s+)?" + _NAME, "kill-job", "job"),
        (r"confirm\s+" + _NAME + r"\s+(?:as\s+)?succ(?:essful)?", "confirm-succ", "job"),
        (r"release\s+(?:the\s+)?dependencies\s+of\s+" + _NAME, "release-dependencies", "job"),
        (r"hold\s+(?:the\s+)?(?:job\s*)?stream\s+" + _NAME, "hold-job-stream", "stream"),
        (r"release\s+(?:the\s+)?(?:job\s*)?stream\s+" + _NAME, "release-job-stream", "stream"),
        (r"diagnose\s+(?:the\s+)?(?:workstation\s+)?" + _NAME, "workstation-down", "workstation"),
    )
)
# "run ID" alone, or followed by at least one key=value; the slash command name is dropped.
_RUN = re.compile(
    r"^(?:/\w+\s+)?(run\s+[a-z0-9][a-z0-9-]*(?:\s+\S+=.*)?)$", re.IGNORECASE | re.DOTALL
)


def command_problems(intent: Intent) -> list[str]:
    """Why the intent's run command could not be read; empty when it could (or is none).

    Args:
        intent: A RUNBOOK intent from `understand_action`.

    Returns:
        One line per problem, e.g. ``job is given twice``.
    """
    text = intent.arguments.get(COMMAND_PROBLEMS)
    return text.split("\n") if text else []


def _run_command(command: str) -> Intent:
    try:
        parsed = parse_command(command)
    except ParameterError as exc:
        return Intent(
            kind=IntentKind.RUNBOOK,
            runbook=command.split()[1].lower(),
            arguments={COMMAND_PROBLEMS: "\n".join(exc.problems)},
        )
    return Intent(kind=IntentKind.RUNBOOK, runbook=parsed.runbook_id, arguments=parsed.values)


def understand_action(text: str, *, focus: str | None) -> Intent | None:
    """A RUNBOOK intent when the message asks to change the plan, else None.

    Args:
        text: The message (bot mention removed).
        focus: The conversation's subject, for "rerun it".

    Returns:
        The intent, or None when the message is not such a request. A run command that
        cannot be read gives a RUNBOOK intent whose `command_problems` say why.
    """
    text = text.strip()
    run = _RUN.match(text)
    if run is not None:
        return _run_command(run.group(1))
    text = _JOB_REFERENCE.sub("it", text)
    for pattern, runbook, param in _ACTIONS:
        match = pattern.match(text)
        if match is None:
            continue
        target = match.group(1).rstrip(".")  # "rerun it.": a name never ends with a dot
        follow_up = False
        if _IT.match(target):
            if focus is None:
                return Intent(kind=IntentKind.RUNBOOK, runbook=runbook)
            target, follow_up = focus, True
        return Intent(
            kind=IntentKind.RUNBOOK,
            runbook=runbook,
            arguments={param: target.upper()},
            subject=target.upper(),
            follow_up=follow_up,
        )
    return None
