"""The `Reply` cards of a runbook request: approval card, its updates, progress and outcome.

`CardMaker` binds the approval groups and the button signer once, so the rest of the package
asks for "the card of this record" (`CardMaker.card`) or "what to say at the end"
(`CardMaker.final`) without carrying either around.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from agents.messages import Actions, Block, Button, Context, Fields, Paragraph, Reply, Table, Tone
from agents.runbooks.actions import describe_call
from agents.runbooks.catalog import (
    ActionStep,
    CheckStep,
    DiagnoseStep,
    MessageStep,
    Runbook,
    Step,
    WaitStep,
)
from agents.runbooks.decisions import DecisionKind
from agents.runbooks.journal import RequestRecord, RequestStatus
from agents.runbooks.params import ResolvedParam
from agents.runbooks.policy import (
    ApprovalGroups,
    describe_reference,
    eligible_approvers,
    group_references,
    matchable,
)
from agents.runbooks.signing import ACTION_IDS, ButtonSigner

__all__ = [
    "CardMaker",
    "approval_card",
    "describe_step",
    "dry_run_reply",
    "outcome_reply",
    "progress_reply",
]

_STATUS_WORDS = {
    RequestStatus.PENDING: "waiting for approval",
    RequestStatus.APPROVED: "approved, starting",
    RequestStatus.EXECUTING: "running",
    RequestStatus.SUCCEEDED: "done",
    RequestStatus.FAILED: "failed",
    RequestStatus.NEEDS_PERSON: "stopped, needs a person",
    RequestStatus.REJECTED: "rejected",
    RequestStatus.EXPIRED: "expired",
}


def describe_step(step: Step, params: dict[str, ResolvedParam]) -> tuple[str, str]:
    """What a step does, and the exact TWS call (or ``read only``).

    Args:
        step: The step.
        params: The request's parameters.

    Returns:
        (description, call).
    """
    if isinstance(step, MessageStep):
        return step.title or "post a message", "none"
    target = params.get(step.target)
    name = target.display if target else step.target
    if isinstance(step, ActionStep):
        call = describe_call(action=step.action, ref=target.ref) if target else "?"
        return step.title or f"{step.action.value} {name}", call
    if isinstance(step, WaitStep):
        whose = "the successors of " if step.scope == "successors" else ""
        wanted = "|".join(status.value for status in step.status)
        return (
            step.title
            or f"wait until {whose}{name} is {wanted} (up to {step.timeout_seconds:g} s)",
            "GET (read only)",
        )
    if isinstance(step, CheckStep):
        return step.title or f"check {name}", "GET (read only)"
    if isinstance(step, DiagnoseStep):
        return step.title or f"diagnose {name}", "GET (read only)"
    return "step", "none"  # pragma: no cover - the union is exhaustive


def _who_may_approve(runbook: Runbook, groups: ApprovalGroups, record: RequestRecord) -> str:
    spec = runbook.approval
    if spec is None:
        return "no approval needed (read only)"
    # Only people who can really approve: entries that match nobody are left out (the
    # policy load logs them), and so is the requester, who never approves their own run.
    requester = {
        record.requester_identity.strip().lower(),
        f"{record.requester_platform}:{record.requester_id}".lower(),
    }
    eligible = eligible_approvers(spec=spec, groups=groups) - requester
    names = [*(f"group {g}" for g in spec.groups), *(u for u in spec.users if matchable(u))]
    # A user group can hold thousands of people: show the reference, not the names.
    references = [describe_reference(r) for r in group_references(spec=spec, groups=groups)]
    if not eligible and not references:
        return (
            f"nobody: {', '.join(names) or 'the policy'} names no one who can approve "
            "(never the requester); ask an admin to fix config/approval_policy.yaml"
        )
    people = f"{len(eligible)} people" + (
        f" + members of {', '.join(references)}" if references else ""
    )
    return (
        f"{', '.join(names)} ({people}); {spec.min_approvers} distinct approver(s); "
        "never the requester"
    )


_SUPERSEDED = "sent back for approval: approve the new card in the thread"


def _at(moment: datetime, zone: tzinfo, pattern: str) -> str:
    """A time in the display zone, the zone shown (a naive time is UTC, as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime(pattern + " %Z")


def approval_card(
    *,
    record: RequestRecord,
    runbook: Runbook,
    groups: ApprovalGroups,
    signer: ButtonSigner,
    superseded: bool = False,
    zone: tzinfo = UTC,
) -> Reply:
    """The approval card (and its updates): what, how, impact, who, until when, buttons.

    Args:
        record: The request as it stands.
        runbook: Its runbook.
        groups: Approval groups (to count eligible people).
        signer: Signs the buttons' values.
        superseded: The card of an earlier approval round (a new card was posted): it says
            so and has no buttons.
        zone: The zone its times are shown in (``RESYNC_TIMEZONE``), named on the card.

    Returns:
        The card; buttons only while the request waits for approval on this card.
    """
    params = record.resolved()
    spec = runbook.approval
    needed = spec.min_approvers if spec else 0
    status = _SUPERSEDED if superseded else _STATUS_WORDS[record.status]
    tone = {
        RequestStatus.SUCCEEDED: Tone.SUCCESS,
        RequestStatus.FAILED: Tone.ERROR,
        RequestStatus.NEEDS_PERSON: Tone.ERROR,
        RequestStatus.REJECTED: Tone.ERROR,
        RequestStatus.EXPIRED: Tone.WARNING,
    }.get(record.status, Tone.WARNING if record.status == RequestStatus.PENDING else Tone.INFO)
    blocks: list[Block] = [
        Paragraph(text=runbook.description),
        Fields(
            items=(
                ("Requested by", record.requester_name or record.requester_identity),
                ("Parameters", ", ".join(f"{n}={p.display}" for n, p in sorted(params.items()))),
                ("Risk", runbook.risk.value),
                (
                    "Reversible",
                    f"yes: {runbook.undo.description or runbook.undo.runbook}"
                    if runbook.undo
                    else "no",
                ),
                ("Who may approve", _who_may_approve(runbook, groups, record)),
                ("Approvals", f"{len(record.approvals)} of {needed}"),
                ("Expires", _at(record.expires_at, zone, "%Y-%m-%d %H:%M")),
                ("Status", status),
            )
        ),
        Table(
            columns=("#", "step", "TWS call"),
            rows=tuple(
                (str(i + 1), *describe_step(step, params)) for i, step in enumerate(runbook.steps)
            ),
        ),
    ]
    successors = record.impact.get("successors", [])
    at_risk = record.impact.get("at_risk", [])
    impact = [
        f"Successors affected: {', '.join(successors[:10]) or 'none'}"
        + (f" (+{len(successors) - 10} more)" if len(successors) > 10 else ""),
        f"Deadlines at risk: {', '.join(at_risk[:10]) or 'none'}",
    ]
    blocks.append(Paragraph(text="\n".join(impact)))
    if record.plan_items:
        blocks.append(
            Fields(
                items=tuple(
                    (name, ", ".join(f"{k} {v}" for k, v in fields.items() if k != "id"))
                    for name, fields in sorted(record.plan_items.items())
                )
            )
        )
    if record.history:
        blocks.append(
            Table(
                columns=("when", "who", "what"),
                rows=tuple(
                    (_at(h.at, zone, "%H:%M:%S"), h.who, h.what) for h in record.history[-10:]
                ),
            )
        )
    if record.status == RequestStatus.PENDING and not superseded:
        blocks.append(
            Actions(
                buttons=tuple(
                    Button(
                        action_id=ACTION_IDS[kind],
                        label=label,
                        value=signer.value(request_id=record.id, decision=kind, nonce=record.nonce),
                        style=style,
                    )
                    for kind, label, style in (
                        (DecisionKind.APPROVE, "Approve", "primary"),
                        (DecisionKind.REJECT, "Reject", "danger"),
                        (DecisionKind.DRY_RUN, "Dry run", None),
                    )
                )
            )
        )
    blocks.append(
        Context(
            items=(
                f"request {record.id}",
                f"{runbook.id} v{record.version}",
                f"round {record.round}",
                f"plan state #{record.plan_digest}",
            )
        )
    )
    return Reply(
        headline=f"Runbook {runbook.title} ({runbook.id} v{record.version}): {status}",
        tone=tone,
        blocks=tuple(blocks),
    )


def dry_run_reply(*, record: RequestRecord, runbook: Runbook, notes: Sequence[str]) -> Reply:
    """What a run would do now, without doing it.

    Args:
        record: The request.
        runbook: Its runbook.
        notes: One line per step from the dry run (check results, calls that would be made).

    Returns:
        The reply.
    """
    return Reply(
        headline=f"Dry run of {runbook.id} (request {record.id}): nothing was changed",
        tone=Tone.INFO,
        blocks=(Paragraph(text="\n".join(f"{i + 1}. {note}" for i, note in enumerate(notes))),),
    )


def progress_reply(
    *, record: RequestRecord, index: int, total: int, text: str, tone: Tone
) -> Reply:
    """One step's progress, for the request's thread."""
    return Reply(
        headline=f"{record.runbook_id} step {index + 1}/{total}: {text}",
        tone=tone,
        blocks=(Context(items=(f"request {record.id}",)),),
    )


def outcome_reply(*, record: RequestRecord, runbook: Runbook, lines: Sequence[str]) -> Reply:
    """The end of a run: what happened and, when reversible, how to undo it."""
    params = record.resolved()
    ok = record.status == RequestStatus.SUCCEEDED
    blocks: list[Block] = [Paragraph(text="\n".join(lines) or record.outcome or "")]
    if ok and runbook.undo is not None:
        values = " ".join(
            f"{key}={params[source].display if source in params else source}"
            for key, source in runbook.undo.parameters.items()
        )
        blocks.append(
            Paragraph(
                text=f"To undo ({runbook.undo.description or 'undo'}): /tws run {runbook.undo.runbook} {values}".strip()
            )
        )
    blocks.append(Context(items=(f"request {record.id}", f"{runbook.id} v{record.version}")))
    return Reply(
        headline=f"Runbook {runbook.id}: {_STATUS_WORDS[record.status]}"
        + (f": {record.outcome}" if record.outcome and not ok else ""),
        tone=Tone.SUCCESS if ok else Tone.ERROR,
        blocks=tuple(blocks),
    )


class CardMaker:
    """The cards of requests, with this deployment's approval groups and signing key."""

    def __init__(self, *, groups: ApprovalGroups, signer: ButtonSigner, zone: tzinfo = UTC) -> None:
        """Bind the groups (to count eligible people) and the signer (for the buttons).

        Args:
            groups: Approval groups.
            signer: Signs the buttons' values.
            zone: The zone card times are shown in (``RESYNC_TIMEZONE``).
        """
        self._groups = groups
        self._signer = signer
        self._zone = zone

    def card(self, *, record: RequestRecord, runbook: Runbook) -> Reply:
        """The approval card of ``record`` as it stands (buttons only while pending)."""
        return approval_card(
            record=record,
            runbook=runbook,
            groups=self._groups,
            signer=self._signer,
            zone=self._zone,
        )

    def superseded(self, *, record: RequestRecord, runbook: Runbook) -> Reply:
        """The card of an earlier round once a new one was posted: no buttons, says where."""
        return approval_card(
            record=record,
            runbook=runbook,
            groups=self._groups,
            signer=self._signer,
            superseded=True,
            zone=self._zone,
        )

    def final(self, *, record: RequestRecord, runbook: Runbook) -> Reply:
        """What to post when a request ends: the card when nothing ran, else the outcome."""
        if record.status in (RequestStatus.REJECTED, RequestStatus.EXPIRED):
            return self.card(record=record, runbook=runbook)
        return outcome_reply(record=record, runbook=runbook, lines=record.report)
