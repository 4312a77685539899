"""The runbook exception tree (drawn in `agents.runbooks`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AuditWriteError",
    "CatalogError",
    "FencedOutError",
    "GroupLookupError",
    "ParameterError",
    "Problem",
    "RunbookError",
    "UnsupportedActionError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a runbook file.

    Attributes:
        file: The file.
        line: 1-based line in the file (0 when unknown).
        where: The place in the document, e.g. ``steps[1].action``.
        message: What is wrong.
    """

    file: str
    line: int
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"
        )


class RunbookError(Exception):
    """Base of every runbook error."""


class CatalogError(RunbookError):
    """The catalog has broken files; ``problems`` lists each with its file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"the runbook catalog has {len(problems)} problem(s):\n{lines}")


class ParameterError(RunbookError):
    """Parameters of a request are missing, unknown or do not match the live plan."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class UnsupportedActionError(RunbookError):
    """The engine connection cannot perform this action yet (a gap in `Scheduler`)."""


class AuditWriteError(RunbookError):
    """The audit log could not record a plan change before it was made: it is not made.

    Attributes:
        reason: What the audit store reported (its exception, one line).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the audit log could not record it ({reason})")


class FencedOutError(RunbookError):
    """Another executor holds a newer fencing token for this request: stop at once."""


class GroupLookupError(RunbookError):
    """A group reference of the approval policy could not be resolved (platform error, scope).

    Attributes:
        reference: The reference, e.g. ``slack-usergroup:S0123ABCD``.
        reason: What went wrong (e.g. the platform's error code).
    """

    def __init__(self, reference: str, reason: str) -> None:
        self.reference = reference
        self.reason = reason
        super().__init__(f"cannot resolve {reference}: {reason}")
