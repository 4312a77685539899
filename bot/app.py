"""The composition root: builds the process's parts from one `Settings` (house rule 8).

``runtime(settings, embedded=True)`` is the embedded default of ``resync demo``: the
bundled TWS simulator in the same process (reached over real HTTP on a loopback port,
with a fresh API key), SQLite checkpoints and audit log under ``data_dir``. With
``embedded=False`` it connects to the engine at ``RESYNC_TWS_URL``.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from agents.answers.watch_desk import ScannerDesk
from agents.assistant import Assistant
from agents.graph import Understander, deterministic_understander
from agents.handover.desk import HandoverDesk
from agents.incidents.memory import IncidentMemory
from agents.knowledge_memory import KnowledgeDesk
from agents.runbooks.catalog import Catalog, load_catalog
from agents.runbooks.errors import CatalogError
from agents.runbooks.policy import DEFAULT_POLICY_FILE, ApprovalGroups
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from bot.checkpoints import open_checkpointer
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.core.tasks import TaskSupervisor
from bot.data_dir import secure_data_dir
from bot.directory import GroupDirectoryRouter
from bot.errors import EngineNamingAsker
from bot.handover import build_handover_desk
from bot.incidents import INCIDENT_ACTION_PREFIX, Incidents, open_incidents
from bot.incidents.timeline import IncidentProgress
from bot.progress import ProgressRouter
from bot.reload import ConfigReloader
from bot.runbook_clicks import RunbookDecisions
from bot.watch.wiring import WATCH_ACTION_PREFIX, WatchAlerts, build_watch_alerts
from config.settings import ConfigurationError, Settings
from integrations.audit import AuditError, AuditLog, open_audit_log
from integrations.db import DatabaseError
from integrations.llm import LLMClient
from integrations.store import Store, StoreError, open_store
from integrations.tws.client import TWSClient

# Imported where used, so a command pays only for what it starts (`resync ask` against an
# engine starts no simulator, no PostgreSQL and no LLM): the simulator, the checkpoint
# savers, psycopg and the LLM understander.
if TYPE_CHECKING:
    from integrations.tws.simulator import SimulatorServer

__all__ = ["Runtime", "StartupError", "open_checkpointer", "runtime", "secure_data_dir"]

log = structlog.get_logger(__name__)


class StartupError(Exception):
    """A part the process needs could not start; the message says which and why."""

    def __init__(self, part: str, detail: str) -> None:
        self.part = part
        self.detail = detail
        super().__init__(f"{part}: {detail}")


@asynccontextmanager
async def _starting(part: str) -> AsyncIterator[None]:
    """Turn a failure while starting ``part`` into one `StartupError` a person can act on."""
    try:
        yield
    except _startup_failures() as exc:
        raise StartupError(part, str(exc) or type(exc).__name__) from exc


def _startup_failures() -> tuple[type[Exception], ...]:
    """What a part that cannot start raises; psycopg's errors once PostgreSQL is in use."""
    failures: tuple[type[Exception], ...] = (AuditError, StoreError, DatabaseError, OSError)
    psycopg = sys.modules.get("psycopg")  # imported (and raising) only when configured
    return (*failures, psycopg.Error) if psycopg is not None else failures


@dataclass(slots=True)
class Runtime:
    """The running parts of one Resync process.

    Attributes:
        settings: The effective configuration.
        scheduler: The TWS client.
        dispatcher: The one door into the agents (questions and clicks).
        core: The conversation core every surface hands its deliveries to.
        tasks: Background work of the process (answers, clicks, runbook runs).
        audit: The audit log.
        store: Shared state (dedupe, leases, rate limits): in-memory or Redis.
        runbooks: Approved actions on the plan (requests, decisions, execution).
        progress: Where runbook progress goes; each surface registers its platform.
        directory: Resolves group references of the approval policy (``slack-usergroup:S…``);
            each surface registers its platform's directory.
        simulator: The bundled simulator, when running the embedded default.
        incidents: Incidents (service, rooms, clicks); surfaces attach their ports.
        asker: What the dispatcher asks: names the engine in errors and keeps the last
            failure (``resync ask`` exits non-zero with it).
        watch: The watcher's findings (chat questions; the watcher's report source).
        alerts: Alerts in chat (the watcher's publisher, ``watch.*`` clicks).
        config: Reloads the runbooks, the approval policy and the watch rules (SIGHUP).
        handover: The shift handover, asked in chat and posted at the shift times.
    """

    settings: Settings
    scheduler: TWSClient
    dispatcher: Dispatcher
    core: ChatCore
    tasks: TaskSupervisor
    audit: AuditLog
    store: Store
    runbooks: RunbookService
    progress: ProgressRouter
    directory: GroupDirectoryRouter
    simulator: SimulatorServer | None
    asker: EngineNamingAsker
    incidents: Incidents
    watch: ScannerDesk
    alerts: WatchAlerts
    config: ConfigReloader
    handover: HandoverDesk


