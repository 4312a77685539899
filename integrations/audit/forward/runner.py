"""Building forwarders from the settings, and running them inside ``resync serve``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from config.settings import Settings
from config.siem_settings import SiemSettings, split_address
from integrations.audit.datakeys import DataKeys
from integrations.audit.errors import AuditError, AuditKeyError
from integrations.audit.forward.cursor import CursorFile
from integrations.audit.forward.forwarder import Forwarder, Progress
from integrations.audit.forward.leader import LEASE_SECONDS, ForwardingLease, forward_while_leader
from integrations.audit.forward.sinks import DeliveryError, HecSink, Sink, SyslogSink
from integrations.audit.forward.source import AuditSource
from integrations.audit.keys import load_kek
from integrations.audit.log import AuditLog
from integrations.audit.opening import make_store
from integrations.store.base import Store

__all__ = [
    "build_forwarders",
    "build_sinks",
    "forward",
    "open_source",
    "run_forwarder",
    "siem_settings",
]

log = structlog.get_logger(__name__)


def siem_settings(settings: Settings) -> SiemSettings:
    """The SIEM part of the settings (nothing configured when `Settings` lacks it)."""
    if isinstance(settings, SiemSettings):
        return settings
    return SiemSettings()


def build_sinks(siem: SiemSettings) -> list[Sink]:
    """One sink per configured destination.

    Args:
        siem: The SIEM settings.

    Returns:
        The sinks (empty when nothing is configured).
    """
    sinks: list[Sink] = []
    if siem.siem_hec_url and siem.siem_hec_token is not None:
        sinks.append(
            HecSink(
                url=siem.siem_hec_url,
                token=siem.siem_hec_token.get_secret_value(),
                sourcetype=siem.siem_hec_sourcetype,
                index=siem.siem_hec_index,
                ca_file=siem.siem_hec_ca_file,
            )
        )
    if siem.siem_syslog_address:
        host, port = split_address(siem.siem_syslog_address)
        sinks.append(
            SyslogSink(
                host=host, port=port, tls=siem.siem_syslog_tls, ca_file=siem.siem_syslog_ca_file
            )
        )
    return sinks


async def open_source(settings: Settings) -> AuditSource:
    """Open the log for forwarding on a store connection of its own.

    Reads never queue behind, or hold up, the bot's audit writes.

    Args:
        settings: Resync's settings (store, keys).

    Returns:
        The source; close it with ``await source.store.close()``.

    Raises:
        AuditKeyError: The key-encryption key is missing or not this log's.
        AuditStorageError: The store cannot be opened.
    """
    store = make_store(settings)
    try:
        await store.open()
        meta = await store.meta()
        if "log_id" not in meta:
            raise AuditKeyError("the audit log is not initialized yet (open it once first)")
        keys = DataKeys(
            log_id=bytes.fromhex(meta["log_id"]), kek=load_kek(settings, log_exists=True)
        )
    except BaseException:
        await store.close()
        raise
    return AuditSource(store=store, keys=keys)


def build_forwarders(
    settings: Settings, source: AuditSource, sinks: list[Sink], *, progress: Progress | None = None
) -> list[Forwarder]:
    """One forwarder per sink, each with its own cursor in the data directory.

    Args:
        settings: Resync's settings (data_dir and the SIEM part).
        source: The opened source.
        sinks: From `build_sinks`.
        progress: Called after each delivered batch.

    Returns:
        The forwarders.
    """
    siem = siem_settings(settings)
    return [
        Forwarder(
            source=source,
            sink=sink,
            cursor_file=CursorFile(settings.data_dir, sink.name),
            batch_size=siem.siem_batch_size,
            poll_seconds=siem.siem_poll_seconds,
            retry_max_seconds=siem.siem_retry_max_seconds,
            progress=progress,
        )
        for sink in sinks
    ]


async def run_forwarder(
    settings: Settings,
    audit_log: AuditLog,
    *,
    stop: asyncio.Event,
    started: Callable[[list[Forwarder]], None] | None = None,
    store: Store | None = None,
    lease_seconds: float = LEASE_SECONDS,
    owner: str | None = None,
) -> None:
    """Forward the audit log to the configured SIEM destinations until ``stop`` is set.

    Meant to run as a background task of ``resync serve`` when
    ``siem_forward_in_serve`` is set; returns at once when nothing is configured. It never
    raises for a destination or store problem (they are logged and retried), so it can
    neither stop nor slow the bot: a slow or down SIEM only grows `Forwarder.backlog`.

    With a ``store`` (the replicas' shared one), only the replica holding the forwarding
    lease forwards; another takes over within two lease periods when it dies (`leader`).

    Args:
        settings: Resync's settings.
        audit_log: The bot's open log (its id is checked against the store read).
        stop: Set at shutdown; the batch in flight finishes (its cursor is saved).
        started: Called once with the forwarders (e.g. to export their backlog on /metrics).
        store: The store shared by the replicas; None forwards without a lease (one process).
        lease_seconds: The forwarding lease's time to live (renewed every third of it).
        owner: This replica's name in the lease (default host, pid and a random suffix).
    """
    sinks = build_sinks(siem_settings(settings))
    if not sinks:
        log.info("audit.forward.disabled", reason="no SIEM destination configured")
        return
    try:
        source = await open_source(settings)
    except AuditError as exc:
        # The bot runs on without forwarding rather than fail to start over it.
        log.error("audit.forward.not_started", problem=str(exc))
        for sink in sinks:
            await sink.close()
        return
    try:
        if source.log_id != audit_log.log_id.hex():
            log.error("audit.forward.other_log", reason="the store read is not the bot's log")
            return
        forwarders = build_forwarders(settings, source, sinks)
        if started is not None:
            started(forwarders)
        log.info("audit.forward.started", sinks=[s.description for s in sinks])
        if store is None:
            await asyncio.gather(*(forwarder.run_forever(stop) for forwarder in forwarders))
        else:
            lease = ForwardingLease(store, owner=owner, lease_seconds=lease_seconds)
            await forward_while_leader(forwarders, lease, stop)
    finally:
        for sink in sinks:
            await sink.close()
        await source.store.close()


async def forward(
    settings: Settings, *, once: bool, stop: asyncio.Event, report: Callable[[str], None]
) -> bool:
    """Forward from the command line (``resync audit forward [--once]``).

    Args:
        settings: Resync's settings.
        once: Deliver what is written now and return; otherwise run until ``stop``.
        stop: Set (by a signal) to stop after the batch in flight.
        report: Where progress lines go (records sent, backlog).

    Returns:
        True when every destination took every record it was given (``once``), or the
        run was stopped (continuous).

    Raises:
        ValueError: The SIEM settings are incomplete, or none is configured.
        AuditError: The log cannot be opened for reading.
    """
    siem = siem_settings(settings)
    if problems := siem.siem_problems():
        raise ValueError("; ".join(problems))
    sinks = build_sinks(siem)
    if not sinks:
        raise ValueError(
            "no SIEM destination: set RESYNC_SIEM_HEC_URL and RESYNC_SIEM_HEC_TOKEN, "
            "or RESYNC_SIEM_SYSLOG_ADDRESS"
        )
    source = await open_source(settings)

    def progress(name: str, count: int, backlog: int) -> None:
        report(f"{name}: sent {count} records, backlog {backlog}")

    ok = True
    try:
        forwarders = build_forwarders(settings, source, sinks, progress=progress)
        if not once:
            await asyncio.gather(*(forwarder.run_forever(stop) for forwarder in forwarders))
        for forwarder in forwarders:
            if once:
                try:
                    await forwarder.run_once()
                except DeliveryError as exc:
                    ok = False
                    report(f"{forwarder.name}: FAILED: {exc}")
            report(
                f"{forwarder.sink.description}: {forwarder.sent} records sent, "
                f"backlog {forwarder.backlog}"
            )
    finally:
        for sink in sinks:
            await sink.close()
        await source.store.close()
    return ok
