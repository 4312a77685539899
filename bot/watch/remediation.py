"""Auto-remediation in chat: requests live in the alert's thread, and every outcome is said.

`RemediatingPublisher` is the `AlertPublisher` with the rules (``RESYNC_WATCH_RULES_FILE``):
it publishes the report as usual, then hands it to the `agents.watch.remediation.Remediator`,
so the alert is in the channel before its rule says anything in its thread. It is also the
remediator's `RemediationChat`:

- `RemediatingPublisher.place`: the request lives in the alert's thread on the first
  platform where the alert has a message (the alerts channel when it was held back);
- `RemediatingPublisher.announce`: one line in the alert's thread on every platform,
  e.g. "Auto-remediation: rule payroll-deadlock requested rerun-abended-job for
  PAYROLL_DAILY.PAYROLL_EXTRACT (attempt 1 of 2)", audited ``watch.remediation``. The run's
  own progress and outcome follow in the request's thread (`bot.progress`).
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

import structlog

from agents.messages import Platform, Reply, Tone
from agents.runbooks.service import RunbookService
from agents.watch.alerts import AlertBook
from agents.watch.model import Finding, WatchReport
from agents.watch.remediation import (
    RemediationPlace,
    Remediator,
    Remedy,
    RemedyOutcome,
)
from agents.watch.rules import RuleBook
from bot.errors import engine_failure
from bot.watch.audit import record_alert
from bot.watch.publisher import AlertPublisher
from integrations.audit.sink import AuditSink
from integrations.store import Store
from integrations.tws.errors import TWSError

__all__ = ["RemediatingPublisher", "remedy_reply"]

log = structlog.get_logger(__name__)


def remedy_reply(remedy: Remedy) -> Reply:
    """What is said in the alert's thread about what a rule did.

    Args:
        remedy: The rule's outcome for one failure.

    Returns:
        One line (plain text: each surface escapes it).
    """
    rule, job = remedy.rule, remedy.finding.object_name
    head = f"Auto-remediation: rule {rule.name}"
    if remedy.outcome is RemedyOutcome.REQUESTED:
        attempt = f"attempt {remedy.attempt} of {rule.attempts_per_night}"
        text = f"{head} requested {rule.runbook} for {job} ({attempt})"
        return Reply(headline=text, tone=Tone.INFO)
    if remedy.outcome is RemedyOutcome.LIMIT:
        used = f"its {rule.attempts_per_night} attempt(s) for tonight are used up"
        text = f"{head} did not request {rule.runbook} for {job}: {used}; a person must look"
        return Reply(headline=text, tone=Tone.WARNING)
    if remedy.outcome is RemedyOutcome.REFUSED:
        text = f"{head} could not request {rule.runbook} for {job}: {remedy.reason}"
        return Reply(headline=text, tone=Tone.WARNING)
    error = remedy.error
    why = engine_failure(error) if isinstance(error, TWSError) else "the shared store failed"
    text = f"{head} could not request {rule.runbook} for {job}: {why}; a person must look"
    return Reply(headline=text, tone=Tone.ERROR)


class RemediatingPublisher(AlertPublisher):
    """An `AlertPublisher` that applies the auto-remediation rules after each report."""

    def __init__(
        self,
        *,
        book: AlertBook,
        channels: Mapping[Platform, str],
        per_hour: int,
        zone: ZoneInfo,
        audit: AuditSink | None,
        rules: RuleBook,
        runbooks: RunbookService,
        store: Store,
    ) -> None:
        """Wire the publisher and its remediator.

        Args:
            book: Alert state shared by the replicas.
            channels: The alerts channel of each platform.
            per_hour: New alerts per channel and hour.
            zone: Display time zone.
            audit: The audit log.
            rules: The auto-remediation rules.
            runbooks: Requests, approves by rule and runs runbooks.
            store: Shared by the replicas (claims, attempt counts).
        """
        super().__init__(book=book, channels=channels, per_hour=per_hour, zone=zone, audit=audit)
        self.remediator = Remediator(rules=rules, runbooks=runbooks, store=store, chat=self)

    async def publish(self, report: WatchReport) -> None:
        """Publish the alerts, then apply the rules to the report's failures."""
        await super().publish(report)
        await self.remediator.run(report)

    async def place(self, finding: Finding) -> RemediationPlace | None:
        """The alert's thread on the first platform where it was posted (else its channel)."""
        targets = [(port.platform, channel) for port, channel in self._targets()]
        for platform, _channel in targets:
            state = await self.book.get(platform.value, finding.key)
            if state is not None and state.message is not None:
                shown = state.message
                return RemediationPlace(platform, shown.channel, shown.thread or shown.message_id)
        if not targets:
            return None
        platform, channel = targets[0]
        return RemediationPlace(platform, channel, None)

    async def announce(self, remedy: Remedy) -> None:
        """Say what the rule did in the alert's thread on every platform, and audit it."""
        reply = remedy_reply(remedy)
        finding, rule = remedy.finding, remedy.rule
        for port, channel in self._targets():
            platform = port.platform.value
            state = await self.book.get(platform, finding.key)
            if state is not None and state.message is not None:
                thread = state.message.thread or state.message.message_id
                posted = await port.post_in_thread(
                    channel=state.message.channel, thread=thread, reply=reply
                )
            else:
                thread = None
                posted = await port.post_to_channel(channel=channel, reply=reply)
            await record_alert(
                self._audit,
                action="watch.remediation",
                outcome=remedy.outcome.value,
                platform=platform,
                channel=channel,
                key=finding.key,
                target=finding.object_name,
                thread=thread,
                parameters={
                    "rule": rule.name,
                    "runbook": rule.runbook,
                    "result": remedy.outcome.value,
                    "attempt": remedy.attempt,
                    "attempts_per_night": rule.attempts_per_night,
                    "request_id": remedy.request_id,
                    "reason": remedy.reason or None,
                    "posted": posted is not None,
                },
            )
