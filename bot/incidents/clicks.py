"""`IncidentClicks`: the `agents.messages.ClickHandler` of ``incident.*`` buttons.

``incident.declare`` (offered on failure answers; value = the job's name) declares an
incident through the agent side's ``agents.answers.incidents.declare_from_button`` (the
button's place is the origin: the announcement goes there unless an incidents channel is
configured), with the declare key ``button:{message id}:{value}``: a double click, a platform retry and two
people clicking the same button all carry the same key, so the service makes one incident
and every later click gets "already declared". The clicker is told the incident id and,
in Slack, gets a link to the incident's channel (`RoomsRouter.whisper_link`); elsewhere the
note names the room.

The service audits the declaration (``incident.declare``) and the rooms it opens; the
dispatcher audits the click. Nothing is audited here.
"""

from __future__ import annotations

import hashlib
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from agents.answers.incidents import declare_from_button
from agents.incidents import DeclareResult, IncidentError, IncidentService
from agents.incidents.model import Location
from agents.messages import Actor, Click, ClickOutcome, Fields, Reply, Tone
from bot.incidents.rooms import RoomsRouter
from integrations.tws.scheduler import Scheduler

__all__ = [
    "INCIDENT_ACTION_PREFIX",
    "DeclareFromButton",
    "IncidentClicks",
    "button_key",
    "declared_note",
]

INCIDENT_ACTION_PREFIX: Final = "incident."
UNKNOWN_BUTTON: Final = (
    "This incident button is not known to this version of Resync; nothing was done."
)
NOT_AVAILABLE: Final = "Declaring incidents from a button is not available yet; nothing was done."
_MAX_KEY: Final = 255


class DeclareFromButton(Protocol):
    """``agents.answers.incidents.declare_from_button``: declare for a button's value."""

    async def __call__(
        self,
        service: IncidentService,
        /,
        *,
        click_value: str,
        actor: Actor,
        key: str,
        scheduler: Scheduler | None,
        zone: ZoneInfo,
        origin: Location | None = None,
    ) -> DeclareResult:
        """Declare an incident about ``click_value`` once per ``key``."""
        ...


def button_key(click: Click) -> str:
    """The declare key of a click: the same for every click on the same button.

    Args:
        click: The click.

    Returns:
        ``button:{message id}:{value}`` (hashed when longer than the service takes).
    """
    key = f"button:{click.message_id or click.channel_id}:{click.value.strip()}"
    if len(key) <= _MAX_KEY:
        return key
    return f"button:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def declared_note(result: DeclareResult) -> Reply:
    """What the clicker is told: the incident id, and where its room is.

    Args:
        result: The service's answer.

    Returns:
        A short note (plain text; the renderer escapes it).
    """
    incident = result.incident
    head = "Declared" if result.created else "Already declared as"
    rooms = ", ".join(
        f"{p.platform} channel {p.room.channel}" + (" (thread)" if p.room.thread else "")
        for p in incident.places
    )
    return Reply(
        headline=f"{head} {incident.id} ({incident.severity}): {incident.title}",
        tone=Tone.SUCCESS if result.created else Tone.INFO,
        blocks=(
            Fields(
                items=(
                    ("Incident", incident.id),
                    ("Status", incident.status.value),
                    ("Room", rooms or "opening… (it is announced when ready)"),
                )
            ),
        ),
    )


class IncidentClicks:
    """``incident.*`` button clicks (a `ClickHandler`)."""

    def __init__(
        self,
        service: IncidentService,
        *,
        rooms: RoomsRouter | None = None,
        scheduler: Scheduler | None = None,
        zone: ZoneInfo | None = None,
        declare: DeclareFromButton | None = None,
    ) -> None:
        """Wire the handler.

        Args:
            service: The incident service.
            rooms: Whispers the room's link to the clicker where the platform can.
            scheduler: The TWS client the agent side reads the job through.
            zone: The display time zone.
            declare: Declares from a button; default: the agent side's
                ``declare_from_button``.
        """
        self._service = service
        self._rooms = rooms
        self._scheduler = scheduler
        self._zone = zone or ZoneInfo("UTC")
        self._declare: DeclareFromButton = declare or declare_from_button

    async def __call__(self, click: Click) -> ClickOutcome | None:
        """Decide one click.

        Args:
            click: The click (its value is untrusted: the agent side checks it).

        Returns:
            The clicker's note; None for buttons that are not incident buttons.
        """
        if not click.action_id.startswith(INCIDENT_ACTION_PREFIX):
            return None
        if click.verb != "declare":
            return _note(UNKNOWN_BUTTON, Tone.WARNING)
        at = Location(
            platform=click.actor.platform.value, channel=click.channel_id, thread=click.thread_id
        )
        try:
            result = await self._declare(
                self._service,
                click_value=click.value,
                actor=click.actor,
                key=button_key(click),
                scheduler=self._scheduler,
                zone=self._zone,
                origin=at,
            )
        except IncidentError as exc:  # the domain's messages are written for people
            return _note(f"No incident was declared: {exc}", Tone.ERROR)
        note = declared_note(result)
        if self._rooms is not None and await self._rooms.whisper_link(
            at=at, user=click.actor.user_id, reply=note, incident=result.incident
        ):
            return ClickOutcome()
        return ClickOutcome(reply_for_clicker=note)


def _note(text: str, tone: Tone) -> ClickOutcome:
    return ClickOutcome(reply_for_clicker=Reply(headline=text, tone=tone))
