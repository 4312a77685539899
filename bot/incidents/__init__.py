"""The chat-platform half of incidents: rooms, the ``incident.*`` buttons, the wiring.

Modules, one job each::

    naming.py       Slack channel names from RESYNC_INCIDENT_CHANNEL_TEMPLATE (suffix on collision)
    slack_api.py    Web API calls of the Slack rooms; refusals as RoomsError in words
    rooms_slack.py  SlackRooms: a channel per incident, pinned state message, announcement link
    rooms_teams.py  TeamsRooms: a thread per incident in RESYNC_INCIDENTS_TEAMS_CHANNEL
    rooms.py        RoomsRouter: the service's IncidentRooms, by platform
    memory.py       RoomMemory: rooms and posts remembered by key in the Store
    clicks.py       IncidentClicks: incident.declare buttons -> one incident per button
    people.py       SlackPeople: who a <@U…> mention is (roles), over users.info
    wiring.py       open_incidents (database, pager, policy, rooms, service) and run_upkeep

The domain (`agents.incidents.IncidentService`) decides and audits; this package only
talks to the platforms. See docs/incidents.md.
"""

from __future__ import annotations

from bot.incidents.clicks import INCIDENT_ACTION_PREFIX, IncidentClicks, button_key
from bot.incidents.people import SlackPeople
from bot.incidents.rooms import PlatformRooms, RoomsRouter
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.rooms_teams import TeamsRooms
from bot.incidents.wiring import Incidents, open_incidents, run_upkeep

__all__ = [
    "INCIDENT_ACTION_PREFIX",
    "IncidentClicks",
    "Incidents",
    "PlatformRooms",
    "RoomsRouter",
    "SlackPeople",
    "SlackRooms",
    "TeamsRooms",
    "button_key",
    "open_incidents",
    "run_upkeep",
]
