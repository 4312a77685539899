"""``resync watch ...``: the watcher on its own, one cycle, a job's baseline, the rules file.

- ``resync watch``: run the watcher alone (no HTTP server), posting alerts to the configured
  channels (``RESYNC_ALERTS_SLACK_CHANNEL`` with the Slack bot token; Teams alerts need the
  Teams surface, i.e. ``resync serve``). Among several replicas one watches at a time.
  SIGTERM or Ctrl-C stops it and releases the lease.
- ``resync watch once [--demo]``: one cycle, printed in plain text (what it would alert);
  nothing is posted. ``--demo`` reads the bundled simulator.
- ``resync watch baseline JOB [--demo]``: the job's duration baseline and how it was built.
- ``resync watch validate-rules FILE``: check an auto-remediation rules file
  (``file:line: where: what`` per problem).

Exit codes: 0 success; 1 the engine could not be read (a paused cycle, an engine error), or
the rules file has problems; 2 bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.watch.model import WatchReport
    from config.settings import Settings
    from integrations.tws.client import TWSClient

# The watcher, engine client, simulator and Slack modules are imported by the commands that
# use them: building the `resync` parser must stay cheap (`resync --help`).

__all__ = ["register", "report_text"]


def _err(message: str) -> None:
    print(f"resync watch: {message}", file=sys.stderr)


def _clean(text: object) -> str:
    """One terminal line: control characters made visible, no line breaks."""
    from bot.render_text import neutralise_controls

    return neutralise_controls(str(text)).replace("\n", " ").replace("\t", " ")


def report_text(report: WatchReport, *, source: str) -> str:
    """A report in plain text: what the watcher would alert, most severe first.

    Args:
        report: One cycle's report.
        source: Where the data came from.

    Returns:
        The text (no trailing newline).
    """
    head = (
        f"Watch cycle as of {report.as_of.isoformat(timespec='seconds')} "
        f"(plan {report.plan_date.isoformat()}, {report.engine_calls} engine calls, {source})"
    )
    if report.paused is not None:
        return f"{head}\nWatching would pause: {_clean(report.paused)} (no all-clear while blind)."
    if not report.findings:
        return f"{head}\nNothing to alert: no finding this cycle."
    lines = [head, f"{len(report.findings)} alert(s):"]
    ordered = sorted(report.findings, key=lambda f: (f.severity.value != "critical", f.key))
    for finding in ordered:
        lines.append(f"[{finding.severity.value.upper()}] {_clean(finding.headline)}")
        lines.append(f"    {_clean(finding.explanation)}")
        lines.extend(f"    {_clean(line)}" for line in finding.evidence)
    return "\n".join(lines)


@asynccontextmanager
async def _engine(settings: Settings, *, demo: bool) -> AsyncIterator[tuple[TWSClient, str]]:
    """A client of the engine (the bundled simulator with ``demo``) and its source line."""
    from config.settings import ConfigurationError
    from integrations.tws.client import TWSClient
    from integrations.tws.simulator import SimulatorServer

    if not demo:
        if settings.tws_url is None:
            raise ConfigurationError(
                ["tws_url (RESYNC_TWS_URL): required to read an engine (or use --demo)"]
            )
        async with TWSClient.from_settings(settings) as client:
            yield client, client.source
        return
    key = secrets.token_urlsafe(32)
    async with (
        SimulatorServer(scenario=settings.sim_scenario, speed=0, api_keys=[key]) as sim,
        TWSClient(base_url=sim.url, api_key=key) as client,
    ):
        yield client, f"bundled TWS simulator, scenario {settings.sim_scenario}"


def _once(args: argparse.Namespace, settings: Settings) -> int:
    from agents.answers.watch_desk import ScannerDesk

    async def body() -> int:
        async with _engine(settings, demo=args.demo) as (client, source):
            report = await ScannerDesk.from_settings(client, settings).cycle()
        print(report_text(report, source=source))
        return 1 if report.paused is not None else 0

    return asyncio.run(body())


def _baseline(args: argparse.Namespace, settings: Settings) -> int:
    from agents.answers.watch_desk import ScannerDesk
    from bot.errors import engine_failure
    from integrations.tws.errors import TWSError

    async def body() -> int:
        async with _engine(settings, demo=args.demo) as (client, source):
            try:
                view = await ScannerDesk.from_settings(client, settings).baseline_of(args.job)
            except TWSError as exc:
                _err(f"{args.job}: {engine_failure(exc)} ({source})")
                return 1
        print(_clean(view.text))
        print(f"plan date {view.plan_date.isoformat()}; source: {source}")
        for night, minutes in view.history:
            print(f"  {night.isoformat()}  {minutes:7.1f} min")
        return 0

    return asyncio.run(body())


def _validate_rules(args: argparse.Namespace, settings: Settings) -> int:
    from agents.runbooks.catalog import load_catalog
    from agents.runbooks.errors import CatalogError
    from agents.watch.rules import RulesError, load_rules

    try:
        extra = [settings.runbooks_dir] if settings.runbooks_dir else []
        ids: set[str] | None = {r.id for r in load_catalog(extra).all()}
    except CatalogError:
        ids = None  # the catalog's own problems: `resync runbooks validate`
        _err("the runbook catalog is invalid; runbook names are not checked")
    try:
        book = load_rules(args.file, runbooks=ids)
    except RulesError as exc:
        for problem in exc.problems:
            print(problem)
        _err(f"{len(exc.problems)} problem(s) in {args.file}")
        return 1
    print(f"OK: {len(book.rules)} rule(s) valid ({args.file})")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from agents.watch.rules import RulesError, load_rules
    from agents.watch.watcher import Watcher
    from bot.app import runtime
    from bot.gc_policy import apply_gc_policy
    from bot.incidents.wiring import slack_client
    from bot.slack.port import SlackPort
    from bot.slack.poster import SlackPoster
    from config.settings import ConfigurationError

    if not (settings.alerts_slack_channel and settings.slack_bot_token):
        raise ConfigurationError(
            [
                "alerts_slack_channel (RESYNC_ALERTS_SLACK_CHANNEL): `resync watch` posts alerts "
                "to Slack and needs the channel (and RESYNC_SLACK_BOT_TOKEN); Teams alerts need "
                "`resync serve`, where the Teams surface runs"
            ]
        )
    if settings.watch_rules_file is not None:
        try:
            load_rules(settings.watch_rules_file)
        except RulesError as exc:
            raise ConfigurationError([f"watch_rules_file: {p}" for p in exc.problems]) from None

    async def body() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with runtime(settings, embedded=args.demo) as parts:
            client = slack_client(settings)
            if client is not None:
                port = SlackPort(poster=SlackPoster(client=client), client=client)
                parts.alerts.attach(port)
                parts.progress.register(port)
            watcher = Watcher.from_settings(
                settings, source=parts.watch, publisher=parts.alerts.publisher, store=parts.store
            )
            apply_gc_policy()  # start-up built what the watcher keeps (bot/gc_policy.py)
            task = watcher.start()
            print(f"resync watch: watching {parts.watch.source} as {watcher.owner}")
            sys.stdout.flush()
            await stop.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task  # releases the lease for the next replica
            if client is not None and client.session is not None:
                await client.session.close()
        return 0

    return asyncio.run(body())


def register(subparsers: Any) -> None:
    """Add ``watch``, ``watch once``, ``watch baseline`` and ``watch validate-rules``.

    Args:
        subparsers: The object ``ArgumentParser.add_subparsers`` returned.
    """
    watch = subparsers.add_parser("watch", help="run the watcher alone (alerts in chat)")
    watch.add_argument("--demo", action="store_true", help="watch the bundled simulator")
    watch.set_defaults(handler=_run)
    commands = watch.add_subparsers(dest="watch_command", metavar="COMMAND")
    once = commands.add_parser("once", help="run one cycle and print what it would alert")
    once.add_argument("--demo", action="store_true", help="read the bundled simulator")
    once.set_defaults(handler=_once)
    baseline = commands.add_parser("baseline", help="a job's baseline and how it was built")
    baseline.add_argument("job", help="job name, STREAM.JOB or engine id")
    baseline.add_argument("--demo", action="store_true", help="read the bundled simulator")
    baseline.set_defaults(handler=_baseline)
    rules = commands.add_parser("validate-rules", help="check an auto-remediation rules file")
    rules.add_argument("file", type=Path, help="the rules YAML file")
    rules.set_defaults(handler=_validate_rules)
