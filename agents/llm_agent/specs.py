"""The tools the open-question agent may call: names, what each is for, its arguments.

Every tool reads; none changes the plan, an incident or anything else (the executor,
`agents.llm_agent.tools`, has no write call to make). ``propose_runbook`` only checks a
command a person could send: the person sends it, and colleagues approve it as usual.

The schemas are OpenAI function definitions; descriptions are short because they are sent
with every step and count against the question's token budget.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["TOOL_NAMES", "TOOL_SPECS"]

_NAME: dict[str, Any] = {
    "type": "string",
    "description": "job or job stream name, e.g. PAYROLL_EXTRACT",
}
_GROUPS = [
    "abended",
    "failed",
    "running",
    "held",
    "waiting",
    "ready",
    "scheduled",
    "succeeded",
    "cancelled",
]


def _spec(tool: str, purpose: str, /, **properties: dict[str, Any]) -> dict[str, Any]:
    """One function definition; a property holding ``"required": True`` is required."""
    required = [key for key, value in properties.items() if value.pop("required", False)]
    return {
        "type": "function",
        "function": {
            "name": tool,
            "description": purpose,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def _specs() -> tuple[dict[str, Any], ...]:
    return (
        _spec(
            "find_jobs",
            "Jobs in the current plan matching filters (name may hold *).",
            name={"type": "string"},
            job_stream={"type": "string"},
            workstation={"type": "string"},
            status_group={"type": "string", "enum": _GROUPS},
        ),
        _spec("job_status", "Status of one job or job stream.", name={**_NAME, "required": True}),
        _spec(
            "why_failed",
            "Why a job failed or what blocks it: return code, log lines, causes.",
            name={**_NAME, "required": True},
        ),
        _spec("run_history", "A job's past runs, newest first.", name={**_NAME, "required": True}),
        _spec(
            "job_log",
            "The last lines of a job's log.",
            name={**_NAME, "required": True},
            lines={"type": "integer", "minimum": 1, "maximum": 60},
        ),
        _spec("predecessors", "What a job waits for.", name={**_NAME, "required": True}),
        _spec(
            "successors",
            "What depends on a job, with deadlines at risk.",
            name={**_NAME, "required": True},
        ),
        _spec(
            "deadline_forecast",
            "Expected end of a job or stream; without a name: what is late or at risk.",
            name=dict(_NAME),
        ),
        _spec(
            "workstations",
            "Workstations up or down; with a name, its jobs.",
            name={"type": "string"},
        ),
        _spec(
            "recent_changes",
            "Failures, completions, reruns and starts in the last minutes.",
            minutes={"type": "integer", "minimum": 1, "maximum": 1440},
        ),
        _spec(
            "knowledge_search",
            "Search runbooks, message codes and past incidents.",
            query={"type": "string", "required": True},
        ),
        _spec(
            "incidents",
            "Open incidents; with an id, that incident.",
            id={"type": "string", "description": "e.g. INC-2026-0042"},
        ),
        _spec(
            "propose_runbook",
            "Suggest a plan change for the person to send (never runs it).",
            command={
                "type": "string",
                "description": "e.g. 'rerun PAYROLL_DAILY.PAYROLL_EXTRACT'",
                "required": True,
            },
        ),
    )


TOOL_SPECS: Final = _specs()
TOOL_NAMES: Final = frozenset(spec["function"]["name"] for spec in TOOL_SPECS)
