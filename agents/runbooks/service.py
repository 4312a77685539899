"""`RunbookService`: the one object the bot wires; a facade over the runbook parts.

What the bot calls::

    service.request_text(text="/tws run rerun-abended-job job=PAYROLL_DAILY.PAYROLL_EXTRACT",
                         actor=event.actor, channel=..., thread=...)   -> RequestResult (card)
    decision = service.decision_from_click(action_id=..., value=..., actor=actor, card=place)
    await service.decide(decision)                                    -> DecisionResult
    await service.card_posted(action_id=..., value=..., card=place)   a surface posted a card
    await service.recover()                                           at start-up, then often
    await service.request_by_rule(rule=..., runbook_id=..., values=..., actor=...)
                                      an auto-remediation rule asks and approves (policy:
                                      `agents.runbooks.rulegrant`); then service.run(id)
    progress sink: posts step progress and the outcome in the request's thread, and
                   replaces the request's card (whichever replica finishes the run)

Who does what behind it:

- `agents.runbooks.intake.RunbookIntake`: request validation, storing, cards.
- `agents.runbooks.deciding.ApprovalDesk`: clicks (signature, eligibility, the pure rules of
  `agents.runbooks.approvals`), dry runs.
- `agents.runbooks.driver.FlowDriver`: drives the approval graph (inline, or in the
  background through a `agents.tasks.Spawner`) and recovers after a restart.
- `agents.runbooks.nodes.FlowNodes`: the graph's node bodies; `agents.runbooks.executor.
  Executor` runs the steps exactly once.
- `agents.runbooks.audit.RunbookAudit`: every audit record, and the rule that a plan change
  is not made unless its audit record was written.
- `agents.runbooks.targets.TargetClaims`: one open execution per job or job stream.

Several replicas share requests through the `Store` (Redis) and one checkpointer; the
replica whose click completes the approval runs the request, under the drive lease.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from agents.messages import Actor, Reply
from agents.runbooks.actions import RunbookActions, SchedulerActions
from agents.runbooks.audit import RunbookAudit
from agents.runbooks.cards import CardMaker
from agents.runbooks.catalog import Catalog
from agents.runbooks.deciding import ApprovalDesk
from agents.runbooks.decisions import Decision, DecisionResult
from agents.runbooks.driver import FlowDriver
from agents.runbooks.executor import Executor
from agents.runbooks.intake import RequestResult, RunbookIntake
from agents.runbooks.journal import CardPlace, RequestJournal
from agents.runbooks.nodes import FlowNodes
from agents.runbooks.policy import ApprovalGroups, GroupDirectory
from agents.runbooks.ports import PhaseHook, ProgressSink
from agents.runbooks.rulegrant import RuleDesk, RuleRequest
from agents.runbooks.signing import ButtonSigner
from agents.runbooks.targets import TargetClaims
from agents.tasks import Spawner
from integrations.audit.sink import AuditSink
from integrations.store.base import Store
from integrations.tws.scheduler import Scheduler

__all__ = ["RequestResult", "RuleRequest", "RunbookService"]


class RunbookService:
    """Runbook requests, approvals and exactly-once execution."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        groups: ApprovalGroups,
        scheduler: Scheduler,
        store: Store,
        checkpointer: Any,
        signer: ButtonSigner,
        actions: RunbookActions | None = None,
        audit: AuditSink | None = None,
        progress: ProgressSink | None = None,
        namespace: str = "rb:",
        lease_seconds: float = 30.0,
        poll_seconds: float = 5.0,
        clock: Callable[[], datetime] | None = None,
        on_phase: PhaseHook | None = None,
        directory: GroupDirectory | None = None,
        spawn: Spawner | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        """Wire the service.

        Args:
            catalog: The validated runbooks.
            groups: Approval groups.
            scheduler: The engine (reads; job actions unless ``actions`` is given).
            store: Shared state (Redis for several replicas).
            checkpointer: LangGraph checkpointer shared by the replicas.
            signer: Signs and checks button values (same key on every replica).
            actions: What steps may do; default `SchedulerActions` over ``scheduler``.
            audit: The audit log. A plan change is made only after its record was written;
                None (tests, the terminal demo) records nothing.
            progress: Posts progress and outcomes in the request's thread.
            namespace: Key prefix in the store.
            lease_seconds: Drive lease; a replica that dies is replaced after this long.
            poll_seconds: Pause between reads in wait steps.
            clock: Server time (UTC), injectable for expiry tests.
            on_phase: Test hook (see `agents.runbooks.ports.PhaseHook`).
            directory: Resolves group references of the policy (``slack-usergroup:S…``)
                when checking who may decide; None: only listed identities are eligible.
            spawn: Starts supervised background work. Given, the approval that completes
                the policy starts the run through it and `decide` answers at once; None,
                the run happens inside `decide` (tests, the terminal).
            zone: The zone the approval cards show times in (``RESYNC_TIMEZONE``).
        """
        now = clock or (lambda: datetime.now(UTC))
        scheduler_actions = actions or SchedulerActions(scheduler)
        recorder = RunbookAudit(audit)
        cards = CardMaker(groups=groups, signer=signer, zone=zone)
        self._catalog = catalog
        self.journal = RequestJournal(store=store, namespace=namespace)
        targets = TargetClaims(journal=self.journal)
        executor = Executor(
            journal=self.journal,
            scheduler=scheduler,
            actions=scheduler_actions,
            audit=recorder,
            progress=progress,
            lease_seconds=lease_seconds,
            targets=targets,
            poll_seconds=poll_seconds,
            on_phase=on_phase,
        )
        nodes = FlowNodes(
            catalog=catalog,
            scheduler=scheduler,
            journal=self.journal,
            executor=executor,
            audit=recorder,
            cards=cards,
            progress=progress,
            clock=now,
            targets=targets,
            on_phase=on_phase,
        )
        self._driver = FlowDriver(
            journal=self.journal,
            nodes=nodes,
            checkpointer=checkpointer,
            lease_seconds=lease_seconds,
            clock=now,
            spawn=spawn,
        )
        self._intake = RunbookIntake(
            catalog=catalog,
            scheduler=scheduler,
            actions=scheduler_actions,
            journal=self.journal,
            audit=recorder,
            cards=cards,
            drive=self._driver.drive,
            clock=now,
        )
        self._rules = RuleDesk(
            catalog=catalog,
            groups=groups,
            journal=self.journal,
            audit=recorder,
            intake=self._intake,
            driver=self._driver,
            clock=now,
        )
        self._desk = ApprovalDesk(
            catalog=catalog,
            groups=groups,
            directory=directory,
            scheduler=scheduler,
            journal=self.journal,
            signer=signer,
            audit=recorder,
            cards=cards,
            driver=self._driver,
            clock=now,
        )

    @property
    def catalog(self) -> Catalog:
        """The catalog."""
        return self._catalog

    async def request_text(
        self, *, text: str, actor: Actor, channel: str | None = None, thread: str | None = None
    ) -> RequestResult:
        """Request a run from ``/tws run RUNBOOK key=value ...``.

        Args:
            text: The command (a key given twice, or a word that is not ``key=value``, is
                refused).
            actor: Who asks.
            channel: Where (for progress posts).
            thread: The thread.

        Returns:
            The card, or why nothing was queued.
        """
        return await self._intake.request_text(
            text=text, actor=actor, channel=channel, thread=thread
        )

    async def request(
        self,
        *,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None = None,
        thread: str | None = None,
    ) -> RequestResult:
        """Request a run: validate against the live plan, then show the approval card.

        Args:
            runbook_id: The runbook.
            values: Its parameters as typed.
            actor: Who asks.
            channel: Where (for progress posts).
            thread: The thread.

        Returns:
            The card (or a read-only run's outcome), or why nothing was queued.
        """
        return await self._intake.request(
            runbook_id=runbook_id, values=values, actor=actor, channel=channel, thread=thread
        )

    async def card(self, request_id: str) -> Reply | None:
        """The request's card as it stands now, or None for an unknown request."""
        return await self._intake.card(request_id)

    def decision_from_click(
        self,
        *,
        action_id: str,
        value: str,
        actor: Actor,
        received_at: datetime | None = None,
        card: CardPlace | None = None,
    ) -> Decision:
        """Turn a button click into a `Decision` (adapters call this).

        Args:
            action_id: The button's action id.
            value: The button's value as the platform returned it.
            actor: Who clicked (resolved by the adapter).
            received_at: When (default now).
            card: Where the clicked card is: the request keeps it, so the replica that
                finishes the run replaces the card.

        Returns:
            The decision, signature already checked once (`decide` checks again).

        Raises:
            ForgedValueError: A forged or altered value.
        """
        return self._desk.decision_from_click(
            action_id=action_id, value=value, actor=actor, received_at=received_at, card=card
        )

    async def card_posted(self, *, action_id: str, value: str, card: CardPlace) -> bool:
        """Remember where a request's approval card was posted (a surface calls this).

        Args:
            action_id: One of the card's buttons.
            value: Its signed value (names the request and the approval round).
            card: Where the card is.

        Returns:
            True when the request now points at this card (False: an earlier round's card,
            an unknown request, or a value that does not verify).
        """
        return await self._desk.card_posted(action_id=action_id, value=value, card=card)

    async def decide(self, decision: Decision) -> DecisionResult:
        """Take one decision (approve, reject, dry run) on a request, safely and once.

        Args:
            decision: The click.

        Returns:
            What to tell the clicker and the updated card. With a spawner, the approval
            that completes the policy answers at once (status APPROVED) while the run goes
            on in the background; without one, the run's outcome when this click ran it.
        """
        return await self._desk.decide(decision)

    async def recover(self) -> list[str]:
        """Continue what a restart interrupted; expire overdue requests.

        Call at start-up and periodically. A request approved but not finished is driven on
        from its checkpoint; the step journal makes sure no step runs twice.

        Returns:
            The ids of the requests this replica drove.
        """
        return await self._driver.recover()

    def rule_refusal(self, runbook_id: str) -> str | None:
        """Why no auto-remediation rule may approve ``runbook_id``, None when one may.

        Only runbooks the approval policy lists in ``rules_may_grant``, never a high-risk
        one (`agents.runbooks.rulegrant`).
        """
        return self._rules.refusal(runbook_id)

    async def request_by_rule(
        self,
        *,
        rule: str,
        runbook_id: str,
        values: Mapping[str, str],
        actor: Actor,
        channel: str | None = None,
        thread: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> RuleRequest:
        """Request a runbook for an auto-remediation rule, approved by the rule.

        Validated against the live plan like a person's request; the rule's approval is
        audited ``runbook.approve``. Nothing runs until `run` (or `recover`).

        Args:
            rule: The rule's name (the approver is ``rule:<name>``).
            runbook_id: The runbook.
            values: Its parameters.
            actor: Who requests: Resync on the rule's behalf (its platform routes progress).
            channel: Where progress is posted.
            thread: The thread.
            details: Audited with the approval (job, attempt).

        Returns:
            Granted, or why not.
        """
        return await self._rules.request(
            rule=rule,
            runbook_id=runbook_id,
            values=values,
            actor=actor,
            channel=channel,
            thread=thread,
            details=details,
        )

    async def grant_by_rule(self, request_id: str, *, rule: str) -> RuleRequest:
        """Approve a pending request by an auto-remediation rule (completes the policy).

        Args:
            request_id: The request.
            rule: The rule's name.

        Returns:
            Granted, or why not.
        """
        return await self._rules.grant(request_id, rule=rule)

    async def run(self, request_id: str) -> None:
        """Start a request a rule approved (in the background when a spawner is wired)."""
        await self._rules.run(request_id)
