"""Wiring alerts into a process: the publisher the watcher hands reports to, and the clicks.

``bot.app`` builds it once (`build_watch_alerts`) and routes ``watch.*`` clicks to
``WatchAlerts.clicks`` (``core.dispatcher.route_clicks(WATCH_ACTION_PREFIX, ...)``);
``bot.server`` attaches each surface's port when the surface starts (`WatchAlerts.attach`).
A platform without its alerts channel (``RESYNC_ALERTS_SLACK_CHANNEL``,
``RESYNC_ALERTS_TEAMS_CHANNEL``) gets no alerts. With ``RESYNC_WATCH_RULES_FILE`` the
publisher also applies the auto-remediation rules (`bot.watch.remediation`); an invalid
rules file is a configuration error (exit 2), like an invalid runbook catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from agents.incidents import IncidentService
from agents.messages import ClickHandler, Platform
from agents.runbooks.service import RunbookService
from agents.watch.alerts import AlertBook
from agents.watch.ports import ReportPublisher
from agents.watch.rules import RuleBook, RulesError, load_rules
from bot.core.port import ChatPort
from bot.watch.clicks import WATCH_ACTION_PREFIX, WatchClicks
from bot.watch.publisher import AlertPublisher
from bot.watch.remediation import RemediatingPublisher
from config.settings import ConfigurationError, Settings
from integrations.audit.sink import AuditSink
from integrations.store import Store

__all__ = ["WATCH_ACTION_PREFIX", "WatchAlerts", "build_watch_alerts"]

log = structlog.get_logger(__name__)


@dataclass
class WatchAlerts:
    """The alert parts of a process.

    Attributes:
        publisher: What the watcher publishes reports to (an `AlertPublisher`).
        clicks: The ``watch.*`` click handler (a `WatchClicks`).
    """

    publisher: ReportPublisher
    clicks: ClickHandler

    def attach(self, port: ChatPort) -> None:
        """Post alerts on ``port``'s platform too (when its alerts channel is configured).

        Args:
            port: A surface's port (Slack or Teams).
        """
        if not isinstance(self.publisher, AlertPublisher):
            return
        self.publisher.attach(port)
        if self.publisher.channel_for(port.platform) is None:
            setting = f"RESYNC_ALERTS_{port.platform.value.upper()}_CHANNEL"
            log.info("watch.alerts_off", platform=port.platform.value, hint=f"set {setting}")
            return
        log.info("watch.alerts_attached", platform=port.platform.value)


def build_watch_alerts(
    *,
    settings: Settings,
    store: Store,
    audit: AuditSink,
    runbooks: RunbookService | None,
    incidents: IncidentService | None,
    ports: Mapping[str, ChatPort] | None = None,
) -> WatchAlerts:
    """Build the publisher and the click handler over the shared store.

    Args:
        settings: The effective configuration (alerts channels, ``alerts_per_hour``, zone).
        store: Shared state (Redis with several replicas: dedupe, ack and snooze).
        audit: The audit log.
        runbooks: Requests reruns from the Request rerun button, and the auto-remediation
            rules' runbooks (None: both off).
        incidents: Declares incidents from the Declare incident button (None: off).
        ports: Surfaces already started (attached at once).

    Returns:
        The parts.

    Raises:
        ConfigurationError: The rules file (``RESYNC_WATCH_RULES_FILE``) is invalid.
    """
    channels: dict[Platform, str] = {}
    if settings.alerts_slack_channel:
        channels[Platform.SLACK] = settings.alerts_slack_channel
    if settings.alerts_teams_channel:
        channels[Platform.TEAMS] = settings.alerts_teams_channel
    rules = _rules(settings, runbooks)
    publisher: AlertPublisher
    if rules is not None and runbooks is not None:
        publisher = RemediatingPublisher(
            book=AlertBook(store),
            channels=channels,
            per_hour=settings.alerts_per_hour,
            zone=settings.zone,
            audit=audit,
            rules=rules,
            runbooks=runbooks,
            store=store,
        )
    else:
        publisher = AlertPublisher(
            book=AlertBook(store),
            channels=channels,
            per_hour=settings.alerts_per_hour,
            zone=settings.zone,
            audit=audit,
        )
    clicks = WatchClicks(publisher=publisher, audit=audit, runbooks=runbooks, incidents=incidents)
    parts = WatchAlerts(publisher=publisher, clicks=clicks)
    for port in (ports or {}).values():
        parts.attach(port)
    return parts


def _rules(settings: Settings, runbooks: RunbookService | None) -> RuleBook | None:
    """The auto-remediation rules, checked against the catalog; None when off."""
    path = settings.watch_rules_file
    if path is None:
        return None
    if runbooks is None:
        log.warning("watch.rules_ignored", file=str(path), hint="runbooks are off here")
        return None
    ids = {runbook.id for runbook in runbooks.catalog.all()}
    try:
        rules = load_rules(path, runbooks=ids)
    except RulesError as exc:
        raise ConfigurationError([f"watch_rules_file: {p}" for p in exc.problems]) from None
    for rule in rules.rules:
        refusal = runbooks.rule_refusal(rule.runbook)
        if refusal is not None:  # refused (and said in the thread) each time it matches
            log.warning("watch.rule_not_grantable", rule=rule.name, reason=refusal)
    log.info("watch.rules_loaded", file=str(path), rules=len(rules.rules))
    return rules
