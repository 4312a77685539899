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


_EARLIER_KEPT = 256
"""Definitions replaced by reloads that `Catalog.bound` still finds (oldest dropped first)."""


class Catalog:
    """The runbooks by id; `replace` swaps them in one step on a configuration reload.

    Every part of the runbook service holds the same `Catalog` and looks a runbook up per
    use, so a reload reaches them all at once. A request keeps the definition it was
    approved for: its binding names the version and digest (`agents.runbooks.approvals`),
    and `bound` finds that definition even after a reload replaced it.
    """

    def __init__(self, runbooks: Iterable[Runbook]) -> None:
        """Index runbooks by id (ids are unique: `load_catalog` checks it)."""
        self._by_id = {runbook.id: runbook for runbook in runbooks}
        self._earlier: dict[tuple[str, str], Runbook] = {}

    def get(self, runbook_id: str) -> Runbook | None:
        """The runbook with this id, or None."""
        return self._by_id.get(runbook_id.strip().lower())

    def bound(self, runbook_id: str, digest: str) -> Runbook | None:
        """The definition of ``runbook_id`` whose digest is ``digest``, current or replaced.

        Args:
            runbook_id: The runbook's id.
            digest: `Runbook.digest` as a request recorded it.

        Returns:
            The current definition when it still has that digest, else the one a reload
            replaced (the last `_EARLIER_KEPT` are kept), else None.
        """
        key = runbook_id.strip().lower()
        current = self._by_id.get(key)
        if current is not None and current.digest == digest:
            return current
        return self._earlier.get((key, digest))

    def replace(self, other: Catalog) -> None:
        """Take ``other``'s runbooks in one step (a configuration reload).

        No await happens in here, so no reader on the event loop sees half of each.

        Args:
            other: The newly loaded, validated catalog.
        """
        for runbook in self._by_id.values():
            if other._by_id.get(runbook.id) != runbook:
                self._earlier[(runbook.id, runbook.digest)] = runbook
        while len(self._earlier) > _EARLIER_KEPT:
            del self._earlier[next(iter(self._earlier))]
        self._by_id = dict(other._by_id)

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
