"""`ToolBox`: runs the agent's read-only tools over one question's answer context.

The tools wrap the answers people get (`agents.answers`: status, why, dependencies, the
deadline forecast, knowledge) and a few plain reads (plan queries, run history, a bounded
log excerpt, incidents), so the agent sees exactly the facts a person would, with their
"as of" and sources. The engine is reached through `ReadOnlyScheduler`: an action call
raises instead of reaching TWS, and the context given to the answers has no runbook
requester — no path from a tool to a change exists.

Exceptions: none escape `ToolBox.run`: an engine error or a spent call budget becomes the
tool's text ("failed: …") for the model to work with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from agents.answers.budget import BudgetedScheduler, CallBudgetExceededError
from agents.answers.changes import answer_changes
from agents.answers.common import Answer, AnswerContext, as_of_line
from agents.answers.dependencies import answer_predecessors, answer_successors
from agents.answers.eta import answer_eta
from agents.answers.incident_views import list_answer, show_answer
from agents.answers.knowledge import answer_knowledge
from agents.answers.late import answer_late
from agents.answers.status import answer_status
from agents.answers.why import answer_why
from agents.answers.workstations import answer_workstations
from agents.formatting import format_clock
from agents.incidents.errors import IncidentError
from agents.intents import LIST_FILTER_STATUSES, Intent, IntentKind, ListFilter
from agents.messages import Context, Reply
from agents.resolve import resolve
from agents.understand_actions import command_problems, understand_action
from integrations.tws.errors import TWSError
from integrations.tws.models import JobAction, JobStreamAction, PlanJob, PlanJobStream
from integrations.tws.scheduler import Snapshot

__all__ = ["LOG_BYTES", "ReadOnlyScheduler", "ToolBox", "ToolResult"]

LOG_BYTES: Final = 16 * 1024
"""The end of a job log the agent may read (the prompt gets at most its result cap)."""

_ROWS: Final = 20


class ReadOnlyScheduler(BudgetedScheduler):
    """The engine as the agent's tools see it: reads pass, actions raise."""

    async def job_action(self, job_id: str, action: JobAction) -> Snapshot[PlanJob]:
        """Refused: the agent never changes the plan."""
        raise PermissionError(f"the agent may not {action.value} a job")

    async def job_stream_action(
        self, job_stream_id: str, action: JobStreamAction
    ) -> Snapshot[PlanJobStream]:
        """Refused: the agent never changes the plan."""
        raise PermissionError(f"the agent may not {action.value} a job stream")


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call gave.

    Attributes:
        text: The facts, as plain text (data for the model).
        small_print: "As of …", "Source: …" and other sources of those facts.
        proposal: For ``propose_runbook``: the checked command, when it passed.
        answer: For the tools that give a person's answer (status, why, dependencies,
            forecast, knowledge, incidents): that answer, exact and sourced.
    """

    text: str
    small_print: tuple[str, ...] = field(default_factory=tuple)
    proposal: str | None = None
    answer: Answer | None = None


def _from_answer(answer: Answer) -> ToolResult:
    reply: Reply = answer.reply
    notes = tuple(
        item for block in reply.blocks if isinstance(block, Context) for item in block.items
    )
    return ToolResult(text=reply.plain_text(), small_print=notes, answer=answer)


def _optional_name(arguments: Mapping[str, Any], key: str = "name") -> str | None:
    value = arguments.get(key)
    return value.strip().upper()[:120] if isinstance(value, str) and value.strip() else None


def _name(arguments: Mapping[str, Any], key: str = "name") -> str:
    name = _optional_name(arguments, key)
    if name is None:
        raise ValueError(f"'{key}' is required")
    return name


class ToolBox:
    """The read-only tools over one question's context."""

    def __init__(self, ctx: AnswerContext) -> None:
        """Wrap the question's context: read-only engine, no runbook requests.

        Args:
            ctx: The question's answer context (its scheduler carries the call budget).
        """
        engine = ReadOnlyScheduler(ctx.scheduler, budget=10**9)  # the inner one counts
        self._ctx = replace(ctx, scheduler=engine, runbooks=None)
        self._tools: dict[str, Callable[[Mapping[str, Any]], Awaitable[ToolResult]]] = {
            "find_jobs": self._find_jobs,
            "job_status": self._answer(IntentKind.STATUS, answer_status),
            "why_failed": self._answer(IntentKind.WHY, answer_why),
            "run_history": self._history,
            "job_log": self._log,
            "predecessors": self._answer(IntentKind.PREDECESSORS, answer_predecessors),
            "successors": self._answer(IntentKind.SUCCESSORS, answer_successors),
            "deadline_forecast": self._forecast,
            "workstations": self._workstations,
            "recent_changes": self._changes,
            "knowledge_search": self._knowledge,
            "incidents": self._incidents,
            "propose_runbook": self._propose,
        }

    @property
    def context(self) -> AnswerContext:
        """The read-only context the tools use (the final name check reads through it)."""
        return self._ctx

    async def run(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one tool; failures become its text.

        Args:
            name: The tool.
            arguments: Its arguments as the model sent them.

        Returns:
            The result.
        """
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(text=f"failed: there is no tool named {name[:40]!r}")
        try:
            return await tool(arguments)
        except CallBudgetExceededError:
            return ToolResult(text="failed: this question used up its calls to TWS")
        except (ValueError, TWSError, IncidentError, PermissionError) as exc:
            return ToolResult(text=f"failed: {str(exc)[:300]}")

    def _answer(
        self, kind: IntentKind, handler: Callable[[AnswerContext, Intent], Awaitable[Answer]]
    ) -> Callable[[Mapping[str, Any]], Awaitable[ToolResult]]:
        async def tool(arguments: Mapping[str, Any]) -> ToolResult:
            intent = Intent(kind=kind, subject=_name(arguments))
            return _from_answer(await handler(self._ctx, intent))

        return tool

    async def _find_jobs(self, arguments: Mapping[str, Any]) -> ToolResult:
        group = arguments.get("status_group")
        statuses = LIST_FILTER_STATUSES.get(ListFilter(group)) if isinstance(group, str) else None
        read = await self._ctx.scheduler.query_jobs(
            name=_optional_name(arguments),
            job_stream=_optional_name(arguments, "job_stream"),
            workstation=_optional_name(arguments, "workstation"),
            statuses=statuses,
        )
        jobs = read.value
        lines = [f"{len(jobs)} jobs match."]
        lines += [_job_line(job, self._ctx, read.as_of) for job in jobs[:_ROWS]]
        if len(jobs) > _ROWS:
            lines.append(f"(first {_ROWS} of {len(jobs)} shown)")
        return ToolResult(text="\n".join(lines), small_print=_small(self._ctx, read.as_of))

    async def _one_job(self, arguments: Mapping[str, Any]) -> PlanJob:
        resolution = await resolve(self._ctx.scheduler, _name(arguments), index=self._ctx.names)
        if len(resolution.jobs) != 1:
            found = len(resolution.jobs) or "no"
            raise ValueError(f"{found} jobs match {_name(arguments)}; name one job")
        return resolution.jobs[0]

    async def _history(self, arguments: Mapping[str, Any]) -> ToolResult:
        job = await self._one_job(arguments)
        read = await self._ctx.scheduler.job_history(job.id, days=30)
        zone = self._ctx.zone
        lines = [f"Runs of {job.qualified_name} (newest first):"]
        for run in read.value[:_ROWS]:
            ended = format_clock(run.ended_at, zone=zone)
            started = format_clock(run.started_at, zone=zone)
            lines.append(f"{run.status.value} rc={run.return_code} {started} → {ended}")
        return ToolResult(text="\n".join(lines), small_print=_small(self._ctx, read.as_of))

    async def _log(self, arguments: Mapping[str, Any]) -> ToolResult:
        job = await self._one_job(arguments)
        if job.run_id is None:
            return ToolResult(text=f"{job.qualified_name} has not run yet: no log.")
        wanted = arguments.get("lines")
        count = max(1, min(60, wanted if isinstance(wanted, int) else 30))
        read = await self._ctx.scheduler.job_log_tail(job.run_id, max_bytes=LOG_BYTES)
        # The JOBINFO trailer's frame and counters say little; its exit status is kept.
        lines = [
            line
            for line in read.value.text.splitlines()
            if line.strip() and (not line.startswith("=") or "Exit Status" in line)
        ]
        tail = lines[-count:]
        head = f"Last {len(tail)} lines of the log of {job.qualified_name}:"
        return ToolResult(text="\n".join([head, *tail]), small_print=_small(self._ctx, read.as_of))

    async def _forecast(self, arguments: Mapping[str, Any]) -> ToolResult:
        if arguments.get("name"):
            intent = Intent(kind=IntentKind.ETA, subject=_name(arguments))
            return _from_answer(await answer_eta(self._ctx, intent))
        return _from_answer(await answer_late(self._ctx, Intent(kind=IntentKind.LATE)))

    async def _workstations(self, arguments: Mapping[str, Any]) -> ToolResult:
        intent = Intent(kind=IntentKind.WORKSTATIONS, subject=_optional_name(arguments))
        return _from_answer(await answer_workstations(self._ctx, intent))

    async def _changes(self, arguments: Mapping[str, Any]) -> ToolResult:
        minutes = arguments.get("minutes", 60)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 1440:
            raise ValueError("'minutes' must be a whole number from 1 to 1440")
        intent = Intent(kind=IntentKind.CHANGES, arguments={"minutes": str(minutes)})
        return _from_answer(await answer_changes(self._ctx, intent))

    async def _knowledge(self, arguments: Mapping[str, Any]) -> ToolResult:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("'query' is required")
        return _from_answer(await answer_knowledge(query.strip()[:300], self._ctx))

    async def _incidents(self, arguments: Mapping[str, Any]) -> ToolResult:
        service = self._ctx.incidents
        if service is None:
            return ToolResult(text="Incidents are not enabled here.")
        now = datetime.now(UTC)
        wanted = arguments.get("id")
        if isinstance(wanted, str) and wanted.strip():
            incident = await service.get(wanted.strip().upper()[:40], timeline=True)
            answer = show_answer(incident, policy=service.policy, zone=self._ctx.zone, now=now)
        else:
            opened = await service.list_open()
            answer = list_answer(opened, policy=service.policy, zone=self._ctx.zone, now=now)
        return _from_answer(answer)

    async def _propose(self, arguments: Mapping[str, Any]) -> ToolResult:
        command = arguments.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ValueError("'command' is required")
        command = " ".join(command.split())[:200]
        intent = understand_action(command, focus=None)
        if intent is None or intent.kind is not IntentKind.RUNBOOK or not intent.runbook:
            raise ValueError(f"not a command a person can send: {command!r}")
        problems = command_problems(intent)
        if problems or not intent.arguments:
            raise ValueError("; ".join(problems) or "the command names nothing to act on")
        job = intent.arguments.get("job")
        if job is not None and "." not in job:
            found = await resolve(self._ctx.scheduler, job.upper(), index=self._ctx.names)
            if len(found.jobs) != 1:
                raise ValueError(f"{job} does not name exactly one job in the plan")
        text = (
            f"Checked: {command!r} can be sent by the person asking; it then needs "
            "colleagues' approval as usual. Nothing was requested or run."
        )
        return ToolResult(text=text, proposal=command)


def _small(ctx: AnswerContext, as_of: datetime) -> tuple[str, ...]:
    return as_of_line(ctx, as_of).items


def _job_line(job: PlanJob, ctx: AnswerContext, now: datetime) -> str:
    rc = f" rc={job.return_code}" if job.return_code is not None else ""
    started = format_clock(job.started_at, zone=ctx.zone, today=now)
    ended = format_clock(job.ended_at, zone=ctx.zone, today=now)
    return f"{job.qualified_name} {job.status.value}{rc} on {job.workstation} start {started} end {ended}"
