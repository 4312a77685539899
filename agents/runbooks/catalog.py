"""The runbook catalog: every validated runbook by id, loaded from the shipped and your files.

Shipped defaults live in ``config/runbooks/``; a deployment adds its own directory
(``RESYNC_RUNBOOKS_DIR``). The definition models are in `agents.runbooks.spec` and the file
validation in `agents.runbooks.validation`; both are re-exported here, where the rest of
Resync has always imported them from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from agents.runbooks.errors import CatalogError
from agents.runbooks.spec import (
    ActionKind,
    ActionStep,
    ApprovalSpec,
    CheckStep,
    DiagnoseStep,
    MessageStep,
    ParamSpec,
    ParamType,
    Risk,
    Runbook,
    Step,
    UndoSpec,
    WaitStep,
)
from agents.runbooks.validation import validate_paths

__all__ = [
    "SHIPPED_DIR",
    "ActionKind",
    "ActionStep",
    "ApprovalSpec",
    "Catalog",
    "CheckStep",
    "DiagnoseStep",
    "MessageStep",
    "ParamSpec",
    "ParamType",
    "Risk",
    "Runbook",
    "Step",
    "UndoSpec",
    "WaitStep",
    "load_catalog",
    "validate_paths",
]

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "config" / "runbooks"


class Catalog:
    """The runbooks by id."""

    def __init__(self, runbooks: Iterable[Runbook]) -> None:
        """Index runbooks by id (ids are unique: `load_catalog` checks it)."""
        self._by_id = {runbook.id: runbook for runbook in runbooks}

    def get(self, runbook_id: str) -> Runbook | None:
        """The runbook with this id, or None."""
        return self._by_id.get(runbook_id.strip().lower())

    def all(self) -> list[Runbook]:
        """Every runbook, by id."""
        return [self._by_id[key] for key in sorted(self._by_id)]

    def __len__(self) -> int:
        return len(self._by_id)


def load_catalog(extra_dirs: Sequence[Path] = (), *, shipped: bool = True) -> Catalog:
    """Load and validate the catalog (shipped defaults plus the given directories).

    Args:
        extra_dirs: Directories (or files) the deployment adds.
        shipped: Include the runbooks shipped in ``config/runbooks``.

    Returns:
        The catalog.

    Raises:
        CatalogError: Any file is broken; every problem names its file and line.
    """
    paths = [SHIPPED_DIR] if shipped else []
    paths.extend(extra_dirs)
    runbooks, problems = validate_paths(paths)
    if problems:
        raise CatalogError(problems)
    return Catalog(runbooks)
