"""The background work of `resync serve`: recovery, incident upkeep, watching, SIEM forwarding.

Started once the surfaces are up (so that what the work posts reaches its threads) and
stopped before they stop. Each piece runs in its own task and never takes the others down:
a failing round is logged and the next one tried.

- ``runbooks-recover``: `recover_periodically` (expiry of pending requests, takeover of
  runs whose replica died), every `RECOVER_INTERVAL_SECONDS`.
- ``incidents-upkeep``: half-open rooms converge, reminders go out once per interval.
- ``watch``: the watcher, when ``settings.watching`` (one replica leads, `agents.watch`).
- ``handover``: the shift handover posted at each shift change, when
  ``settings.handover_posting`` (every replica runs it; the store picks one per change).
- ``inbox-sweep``: every `INBOX_SWEEP_SECONDS`, messages whose replica died after
  acknowledging them are answered by this one (`bot.core.inbox.redeliver`; the admission
  claim picks one replica).
- ``siem-forward``: the audit log to Splunk HEC / syslog, when ``siem_forward_in_serve``;
  one replica forwards (a lease in ``runtime.store``), its backlog is exported on
  ``/metrics`` (0 on the others).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

import structlog

from agents.runbooks.service import RunbookService
from agents.watch.watcher import Watcher
from bot.app import Runtime
from bot.core.conversation import ChatCore
from bot.core.inbox import redeliver
from bot.core.port import ChatPort
from bot.handover import start_handover
from bot.incidents import run_upkeep
from integrations import metrics
from integrations.audit.forward import run_forwarder
from integrations.audit.forward.forwarder import Forwarder

__all__ = [
    "INBOX_SWEEP_SECONDS",
    "RECOVER_INTERVAL_SECONDS",
    "Background",
    "recover_periodically",
    "start_background",
    "sweep_inbox_periodically",
]

log = structlog.get_logger(__name__)

RECOVER_INTERVAL_SECONDS: Final = 60.0
# A few seconds: a dead replica's claims lapse after 10 s, so an orphaned question is
# answered within about 10-15 s of the kill.
INBOX_SWEEP_SECONDS: Final = 3.0


async def recover_periodically(
    runbooks: RunbookService, *, interval_seconds: float = RECOVER_INTERVAL_SECONDS
) -> None:
    """Call ``runbooks.recover()`` now and then every ``interval_seconds``, until cancelled.

    Expiry of pending requests and takeover of stalled runs depend on it. A failing round is
    logged and the next one tried.

    Args:
        runbooks: The runbook service.
        interval_seconds: Pause between rounds.
    """
    while True:
        try:
            driven = await runbooks.recover()
            if driven:
                log.info("runbooks.recovered", requests=driven)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("runbooks.recover_failed")
        await asyncio.sleep(interval_seconds)


async def sweep_inbox_periodically(
    core: ChatCore, ports: list[ChatPort], *, interval_seconds: float = INBOX_SWEEP_SECONDS
) -> None:
    """Re-run orphaned inbox messages (`bot.core.inbox.redeliver`) every few seconds.

    Args:
        core: The chat core.
        ports: The surfaces' ports.
        interval_seconds: Pause between rounds.
    """
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await redeliver(core, ports)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat.inbox_sweep_failed")


@dataclass(slots=True)
class Background:
    """The running background tasks of one process, and how to stop them."""

    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    siem_stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop(self) -> None:
        """Let the SIEM batch in flight finish (its cursor is saved), cancel everything else."""
        self.siem_stop.set()
        for task in self.tasks:
            if task.get_name() != "siem-forward":
                task.cancel()
        for task in self.tasks:
            try:
                await asyncio.wait_for(task, timeout=5.0)  # cancels it when time is up
            except asyncio.CancelledError:
                pass
            except TimeoutError:
                log.warning("serve.background_stop_timeout", task=task.get_name())
            except Exception:  # it ended badly before the stop: say so, stop the others
                log.exception("serve.background_failed", task=task.get_name())


def _export_backlogs(forwarders: list[Forwarder]) -> None:
    backlogs: dict[str, Callable[[], int]] = {}
    for forwarder in forwarders:
        backlogs[forwarder.name] = functools.partial(getattr, forwarder, "backlog")
    metrics.watch_backlogs(backlogs)


def start_background(
    runtime: Runtime,
    ports: Iterable[ChatPort],
    *,
    recover_interval_seconds: float = RECOVER_INTERVAL_SECONDS,
) -> Background:
    """Start the process's background work (see the module docstring).

    Args:
        runtime: The running parts.
        ports: The started surfaces' ports (alerts are posted on their platforms).
        recover_interval_seconds: Pause between two runbook recovery rounds.

    Returns:
        The tasks, to stop with `Background.stop`.
    """
    settings = runtime.settings
    background = Background()
    ports = list(ports)  # read twice: alerts and handover attach to the same surfaces
    background.tasks += [
        asyncio.create_task(
            recover_periodically(runtime.runbooks, interval_seconds=recover_interval_seconds),
            name="runbooks-recover",
        ),
        asyncio.create_task(run_upkeep(runtime.incidents.service), name="incidents-upkeep"),
        asyncio.create_task(sweep_inbox_periodically(runtime.core, ports), name="inbox-sweep"),
    ]
    if settings.watching:  # one replica leads; the others wait for its lease to lapse
        for port in ports:
            runtime.alerts.attach(port)
        watcher = Watcher.from_settings(
            settings, source=runtime.watch, publisher=runtime.alerts.publisher, store=runtime.store
        )
        background.tasks.append(watcher.start())
    if settings.handover_posting:  # shift times and a channel are set
        handover = start_handover(
            settings,
            desk=runtime.handover,
            core=runtime.core,
            store=runtime.store,
            audit=runtime.audit,
            ports=ports,
            watched=True,
        )
        if handover is not None:
            background.tasks.append(handover)
    if settings.siem_forward_in_serve:
        # One replica forwards (a lease in the shared store): all read the same log.
        forwarding = run_forwarder(
            settings,
            runtime.audit,
            stop=background.siem_stop,
            started=_export_backlogs,
            store=runtime.store,
        )
        background.tasks.append(asyncio.create_task(forwarding, name="siem-forward"))
    return background
