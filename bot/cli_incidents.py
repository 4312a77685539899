"""``resync incidents ...``: list, show, stats, export — read from the incident database only.

No chat platform, engine or audit key is needed: the commands read the incident database
(``RESYNC_DATABASE_URL``, or ``incidents.db`` under ``RESYNC_DATA_DIR``). ``export`` writes
the postmortem draft as Markdown from the incident and its timeline (no engine evidence
and no audit records: ``resync audit show`` has those).

Exit codes: 0 success; 1 no database where the settings point, no such incident, or the
database failed; 2 bad input (an unreadable date, an output file that cannot be written, an
invalid incident policy). No command creates a database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.incidents import Incident
    from config.settings import Settings
    from integrations.db import Database

# The incident, database and rendering modules are imported by the commands that use them:
# building the `resync` parser must stay cheap (`resync --help`).

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, "Settings"], int]
Body = Callable[[argparse.Namespace, "Settings", "Database"], Coroutine[Any, Any, int]]


class _NoDatabaseError(Exception):
    """There is no incident database where the settings point."""


def _err(message: str) -> None:
    print(f"resync incidents: {message}", file=sys.stderr)


def _clean(text: object) -> str:
    """Text safe for a terminal line (control characters made visible, one line)."""
    from bot.render_text import neutralise_controls

    return neutralise_controls(str(text)).replace("\n", " ").replace("\t", " ")


def _handler(body: Body) -> Handler:
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        from integrations.db import SQLITE_FILE, open_database

        url = settings.database_url.get_secret_value() if settings.database_url else None
        if url is None and not (settings.data_dir / SQLITE_FILE).is_file():
            raise _NoDatabaseError(
                f"no incident database at {settings.data_dir / SQLITE_FILE}; check "
                "RESYNC_DATA_DIR (or RESYNC_DATABASE_URL)"
            )
        db = await open_database(url, data_dir=settings.data_dir)
        try:
            return await body(args, settings, db)
        finally:
            await db.close()

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from agents.incidents import IncidentError
        from integrations.db import DatabaseError

        try:
            return asyncio.run(run(args, settings))
        except (_NoDatabaseError, DatabaseError, IncidentError) as exc:
            _err(str(exc))
            return 1
        except BrokenPipeError:
            raise  # the reader went away (`| head`): `bot.cli.main` ends quietly
        except OSError as exc:
            _err(str(exc))
            return 2

    handler.__doc__ = body.__doc__
    return handler


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date or time: {text!r} (e.g. 2026-01-01)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _all(db: Database) -> list[Incident]:
    from agents.incidents.loading import incident_from

    return [incident_from(row) for row in await db.incidents.stats_rows()]


async def _list(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    """Print incidents, newest first: id, severity, status, declared, lead, title."""
    from agents.formatting import format_clock

    incidents = list(reversed(await _all(db)))
    if args.open:
        incidents = [i for i in incidents if i.status.open]
    if not incidents:
        print("No incidents." if not args.open else "No open incidents.")
        return 0
    for incident in incidents:
        lead = incident.lead.name if incident.lead else "-"
        when = format_clock(incident.declared_at, zone=settings.zone)
        print(
            f"{incident.id:<16} {incident.severity:<6} {incident.status.value:<10} "
            f"{_clean(when):<22} {_clean(lead)[:24]:<24} {_clean(incident.title)}"
        )
    return 0


async def _show(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    """Print one incident: fields, places, links, follow-ups and the timeline."""
    from agents.formatting import format_clock
    from agents.incidents.loading import load_incident

    incident = await load_incident(db, args.id, timeline=True)
    zone = settings.zone

    def clock(moment: datetime | None) -> str:
        return format_clock(moment, zone=zone)

    lines = [
        f"{incident.id}: {incident.title}",
        f"  severity:  {incident.severity}",
        f"  status:    {incident.status.value}",
        f"  declared:  {clock(incident.declared_at)} by {incident.declared_by.name}",
        f"  acknowledged: {clock(incident.acknowledged_at)}",
        f"  resolved:  {clock(incident.resolved_at)}",
        *(f"  {role.value + ':':<10} {person.name}" for role, person in incident.roles.items()),
    ]
    if incident.description:
        lines.append(f"  description: {incident.description}")
    if incident.resolution:
        lines.append(f"  resolution: {incident.resolution}")
    lines.extend(
        f"  room:      {p.platform} {p.room.channel}"
        + (f" thread {p.room.thread}" if p.room.thread else "")
        + (" (state pinned)" if p.pinned else "")
        for p in incident.places
    )
    lines.extend(f"  linked:    {o.kind} {o.name} ({o.state or '-'})" for o in incident.links)
    lines.extend(
        f"  follow-up {f.number}: {f.text}" + (" (done)" if f.done else "")
        for f in incident.follow_ups
    )
    lines.append("  timeline:")
    lines.extend(f"    {e.seq:>4}  {clock(e.at)}  {e.kind:<10} {e.text}" for e in incident.timeline)
    for line in lines:
        print(_clean(line))
    return 0


async def _stats(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    """Print counts, time to acknowledge and time to resolve per severity."""
    from agents.formatting import format_duration
    from agents.incidents.loading import incident_from
    from agents.incidents.stats import compute_stats
    from bot.incidents.wiring import incident_policy

    rows = await db.incidents.stats_rows(since=args.since)
    stats = compute_stats([incident_from(row) for row in rows], policy=incident_policy(settings))
    since = f" since {args.since.date().isoformat()}" if args.since else ""
    print(f"{stats.total} incidents{since}, {stats.open} open")
    print(
        f"{'severity':<10} {'count':>5} {'open':>5} {'TTA mean':>10} {'median':>10} "
        f"{'TTR mean':>10} {'median':>10}"
    )
    for row in stats.by_severity:
        print(
            f"{_clean(row.severity):<10} {row.count:>5} {row.open:>5} "
            f"{format_duration(row.mean_tta):>10} {format_duration(row.median_tta):>10} "
            f"{format_duration(row.mean_ttr):>10} {format_duration(row.median_ttr):>10}"
        )
    return 0


async def _export(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    """Write the postmortem draft (Markdown) to ``--output`` or standard output."""
    from agents.incidents import render_postmortem
    from agents.incidents.loading import load_incident
    from agents.incidents.model import IncidentStatus
    from bot.render_text import neutralise_controls

    incident = await load_incident(db, args.id, timeline=True)
    markdown = render_postmortem(incident, zone=settings.zone)
    if not markdown.endswith("\n"):
        markdown += "\n"
    if args.output is None:
        sys.stdout.write(neutralise_controls(markdown))
        return 0
    path: Path = args.output
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(markdown)
    state = (
        ""
        if incident.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
        else " (still open)"
    )
    print(f"Wrote the postmortem draft of {incident.id}{state} to {path}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``incidents list|show|stats|export`` to the ``resync`` parser.

    Args:
        subparsers: The object ``ArgumentParser.add_subparsers`` returned.
    """
    incidents = subparsers.add_parser("incidents", help="read incidents: list, show, stats, export")
    commands = incidents.add_subparsers(dest="incidents_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="incidents, newest first")
    listing.add_argument("--open", action="store_true", help="only incidents not yet resolved")
    listing.set_defaults(handler=_handler(_list))
    show = commands.add_parser("show", help="one incident with its timeline")
    show.add_argument("id", help="the incident id, e.g. INC-2026-0042")
    show.set_defaults(handler=_handler(_show))
    stats = commands.add_parser("stats", help="counts, time to acknowledge and resolve")
    stats.add_argument("--since", type=_since, help="only incidents declared since (ISO 8601)")
    stats.set_defaults(handler=_handler(_stats))
    export = commands.add_parser("export", help="the postmortem draft as Markdown")
    export.add_argument("id", help="the incident id")
    export.add_argument(
        "--output", "-o", type=Path, help="file to write (default: standard output)"
    )
    export.set_defaults(handler=_handler(_export))