@asynccontextmanager
async def runtime(settings: Settings, *, embedded: bool) -> AsyncIterator[Runtime]:
    """Start everything a surface needs and stop it again on exit.

    Args:
        settings: The effective configuration.
        embedded: Run against the bundled simulator instead of ``RESYNC_TWS_URL``.

    Yields:
        The running parts.

    Raises:
        ConfigurationError: ``embedded`` is False and no engine is configured.
        StartupError: The simulator, a store, the audit log or the checkpoints could not start.
    """
    for path in secure_data_dir(settings.data_dir):
        log.warning("data_dir.tightened", path=str(path), hint="was readable by others")
    async with AsyncExitStack() as stack:
        simulator: SimulatorServer | None = None
        if embedded:
            from integrations.tws.simulator import SimulatorServer

            api_key = secrets.token_urlsafe(32)
            simulator = SimulatorServer(
                scenario=settings.sim_scenario,
                speed=settings.sim_speed,
                api_keys=[api_key],
            )
            async with _starting("bundled TWS simulator"):
                await simulator.start()
            stack.push_async_callback(simulator.stop)
            scheduler = TWSClient(
                base_url=simulator.url,
                api_key=api_key,
                timeout_seconds=settings.tws_timeout_seconds,
                connect_timeout_seconds=settings.tws_connect_timeout_seconds,
                retries=settings.tws_retries,
                breaker_threshold=settings.tws_breaker_threshold,
                breaker_reset_seconds=settings.tws_breaker_reset_seconds,
                page_size=settings.tws_page_size,
            )
            log.info("simulator.started", url=simulator.url, scenario=settings.sim_scenario)
        else:
            if settings.tws_url is None:
                raise ConfigurationError(
                    [
                        "tws_url (RESYNC_TWS_URL): required to talk to an engine, "
                        "e.g. https://twsmaster:31116 (or run `resync demo` for the bundled simulator)"
                    ]
                )
            scheduler = TWSClient.from_settings(settings)
        stack.push_async_callback(scheduler.close)

        async with _starting("conversation checkpoints"):
            checkpointer = await stack.enter_async_context(open_checkpointer(settings))
        async with _starting("audit log"):
            audit = await open_audit_log(settings)
        stack.push_async_callback(audit.close)
        await audit.start_checkpointer()
        async with _starting("shared store (RESYNC_REDIS_URL)"):
            store = await open_store(settings)
        stack.push_async_callback(store.close)

        tasks = TaskSupervisor()
        progress = ProgressRouter()
        directory = GroupDirectoryRouter()
        groups = _approval_groups(settings)
        async with _starting("incident database"):
            incidents = await stack.enter_async_context(
                open_incidents(
                    settings=settings,
                    store=store,
                    audit=audit,
                    scheduler=scheduler,
                    groups=groups,
                    directory=directory,
                    source=scheduler.source,
                )
            )
        runbooks = RunbookService(
            catalog=_catalog(settings),
            groups=groups,
            scheduler=scheduler,
            store=store,
            checkpointer=checkpointer,
            signer=ButtonSigner(_runbook_signing_key(settings)),
            audit=audit,
            # Progress reaches the request's thread, and the timeline of the incident whose
            # room that thread is in.
            progress=IncidentProgress(progress, incidents.service),
            lease_seconds=settings.runbook_lease_seconds,
            directory=directory,
            # An approval starts the run in the process's task supervisor, never inside the
            # click: wait steps may take minutes.
            spawn=tasks,
            zone=settings.zone,
        )
        # Recovery of requests a previous process left half-done runs in `bot.server.serving`,
        # once the surfaces can post the outcome in the request's thread.

        watch = ScannerDesk.from_settings(scheduler, settings)
        alerts = build_watch_alerts(
            settings=settings,
            store=store,
            audit=audit,
            runbooks=runbooks,
            incidents=incidents.service,
        )
        knowledge = KnowledgeDesk.from_settings(settings)  # opened on first use
        # One desk answers "give me a handover" and writes the scheduled posts.
        handover = build_handover_desk(
            settings,
            scheduler=scheduler,
            zone=settings.zone,
            watch=watch,
            incidents=incidents.service,
            requests=runbooks.journal,
            audit=audit,
        )
        incidents.service.use_memory(IncidentMemory(knowledge))
        assistant = Assistant(
            knowledge=knowledge,
            scheduler=scheduler,
            checkpointer=checkpointer,
            zone=settings.zone,
            understander=await _understander(settings),
            runbooks=runbooks,
            incidents=incidents.service,
            people=incidents.people,  # Slack <@U…> mentions name people in incident roles
            watch=watch,
            handover=handover,
        )
        asker = EngineNamingAsker(
            assistant, engine_url=simulator.url if simulator is not None else str(settings.tws_url)
        )
        dispatcher = Dispatcher(
            assistant=asker,
            audit=audit,
            clicks={
                "runbook.": RunbookDecisions(runbooks, audit=audit),
                INCIDENT_ACTION_PREFIX: incidents.clicks,
                WATCH_ACTION_PREFIX: alerts.clicks,
            },
        )
        core = ChatCore(dispatcher=dispatcher, store=store, audit=audit, tasks=tasks)
        progress.use(core)
        # Last in, first out: work in progress gets its grace before the stores close.
        stack.push_async_callback(tasks.stop)
        yield Runtime(
            settings=settings,
            scheduler=scheduler,
            dispatcher=dispatcher,
            core=core,
            tasks=tasks,
            audit=audit,
            store=store,
            runbooks=runbooks,
            progress=progress,
            directory=directory,
            simulator=simulator,
            asker=asker,
            incidents=incidents,
            watch=watch,
            alerts=alerts,
            handover=handover,
            config=ConfigReloader(
                settings=settings,
                catalog=runbooks.catalog,
                groups=groups,
                remediator=getattr(alerts.publisher, "remediator", None),
                audit=audit,
            ),
        )


