"""`WatchClicks`: the `agents.messages.ClickHandler` of ``watch.*`` buttons on alert cards.

Every button's value is the finding's key; the alert is looked up by it on the clicker's
platform (`AlertBook`). A click is acted on only when it comes from the channel the alert
was posted in (a key copied into another conversation does nothing), and reruns and
incidents go to the alert's stored channel and thread, never to the click's.

==========================  ==============================================================
``watch.ack``               acknowledged (shared by replicas and platforms); the card says
                            who, on every platform
``watch.snooze_hour``       quiet for an hour; ``watch.snooze_tomorrow``: until 08:00
                            tomorrow in ``RESYNC_TIMEZONE``
``watch.why``               the explanation, figures, critical chain and evidence, in the
                            alert's thread
``watch.rerun``             a ``rerun-abended-job`` request through the runbook service: its
                            approval card goes into the alert's thread (four-eyes as usual)
``watch.declare``           an incident through the `IncidentService`, once per alert
                            (declare key ``watch:{key}``), the alert's place as its origin
==========================  ==============================================================

Acks and snoozes are audited here (``watch.ack``, ``watch.snooze``); the dispatcher audits
every click, the runbook and incident services what they do.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from agents.incidents import IncidentError, IncidentService, LinkedObject, Location
from agents.messages import Click, ClickOutcome, Reply, Tone
from agents.runbooks.service import RunbookService
from agents.watch.alert_state import AlertState, AlertStatus
from bot.incidents.clicks import declared_note
from bot.watch import render
from bot.watch.audit import record_alert
from bot.watch.publisher import AlertPublisher
from integrations.audit.sink import AuditSink

__all__ = ["RERUN_RUNBOOK", "WATCH_ACTION_PREFIX", "WatchClicks", "declare_key"]

WATCH_ACTION_PREFIX: Final = "watch."
RERUN_RUNBOOK: Final = "rerun-abended-job"
MORNING: Final = time(8, 0)
UNKNOWN_ALERT: Final = (
    "This alert is no longer known (alerts are kept four days); nothing was done."
)
UNKNOWN_BUTTON: Final = (
    "This alert button is not known to this version of Resync; nothing was done."
)
ELSEWHERE: Final = "This button belongs to an alert posted in another channel; nothing was done."
CLOSED: Final = "This alert is closed; nothing was done."
_MAX_KEY: Final = 255


def declare_key(key: str) -> str:
    """The incident declare key of an alert: one incident per alert, however often clicked."""
    wanted = f"watch:{key}"
    if len(wanted) <= _MAX_KEY:
        return wanted
    return f"watch:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _channel(state: AlertState) -> str:
    """The channel the alert's message is in (the alerts channel while it has none)."""
    return state.message.channel if state.message is not None else state.channel


def _note(text: str, tone: Tone = Tone.INFO) -> ClickOutcome:
    return ClickOutcome(reply_for_clicker=Reply(headline=text, tone=tone))


