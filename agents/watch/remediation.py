"""`Remediator`: the auto-remediation rules applied to each published report's failures.

Off unless ``RESYNC_WATCH_RULES_FILE`` names a rules file (`agents.watch.rules`). After a
report is published (`bot.watch.remediation.RemediatingPublisher`), each failure a rule
matches (the first matching rule wins) is handled once:

1. **Once per failure run**, whatever the number of replicas or cycles: the claim
   ``resync:watch:remedy:{finding key}`` in the shared store (a failure's key names its run;
   the same job failing again after a rerun is a new run, a new attempt).
2. **The policy**: a runbook the approval policy does not let rules approve
   (`agents.runbooks.rulegrant.rule_refusal`) is refused before anything is counted.
3. **Attempt i of n**: counted per rule, job and plan date in the store
   (`RuleBook.take_attempt`); with none left the rule does nothing more that night.
4. **The request**, as Resync on the rule's behalf, in the alert's thread: validated against
   the live plan like a person's request, approved by the rule (``runbook.approve``), then
   started; its progress and outcome follow in the thread.

Every outcome is announced in the alert's thread by the chat side (`RemediationChat`) and
logged (``watch.remediation``). A claim taken and then lost to a crash is not retried: an
automatic change to the plan is never made twice, and a person still has the alert's
Request rerun button.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

import structlog

from agents.messages import Actor, Platform
from agents.runbooks.service import RunbookService
from agents.watch.model import Finding, WatchReport
from agents.watch.rules import Rule, RuleBook
from integrations.store import Store, StoreError
from integrations.tws.errors import TWSError

__all__ = [
    "RESYNC_USER",
    "RemediationChat",
    "RemediationPlace",
    "Remediator",
    "Remedy",
    "RemedyOutcome",
]

log = structlog.get_logger(__name__)

RESYNC_USER: Final = "resync"
"""The requester's user id on a rule's requests (Resync asks on the rule's behalf)."""
_CLAIM_SECONDS: Final = 36 * 3600.0  # longer than a production day


class RemedyOutcome(StrEnum):
    """What a rule did about one failure."""

    REQUESTED = "requested"  # requested, approved by the rule, started
    REFUSED = "refused"  # the policy or the live plan ruled it out
    LIMIT = "limit"  # the night's attempts are used up
    FAILED = "failed"  # the engine or the store failed on the way


@dataclass(frozen=True, slots=True)
class RemediationPlace:
    """Where a rule's request lives: the alert's thread on one platform.

    Attributes:
        platform: The platform (progress is posted there).
        channel: The alerts channel.
        thread: The alert's thread; None when the alert has no message (held back by the
            hourly rate): the request then lives at the channel's top level.
    """

    platform: Platform
    channel: str
    thread: str | None


@dataclass(frozen=True, slots=True)
class Remedy:
    """What one rule did about one failure (the chat side words it).

    Attributes:
        rule: The rule.
        finding: The failure.
        outcome: What happened.
        attempt: The attempt's number, once counted.
        request_id: The runbook request, when one was made.
        reason: Why it was refused (worded by the runbook service).
        error: What failed (engine or store), for `FAILED`.
    """

    rule: Rule
    finding: Finding
    outcome: RemedyOutcome
    attempt: int | None = None
    request_id: str | None = None
    reason: str = ""
    error: Exception | None = None


class RemediationChat(Protocol):
    """Where the rules' requests live and are announced (`bot.watch.remediation`)."""

    async def place(self, finding: Finding) -> RemediationPlace | None:
        """The alert's thread of ``finding`` (None: no platform to post on)."""
        ...

    async def announce(self, remedy: Remedy) -> None:
        """Say in the alert's thread what the rule did (and audit it)."""
        ...


class Remediator:
    """Applies the rules to the failures of each report, once per failure run."""

    def __init__(
        self, *, rules: RuleBook, runbooks: RunbookService, store: Store, chat: RemediationChat
    ) -> None:
        """Wire the remediator.

        Args:
            rules: The rules (file order; the first match wins).
            runbooks: Requests, approves by rule and runs.
            store: Shared by the replicas (claims and attempt counts).
            chat: Where requests live and outcomes are announced.
        """
        self._rules = rules
        self._runbooks = runbooks
        self._store = store
        self._chat = chat

    async def run(self, report: WatchReport) -> list[Remedy]:
        """Handle every failure of ``report`` a rule matches (a paused report: none).

        Args:
            report: The report just published.

        Returns:
            What this replica did (failures another replica or cycle handled are absent).
        """
        done: list[Remedy] = []
        if report.paused is not None:
            return done
        for finding in report.findings:
            rule = self._rules.match(finding)
            if rule is None:
                continue
            remedy = await self._one(rule, finding)
            if remedy is None:
                continue
            log.info(
                "watch.remediation",
                rule=rule.name,
                runbook=rule.runbook,
                job=finding.object_name,
                outcome=remedy.outcome.value,
                attempt=remedy.attempt,
                request_id=remedy.request_id,
                reason=remedy.reason or None,
            )
            await self._chat.announce(remedy)
            if remedy.outcome is RemedyOutcome.REQUESTED and remedy.request_id is not None:
                await self._runbooks.run(remedy.request_id)  # after the announcement
            done.append(remedy)
        return done

    async def _one(self, rule: Rule, finding: Finding) -> Remedy | None:
        """Claim, check, count and request; None when it is not this replica's to do."""
        place = await self._chat.place(finding)
        if place is None:
            log.warning("watch.remediation_nowhere", rule=rule.name, job=finding.object_name)
            return None
        try:
            if not await self._store.claim(
                f"resync:watch:remedy:{finding.key}", ttl_seconds=_CLAIM_SECONDS
            ):
                return None  # another replica, or an earlier cycle, has it
        except StoreError as exc:
            log.error("watch.remediation_skipped", rule=rule.name, error=str(exc)[:200])
            return None  # without the claim, acting could act twice
        refusal = self._runbooks.rule_refusal(rule.runbook)
        if refusal is not None:
            # Asked once more through the service, which audits and logs the refusal.
            return await self._request(rule, finding, place, attempt=None)
        try:
            attempt = await self._rules.take_attempt(rule, finding, store=self._store)
        except StoreError as exc:
            return Remedy(rule, finding, RemedyOutcome.FAILED, error=exc)
        if attempt is None:
            return Remedy(rule, finding, RemedyOutcome.LIMIT)
        return await self._request(rule, finding, place, attempt=attempt)

    async def _request(
        self, rule: Rule, finding: Finding, place: RemediationPlace, *, attempt: int | None
    ) -> Remedy:
        actor = Actor(
            platform=place.platform, user_id=RESYNC_USER, display_name=f"Resync (rule {rule.name})"
        )
        details: dict[str, object] = {
            "job": finding.object_name,
            "alert_key": finding.key,
            "attempt": attempt,
            "attempts_per_night": rule.attempts_per_night,
        }
        try:
            asked = await self._runbooks.request_by_rule(
                rule=rule.name,
                runbook_id=rule.runbook,
                values={"job": finding.object_name},
                actor=actor,
                channel=place.channel,
                thread=place.thread,
                details=details,
            )
        except (TWSError, StoreError) as exc:
            log.warning("watch.remediation_failed", rule=rule.name, error=str(exc)[:200])
            return Remedy(rule, finding, RemedyOutcome.FAILED, attempt=attempt, error=exc)
        outcome = RemedyOutcome.REQUESTED if asked.granted else RemedyOutcome.REFUSED
        return Remedy(
            rule,
            finding,
            outcome,
            attempt=attempt,
            request_id=asked.request_id,
            reason=asked.reason,
        )
