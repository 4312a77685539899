"""The slash command's words: ``/tws status PAYROLL*`` becomes the question "status of PAYROLL*".

Subcommands mirror the agent's question kinds; ``/tws run RUNBOOK key=value`` reaches the
agent as "run RUNBOOK key=value" (a runbook request, answered with an approval card);
``/tws incident ...`` as "incident ..." and ``/tws incidents`` as "incidents" (incidents);
anything else goes to the agent as written (it answers "I did not understand" with help when
it cannot).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["SUBCOMMANDS", "command_question"]


def _with_subject(template: str, bare: str) -> Callable[[str], str]:
    def build(rest: str) -> str:
        return template.format(rest) if rest else bare

    return build


SUBCOMMANDS: Final[dict[str, Callable[[str], str]]] = {
    "help": lambda rest: "help",
    "status": _with_subject("status of {}", "status"),
    "why": _with_subject("why did {} fail", "why did it fail"),
    "late": lambda rest: f"what is late {rest}".strip(),
    "failed": lambda rest: f"what failed tonight? {rest}".strip(),
    "deps": _with_subject("what depends on {}", "what depends on it"),
    "preds": _with_subject("predecessors of {}", "predecessors"),
    "ws": _with_subject("workstation status {}", "workstation status"),
    # Runbook requests: the agent reads "run RUNBOOK key=value ..." as it is typed.
    "run": lambda rest: f"run {rest}".strip(),
    # Incidents: "incident declare SEV2 <title>", "incident note <text>", ...; "incidents" lists.
    "incident": lambda rest: f"incident {rest}".strip(),
    "inc": lambda rest: f"incident {rest}".strip(),
    "incidents": lambda rest: f"incidents {rest}".strip(),
}


def command_question(text: str) -> str:
    """Turn the text after the slash command into the question for the agent.

    Args:
        text: What followed the command, e.g. ``status PAYROLL*``.

    Returns:
        The question: a mapped subcommand, "help" for nothing, else the text as is.
    """
    words = text.strip().split(maxsplit=1)
    if not words:
        return "help"
    verb = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    build = SUBCOMMANDS.get(verb)
    return build(rest) if build is not None else text.strip()