def _catalog(settings: Settings) -> Catalog:
    extra = [settings.runbooks_dir] if settings.runbooks_dir else []
    try:
        return load_catalog(extra)
    except CatalogError as exc:
        raise ConfigurationError([f"runbooks: {problem}" for problem in exc.problems]) from None


def _approval_groups(settings: Settings) -> ApprovalGroups:
    try:
        return ApprovalGroups.load(settings.approval_policy_file or DEFAULT_POLICY_FILE)
    except CatalogError as exc:
        raise ConfigurationError(
            [f"approval policy: {problem}" for problem in exc.problems]
        ) from None


def _runbook_signing_key(settings: Settings) -> bytes:
    """The configured key, or one generated once under ``data_dir`` (single replica only)."""
    if settings.runbook_signing_key is not None:
        return settings.runbook_signing_key.get_secret_value().encode()
    path: Path = settings.data_dir / "runbook-signing.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32))
        log.warning(
            "runbooks.signing_key_generated",
            path=str(path),
            hint="several replicas must share RESYNC_RUNBOOK_SIGNING_KEY",
        )
    return path.read_text(encoding="ascii").strip().encode()


async def _understander(settings: Settings) -> Understander:
    """The parser alone, or the parser with the LLM for what it cannot read.

    With an LLM, litellm is imported now, at start-up and in a worker thread: imported on
    the event loop by the first question that needs it, it stalled every conversation for
    seconds.
    """
    llm = LLMClient.from_settings(settings)
    if llm is None:
        return deterministic_understander
    from agents.llm_agent import AgentLimits
    from agents.llm_understand import LLMUnderstander

    await llm.preload()
    log.info("llm.configured", model=llm.model, agent=settings.llm_agent)
    return LLMUnderstander(
        llm=llm, open_questions=settings.llm_agent, limits=AgentLimits.from_settings(settings)
    )
