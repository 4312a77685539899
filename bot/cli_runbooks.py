"""``resync runbooks ...``: list and validate the runbook catalog.

Exit codes: 0 success; 1 the catalog has problems (each printed as ``file:line: where: what``);
2 bad input (a path that does not exist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings

# The catalog and policy modules (pydantic, YAML) are imported by the commands that use
# them: building the `resync` parser must stay cheap (`resync --help`).

__all__ = ["register", "run_list", "run_validate"]


def _err(message: str) -> None:
    print(f"resync runbooks: {message}", file=sys.stderr)


def _configured_dir(settings: Settings) -> Path | None:
    return settings.runbooks_dir


def _paths(args: argparse.Namespace, settings: Settings) -> list[Path] | None:
    from agents.runbooks.catalog import SHIPPED_DIR

    extra: list[Path] = list(getattr(args, "paths", None) or [])
    if not extra:
        configured = _configured_dir(settings)
        if configured is not None:
            extra = [configured]
    missing = [p for p in extra if not p.exists()]
    if missing:
        _err(f"no such file or directory: {', '.join(map(str, missing))}")
        return None
    paths = [SHIPPED_DIR]
    paths.extend(p for p in extra if p.resolve() != SHIPPED_DIR.resolve())
    return paths


def run_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the shipped runbooks, the given (or configured) paths and the approval groups.

    Args:
        args: ``paths`` (files or directories; optional) and ``policy`` (optional file).
        settings: The application settings.

    Returns:
        The exit code.
    """
    from agents.runbooks.catalog import validate_paths
    from agents.runbooks.errors import CatalogError, Problem
    from agents.runbooks.policy import DEFAULT_POLICY_FILE, ApprovalGroups

    paths = _paths(args, settings)
    if paths is None:
        return 2
    runbooks, problems = validate_paths(paths)
    policy: Path = (
        getattr(args, "policy", None) or settings.approval_policy_file or DEFAULT_POLICY_FILE
    )
    try:
        groups = ApprovalGroups.load(policy)
    except CatalogError as exc:
        problems.extend(exc.problems)
        groups = None
    if groups is not None:
        for runbook in runbooks:
            spec = runbook.approval
            for group in spec.groups if spec else ():
                if group not in groups.names():
                    problems.append(
                        Problem(
                            runbook.source,
                            0,
                            f"{runbook.id}.approval.groups",
                            f"group {group!r} is not defined in {policy}",
                        )
                    )
    for problem in problems:
        print(problem)
    if problems:
        _err(f"{len(problems)} problem(s) in the runbook catalog")
        return 1
    print(f"OK: {len(runbooks)} runbooks valid ({', '.join(str(p) for p in paths)})")
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the catalog: id, version, risk, approval, title.

    Args:
        args: ``paths`` (optional extra directories).
        settings: The application settings.

    Returns:
        The exit code.
    """
    from agents.runbooks.catalog import validate_paths

    paths = _paths(args, settings)
    if paths is None:
        return 2
    runbooks, problems = validate_paths(paths)
    for runbook in runbooks:
        spec = runbook.approval
        approval = (
            f"{spec.min_approvers} of {', '.join([*spec.groups, *spec.users])}"
            if spec
            else "no approval (read only)"
        )
        params = " ".join(f"{p.name}=<{p.type.value}>" for p in runbook.parameters)
        print(f"{runbook.id:<24} v{runbook.version:<3} {runbook.risk.value:<6} {runbook.title}")
        print(f"{'':<24} /tws run {runbook.id} {params}".rstrip())
        print(f"{'':<24} approval: {approval}; reversible: {'yes' if runbook.reversible else 'no'}")
    if problems:
        _err(f"{len(problems)} problem(s) left runbooks out; run `resync runbooks validate`")
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add ``runbooks list`` and ``runbooks validate`` to the ``resync`` parser.

    Args:
        subparsers: The object ``ArgumentParser.add_subparsers`` returned.
    """
    runbooks = subparsers.add_parser("runbooks", help="list and validate the runbook catalog")
    commands = runbooks.add_subparsers(dest="runbooks_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="show the runbooks")
    listing.add_argument("paths", nargs="*", type=Path, help="extra runbook files or directories")
    listing.set_defaults(handler=run_list)
    validate = commands.add_parser(
        "validate", help="check runbook YAML: file, line and what is wrong"
    )
    validate.add_argument("paths", nargs="*", type=Path, help="runbook files or directories")
    validate.add_argument("--policy", type=Path, help="approval groups file to check against")
    validate.set_defaults(handler=run_validate)
