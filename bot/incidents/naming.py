"""Slack channel names of incidents: the template, the slug, the suffixes on collision.

``RESYNC_INCIDENT_CHANNEL_TEMPLATE`` (default ``inc-{date}-{number}-{slug}``) gives e.g.
``inc-20261130-42-payroll-extract``: lower-case letters, digits and hyphens, at most 80
characters (Slack's rule). Every value comes from the stored incident (its declaration date
in the display zone, its number, its title), so a retried opening computes the same name
and finds the channel it created before. When a name belongs to someone else, the next
candidates are ``<name>-2``, ``<name>-3``, ... (shortened so they stay within 80).
"""

from __future__ import annotations

import re
from typing import Final
from zoneinfo import ZoneInfo

from agents.incidents.model import Incident

__all__ = ["DEFAULT_TEMPLATE", "MAX_NAME", "candidate", "channel_name", "slug"]

DEFAULT_TEMPLATE: Final = "inc-{date}-{number}-{slug}"
MAX_NAME: Final = 80
_NOT_NAME: Final = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """``Payroll: EXTRACT abended!`` -> ``payroll-extract-abended``."""
    return _NOT_NAME.sub("-", text.lower()).strip("-")


def channel_name(template: str, incident: Incident, *, zone: ZoneInfo) -> str:
    """The channel name of an incident (without a collision suffix).

    The title's slug is shortened first, so the date and number always survive the
    80-character limit.

    Args:
        template: The template (placeholders ``date``, ``year``, ``number``, ``id``, ``slug``).
        incident: The incident.
        zone: The zone its declaration date is taken in.

    Returns:
        A valid Slack channel name (never empty: falls back to the id's slug).
    """
    values = {
        "date": incident.declared_at.astimezone(zone).strftime("%Y%m%d"),
        "year": str(incident.declared_at.astimezone(zone).year),
        "number": str(incident.number),
        "id": slug(incident.id),
        "slug": "",
    }
    fixed = slug(template.format_map(values))
    room = max(0, MAX_NAME - len(fixed) - 1)
    values["slug"] = slug(incident.title)[:room].strip("-")
    name = slug(template.format_map(values))[:MAX_NAME].strip("-")
    return name or slug(incident.id)


def candidate(name: str, attempt: int) -> str:
    """The ``attempt``-th name to try: the name itself, then ``name-2``, ``name-3``, ...

    Args:
        name: The wanted name.
        attempt: 1 for the name itself.

    Returns:
        A name of at most 80 characters.
    """
    if attempt <= 1:
        return name[:MAX_NAME]
    suffix = f"-{attempt}"
    return name[: MAX_NAME - len(suffix)].rstrip("-") + suffix
