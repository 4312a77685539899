"""``resync reload`` and ``resync config validate``: configuration reload without a restart.

- ``resync reload [--timeout S]``: signal the ``resync serve`` of this ``RESYNC_DATA_DIR``
  (its pid file) to re-read the runbooks, the approval policy and the watch rules, wait for
  its answer (the status file) and print it. Exit 0 when every set was reloaded; 1 when one
  was refused (its previous version stays in force; the problems are printed), when no
  server runs, or when it did not answer in time.
- ``resync config validate``: check the same files with no process running. Exit 0 when
  they are valid, 1 when one has problems (each printed as ``file:line: where: what``).

See `bot.reload` for what a reload does.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings

# `bot.reload` (the catalog, pydantic, YAML) is imported by the commands that use it:
# building the `resync` parser must stay cheap (`resync --help`).

__all__ = ["register", "register_config", "run_reload", "run_validate"]


def _err(message: str) -> None:
    print(f"resync: {message}", file=sys.stderr)


def _serve_pid(data_dir: Path) -> int | None:
    """The pid of the ``resync serve`` that wrote the pid file, if it still runs."""
    from bot.reload import PID_FILE

    try:
        pid = int((data_dir / PID_FILE).read_text(encoding="ascii").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    # A stale pid file may name a pid the system gave to another program since: SIGHUP
    # would end that program. Where /proc tells, the process must be a `resync serve`.
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.exists():
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            return None
        if b"serve" not in words:
            return None
    return pid


def _wait_for(path: Path, request: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            status = None
        if isinstance(status, dict) and status.get("request") == request:
            return status
        time.sleep(0.1)
    return None


def _describe_changes(name: str, change: dict[str, Any]) -> str:
    if "added" in change:
        parts = [
            f"{what} {', '.join(change[what])}"
            for what in ("changed", "added", "removed")
            if change.get(what)
        ]
        return "; ".join(parts) or "no runbook changed"
    if "hash" in change:
        if change["hash"] == change.get("previous_hash"):
            return f"unchanged (hash {change['hash']})"
        return f"hash {change.get('previous_hash')} -> {change['hash']}"
    return f"{change.get('rules')} rule(s) (was {change.get('previous_rules')})"


def print_outcome(status: dict[str, Any]) -> None:
    """Print what a reload did: the sets in force, the refused ones and why.

    Args:
        status: The status file's content (`bot.reload.ReloadOutcome`).
    """
    print(f"{status.get('outcome', '?')} by pid {status.get('pid')} at {status.get('at')}")
    for name in status.get("applied", []):
        change = status.get("changes", {}).get(name, {})
        print(f"  {name}: reloaded: {_describe_changes(name, change)}")
    for name, problems in status.get("refused", {}).items():
        print(f"  {name}: REFUSED, the previous version stays in force:")
        for problem in problems:
            print(f"    {problem}")
    for warning in status.get("warnings", []):
        print(f"  warning: {warning}")


def run_reload(args: argparse.Namespace, settings: Settings) -> int:
    """Signal the running ``resync serve`` to reload, wait for its outcome and print it.

    Args:
        args: ``timeout`` (seconds to wait for the answer).
        settings: The application settings (``data_dir``).

    Returns:
        The exit code.
    """
    from bot.reload import REQUEST_FILE, STATUS_FILE, write_private

    data_dir = settings.data_dir
    pid = _serve_pid(data_dir)
    if pid is None:
        _err(f"no running `resync serve` found for {data_dir} (no live pid in serve.pid)")
        return 1
    request = secrets.token_hex(8)
    try:
        by = f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (containers)
        by = f"cli:uid-{os.getuid()}"
    body = {"id": request, "by": by, "at": time.time()}
    write_private(data_dir / REQUEST_FILE, json.dumps(body))
    os.kill(pid, signal.SIGHUP)
    status = _wait_for(data_dir / STATUS_FILE, request, args.timeout)
    if status is None:
        _err(f"`resync serve` (pid {pid}) did not report a reload within {args.timeout:g} s")
        return 1
    print_outcome(status)
    return 0 if status.get("outcome") == "reloaded" else 1


def run_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the runbooks, the approval policy and the watch rules as a reload would.

    Args:
        args: Unused.
        settings: Where the files are.

    Returns:
        The exit code.
    """
    from bot.reload import POLICY, RULES, RUNBOOKS, load_files, policy_hash

    loaded = load_files(settings, rules=True)
    for name, problems in loaded.problems.items():
        print(f"{name}: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  {problem}")
    if loaded.catalog is not None:
        print(f"{RUNBOOKS}: OK, {len(loaded.catalog)} runbook(s)")
    if loaded.groups is not None:
        print(
            f"{POLICY}: OK, {len(loaded.groups.names())} group(s), hash {policy_hash(loaded.groups)}"
        )
    if loaded.rules is not None:
        print(f"{RULES}: OK, {len(loaded.rules.rules)} rule(s)")
    elif settings.watch_rules_file is None:
        print(f"{RULES}: none configured (RESYNC_WATCH_RULES_FILE)")
    for warning in loaded.warnings:
        print(f"warning: {warning}")
    return 1 if loaded.problems else 0


def register(subparsers: Any) -> None:
    """Add ``reload`` to the ``resync`` parser.

    Args:
        subparsers: The object ``ArgumentParser.add_subparsers`` returned.
    """
    reload = subparsers.add_parser(
        "reload", help="reload runbooks, approval policy and watch rules in `resync serve`"
    )
    reload.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the outcome"
    )
    reload.set_defaults(handler=run_reload)


def register_config(config_commands: Any) -> None:
    """Add ``validate`` to ``resync config``.

    Args:
        config_commands: The ``config`` parser's subparsers.
    """
    validate = config_commands.add_parser(
        "validate", help="check runbooks, approval policy and watch rules as a reload would"
    )
    validate.set_defaults(handler=run_validate)
