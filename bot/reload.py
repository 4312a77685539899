"""Configuration reload without a restart: the runbook catalog, the approval policy, the rules.

``resync serve`` re-reads the three file sets on SIGHUP (`ConfigReloader.listen`; ``resync
reload`` sends it and prints the outcome, ``resync config validate`` checks the files with no
process running). Each set is validated as a whole, against what will be in force with it:

- **runbooks**: the shipped catalog plus ``RESYNC_RUNBOOKS_DIR``;
- **approval policy**: ``RESYNC_APPROVAL_POLICY_FILE`` (or the shipped one);
- **watch rules**: ``RESYNC_WATCH_RULES_FILE``, checked against the catalog in force (only
  when the process started with rules: a reload does not turn remediation on or off).

A bad set keeps its previous version in force; a good one takes effect at once. The services
hold one `Catalog` and one `ApprovalGroups` and look things up per use, so `replace` reaches
them all in one step. A request in flight keeps the definition it was approved for: its
binding names the runbook's version and digest, so an approval given to the old version does
not run the new one (the request goes back to approval, `agents.runbooks.nodes`).

Every reload is logged (``config.reloaded`` with what changed, ``config.reload_failed`` with
every problem, ``file:line`` where known), audited (``config.reload``) and written to
``RESYNC_DATA_DIR/reload-status.json``, which ``resync reload`` reads back. The pid file
``RESYNC_DATA_DIR/serve.pid`` says which process to signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import structlog

from agents.runbooks.catalog import Catalog, load_catalog
from agents.runbooks.errors import CatalogError
from agents.runbooks.policy import DEFAULT_POLICY_FILE, ApprovalGroups
from agents.watch.remediation import Remediator
from agents.watch.rules import RuleBook, RulesError, load_rules
from config.settings import Settings
from integrations.audit.sink import AuditSink

__all__ = [
    "PID_FILE",
    "POLICY",
    "REQUEST_FILE",
    "RULES",
    "RUNBOOKS",
    "STATUS_FILE",
    "ConfigReloader",
    "Loaded",
    "ReloadOutcome",
    "load_files",
    "policy_hash",
    "write_private",
]

log = structlog.get_logger(__name__)

PID_FILE: Final = "serve.pid"
STATUS_FILE: Final = "reload-status.json"
REQUEST_FILE: Final = "reload-request.json"
RUNBOOKS, POLICY, RULES = "runbooks", "approval policy", "watch rules"
_REQUEST_FRESH_SECONDS: Final = 120.0
"""A request file older than this was left by a ``resync reload`` that gave up."""


def write_private(path: Path, text: str) -> None:
    """Write ``path`` (0600) through a temporary file and a rename: readers see all or nothing.

    Args:
        path: The file.
        text: Its content.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def policy_hash(groups: ApprovalGroups) -> str:
    """A short hash of what the policy says (comments and layout do not change it)."""
    body = {
        "groups": {
            name: [sorted(groups.members(name)), list(groups.references(name))]
            for name in groups.names()
        },
        "rules_may_grant": sorted(groups.rules_may_grant),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(slots=True)
class Loaded:
    """The three file sets as read now: each one loaded, or the problems that refuse it.

    Attributes:
        catalog: The runbooks (None: refused, see ``problems[RUNBOOKS]``).
        groups: The approval policy (None: refused).
        rules: The watch rules (None: refused, or not asked for).
        problems: Set name -> every problem (``file:line: where: what``).
        warnings: What is allowed but probably wrong (a group no policy defines).
    """

    catalog: Catalog | None = None
    groups: ApprovalGroups | None = None
    rules: RuleBook | None = None
    problems: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load_files(
    settings: Settings,
    *,
    rules: bool,
    catalog_in_force: Catalog | None = None,
    groups_in_force: ApprovalGroups | None = None,
) -> Loaded:
    """Read and validate the three file sets (blocking: call it in a worker thread).

    Args:
        settings: Where the files are.
        rules: Read the watch rules file (when one is configured).
        catalog_in_force: What the rules are checked against when the new catalog is
            refused (None: the rules' runbook names are not checked then).
        groups_in_force: What the runbooks' approval groups are checked against when the
            new policy is refused.

    Returns:
        What loaded and what was refused.
    """
    loaded = Loaded()
    extra = [settings.runbooks_dir] if settings.runbooks_dir else []
    try:
        loaded.catalog = load_catalog(extra)
    except CatalogError as exc:
        loaded.problems[RUNBOOKS] = [str(p) for p in exc.problems]
    policy_file = settings.approval_policy_file or DEFAULT_POLICY_FILE
    try:
        loaded.groups = ApprovalGroups.load(policy_file)
    except CatalogError as exc:
        loaded.problems[POLICY] = [str(p) for p in exc.problems]
    catalog = loaded.catalog or catalog_in_force
    groups = loaded.groups or groups_in_force
    if catalog is not None and groups is not None:
        for runbook in catalog.all():
            for group in runbook.approval.groups if runbook.approval else ():
                if group not in groups.names():
                    loaded.warnings.append(
                        f"{runbook.source}: {runbook.id}: approval group {group!r} is not "
                        f"defined in {policy_file}: nobody in it can approve"
                    )
    if rules and settings.watch_rules_file is not None:
        ids: Collection[str] | None = {r.id for r in catalog.all()} if catalog is not None else None
        try:
            loaded.rules = load_rules(settings.watch_rules_file, runbooks=ids)
        except RulesError as exc:
            loaded.problems[RULES] = [str(p) for p in exc.problems]
    return loaded


@dataclass(slots=True)
class ReloadOutcome:
    """What one reload did (written to the status file, printed by ``resync reload``).

    Attributes:
        outcome: ``reloaded`` (every set good), ``partial`` or ``refused`` (none good).
        at: When (UTC, ISO 8601).
        by: Who asked (``cli:<user>`` from ``resync reload``, else ``signal``).
        request: The id ``resync reload`` waits for ("" for a bare SIGHUP).
        pid: The process that reloaded.
        applied: The sets now in force from the files.
        refused: Set -> its problems; its previous version stays in force.
        changes: What changed, per applied set.
        warnings: Allowed but probably wrong.
    """

    outcome: str
    at: str
    by: str
    request: str
    pid: int
    applied: list[str]
    refused: dict[str, list[str]]
    changes: dict[str, Any]
    warnings: list[str]

    def to_json(self) -> str:
        """The status file's content."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _catalog_changes(old: Catalog, new: Catalog) -> dict[str, list[str]]:
    before = {r.id: r for r in old.all()}
    after = {r.id: r for r in new.all()}
    return {
        "added": [f"{i} v{after[i].version}" for i in sorted(after.keys() - before.keys())],
        "removed": [f"{i} v{before[i].version}" for i in sorted(before.keys() - after.keys())],
        "changed": [
            f"{i} v{before[i].version} -> v{after[i].version}"
            for i in sorted(before.keys() & after.keys())
            if before[i].digest != after[i].digest
        ],
    }


class ConfigReloader:
    """Re-reads the configuration files of a running process and puts good ones in force."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        groups: ApprovalGroups,
        remediator: Remediator | None,
        audit: AuditSink | None,
    ) -> None:
        """Hold the live parts a reload replaces.

        Args:
            settings: Where the files are, and ``data_dir`` (pid and status files).
            catalog: The catalog the runbook service reads.
            groups: The approval policy the runbook and incident services read.
            remediator: Applies the watch rules (None: the process has no rules).
            audit: The audit log (``config.reload``).
        """
        self._settings = settings
        self._catalog = catalog
        self._groups = groups
        self._remediator = remediator
        self._audit = audit
        self._task: asyncio.Task[None] | None = None
        self._again = False

    @property
    def _rules(self) -> RuleBook | None:
        # `Remediator` has no public accessor for its rules yet (agents/watch is not this
        # module's to change); the rule book is immutable, so the swap is one assignment.
        return self._remediator._rules if self._remediator is not None else None

    async def reload(self, *, by: str = "signal", request: str = "") -> ReloadOutcome:
        """Re-read the three file sets; put each good one in force, keep each bad one's old.

        Args:
            by: Who asked (audited).
            request: The id of the ``resync reload`` that asked.

        Returns:
            What happened (also logged, audited and written to the status file).
        """
        loaded = await asyncio.to_thread(
            load_files,
            self._settings,
            rules=self._remediator is not None,
            catalog_in_force=self._catalog,
            groups_in_force=self._groups,
        )
        # From here to the end of the swaps nothing awaits: every reader sees the old set
        # or the new one, never a mix within one set.
        changes: dict[str, Any] = {}
        applied: list[str] = []
        if loaded.catalog is not None:
            changes[RUNBOOKS] = _catalog_changes(self._catalog, loaded.catalog)
            self._catalog.replace(loaded.catalog)
            applied.append(RUNBOOKS)
        if loaded.groups is not None:
            before, after = policy_hash(self._groups), policy_hash(loaded.groups)
            changes[POLICY] = {"hash": after, "previous_hash": before}
            self._groups.replace(loaded.groups)
            applied.append(POLICY)
        current_rules = self._rules
        if loaded.rules is not None and self._remediator is not None:
            previous = len(current_rules.rules) if current_rules is not None else 0
            changes[RULES] = {"rules": len(loaded.rules.rules), "previous_rules": previous}
            self._remediator._rules = loaded.rules
            applied.append(RULES)
        outcome = "partial" if applied else "refused"
        if not loaded.problems:
            outcome = "reloaded"
        result = ReloadOutcome(
            outcome=outcome,
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            by=by,
            request=request,
            pid=os.getpid(),
            applied=applied,
            refused=loaded.problems,
            changes=changes,
            warnings=loaded.warnings,
        )
        await self._report(result)
        return result

    async def _report(self, result: ReloadOutcome) -> None:
        if result.refused:
            log.error(
                "config.reload_failed",
                refused=sorted(result.refused),
                problems=[f"{name}: {p}" for name, ps in result.refused.items() for p in ps],
                hint="the previous version of each refused set stays in force",
                by=result.by,
            )
        if result.applied:
            log.info(
                "config.reloaded", applied=result.applied, changes=result.changes, by=result.by
            )
        for warning in result.warnings:
            log.warning("config.reload_warning", detail=warning)
        try:
            write_private(self._settings.data_dir / STATUS_FILE, result.to_json())
        except OSError as exc:
            log.error("config.reload_status_unwritten", error=str(exc))
        if self._audit is None:
            return
        try:
            await self._audit.record(
                action="config.reload",
                outcome=result.outcome,
                actor_id=None,
                actor_identity=result.by,
                target="configuration",
                parameters={
                    "applied": result.applied,
                    "refused": result.refused,
                    "changes": result.changes,
                },
                correlation={"reload_request": result.request} if result.request else None,
            )
        except Exception:  # the reload happened; the alarm says the log failed
            log.exception("audit.write_failed", action="config.reload")

    def _take_request(self) -> tuple[str, str]:
        """The pending ``resync reload`` request (by, id), consumed; a bare signal otherwise."""
        path = self._settings.data_dir / REQUEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            path.unlink()
        except (OSError, ValueError):
            return "signal", ""
        at = data.get("at") if isinstance(data, dict) else None
        if not isinstance(at, int | float) or abs(datetime.now(UTC).timestamp() - at) > (
            _REQUEST_FRESH_SECONDS
        ):
            return "signal", ""
        return str(data.get("by") or "signal")[:120], str(data.get("id") or "")[:64]

    def _signalled(self) -> None:
        # Signals that arrive during a reload are folded into one more reload after it.
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._reload_signalled())

    async def _reload_signalled(self) -> None:
        while True:
            self._again = False
            by, request = self._take_request()
            try:
                await self.reload(by=by, request=request)
            except Exception:  # a reload never takes the server down
                log.exception("config.reload_crashed", by=by)
            if not self._again:
                return

    def listen(self) -> None:
        """Reload on SIGHUP and write the pid file (call inside the running loop)."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._signalled)
        write_private(self._settings.data_dir / PID_FILE, f"{os.getpid()}\n")
        log.info("config.reload_ready", signal="SIGHUP", pid=os.getpid())

    async def close(self) -> None:
        """Stop listening: remove the pid file (when it is still ours) and the handler."""
        path = self._settings.data_dir / PID_FILE
        with contextlib.suppress(OSError):
            if path.read_text(encoding="ascii").strip() == str(os.getpid()):
                path.unlink()
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