class WatchClicks:
    """``watch.*`` button clicks (a `ClickHandler`)."""

    def __init__(
        self,
        *,
        publisher: AlertPublisher,
        audit: AuditSink | None,
        runbooks: RunbookService | None,
        incidents: IncidentService | None,
    ) -> None:
        """Wire the handler.

        Args:
            publisher: Alert state, cards, and the ports to refresh cards on.
            audit: The audit log (acks, snoozes).
            runbooks: Requests reruns (None: the button says runbooks are off).
            incidents: Declares incidents (None: the button says incidents are off).
        """
        self._publisher = publisher
        self._book = publisher.book
        self._audit = audit
        self._runbooks = runbooks
        self._incidents = incidents

    async def __call__(self, click: Click) -> ClickOutcome | None:
        """Decide one click.

        Args:
            click: The click (its value is untrusted: it only names the alert).

        Returns:
            What to show; None for buttons that are not watch buttons.
        """
        if not click.action_id.startswith(WATCH_ACTION_PREFIX):
            return None
        state = await self._book.get(click.actor.platform.value, click.value.strip())
        if state is None:
            return _note(UNKNOWN_ALERT, Tone.WARNING)
        if click.channel_id != _channel(state):
            return _note(ELSEWHERE, Tone.WARNING)
        action = click.action_id
        if action == render.WHY:
            return ClickOutcome(thread_reply=render.why_reply(state.view, zone=self._zone))
        if action in (render.RERUN, render.DECLARE) and state.status is AlertStatus.CLOSED:
            return _note(CLOSED, Tone.WARNING)
        if action == render.RERUN:
            return await self._rerun(click, state)
        if action == render.DECLARE:
            return await self._declare(click, state)
        if action not in (render.ACK, render.SNOOZE_HOUR, render.SNOOZE_TOMORROW):
            return _note(UNKNOWN_BUTTON, Tone.WARNING)
        if state.status is not AlertStatus.OPEN:
            return _note(f"This alert is closed ({state.closed_note or 'ended'}); nothing to do.")
        if action == render.ACK:
            return await self._ack(click, state)
        return await self._snooze(click, state)

    @property
    def _zone(self) -> ZoneInfo:
        return self._publisher.zone

    @staticmethod
    def _place(state: AlertState) -> Location:
        """Where the alert lives on this platform: its channel and thread, from the book."""
        thread = None
        if state.message is not None:
            thread = state.message.thread or state.message.message_id
        return Location(platform=state.platform, channel=_channel(state), thread=thread)

    def _thread(self, click: Click, state: AlertState) -> str | None:
        if state.message is not None:
            return state.message.thread or state.message.message_id
        return click.thread_id or click.message_id

    async def _after_change(self, click: Click, state: AlertState) -> Reply:
        """The clicked card as it is now; the other platforms' cards are refreshed too."""
        await self._publisher.refresh(state.view.key, skip=click.actor.platform)
        return await self._publisher.card(state)

    async def _ack(self, click: Click, state: AlertState) -> ClickOutcome:
        key = state.view.key
        attention, first = await self._book.ack(key, by=click.actor.display_name)
        await record_alert(
            self._audit,
            action="watch.ack",
            outcome="acknowledged" if first else "already",
            platform=click.actor.platform.value,
            channel=click.channel_id,
            key=key,
            target=state.view.object_name,
            thread=self._thread(click, state),
            actor=click.actor,
        )
        if not first:
            return _note(f"Already acknowledged by {attention.acked_by}.")
        return ClickOutcome(updated_message=await self._after_change(click, state))

    def snooze_end(self, action: str, now: datetime) -> datetime:
        """When a snooze clicked at ``now`` ends: an hour later, or 08:00 tomorrow locally."""
        if action == render.SNOOZE_HOUR:
            return now + timedelta(hours=1)
        local = now.astimezone(self._zone)
        morning = datetime.combine(local.date() + timedelta(days=1), MORNING, tzinfo=self._zone)
        return morning.astimezone(now.tzinfo)

    async def _snooze(self, click: Click, state: AlertState) -> ClickOutcome:
        key = state.view.key
        until = self.snooze_end(click.action_id, self._book.clock())
        await self._book.snooze(key, until=until, by=click.actor.display_name)
        await record_alert(
            self._audit,
            action="watch.snooze",
            outcome="snoozed",
            platform=click.actor.platform.value,
            channel=click.channel_id,
            key=key,
            target=state.view.object_name,
            thread=self._thread(click, state),
            actor=click.actor,
            parameters={"until": until.isoformat()},
        )
        local = until.astimezone(self._zone)
        note = Reply(headline=f"Snoozed until {local:%a %H:%M} {local.tzname() or ''}".rstrip())
        return ClickOutcome(
            updated_message=await self._after_change(click, state), reply_for_clicker=note
        )

    async def _rerun(self, click: Click, state: AlertState) -> ClickOutcome:
        view = state.view
        if self._runbooks is None:
            return _note("Runbooks are not enabled here; nothing was requested.", Tone.WARNING)
        if view.job_id is None:
            return _note(f"{view.object_name} is not a job; nothing was requested.", Tone.WARNING)
        place = self._place(state)
        result = await self._runbooks.request(
            runbook_id=RERUN_RUNBOOK,
            values={"job": view.object_name},
            actor=click.actor,
            channel=place.channel,
            thread=place.thread,
        )
        if not result.accepted:
            return ClickOutcome(reply_for_clicker=result.reply)
        note = Reply(
            headline=f"Rerun of {view.object_name} requested: the approval card is in the "
            "alert's thread.",
            tone=Tone.SUCCESS,
        )
        return ClickOutcome(reply_for_clicker=note, thread_reply=result.reply)

    async def _declare(self, click: Click, state: AlertState) -> ClickOutcome:
        view = state.view
        if self._incidents is None:
            return _note("Incidents are not enabled here; nothing was declared.", Tone.WARNING)
        links: tuple[LinkedObject, ...] = ()
        if view.job_id is not None:
            links = (
                LinkedObject(
                    kind="job",
                    name=view.object_name,
                    plan_id=view.job_id,
                    linked_at=self._book.clock(),
                    linked_by=click.actor.identity,
                ),
            )
        origin = self._place(state)
        try:
            result = await self._incidents.declare(
                key=declare_key(view.key),
                actor=click.actor,
                title=view.headline,
                description=view.explanation,
                origin=origin,
                links=links,
            )
        except IncidentError as exc:  # the domain's messages are written for people
            return _note(f"No incident was declared: {exc}", Tone.ERROR)
        note = declared_note(result)
        if not result.created:
            return ClickOutcome(reply_for_clicker=note)
        told = Reply(
            headline=f"{click.actor.display_name} declared {result.incident.id} for this alert.",
            tone=Tone.WARNING,
        )
        return ClickOutcome(reply_for_clicker=note, thread_reply=told)
