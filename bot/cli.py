"""The ``resync`` command.

Commands: ``demo`` (terminal chat on the bundled simulator), ``chat`` (terminal chat on
``RESYNC_TWS_URL``), ``ask`` (one question, one answer), ``serve`` (the HTTP server),
``simulator`` (the bundled TWS simulator on its own), ``config show``, ``audit ...`` and
``watch ...`` (`bot.cli_watch`) and ``knowledge ...`` (`bot.cli_knowledge`).

Exit codes: 0 success, 1 failure at run time (e.g. audit verification, or ``ask`` got no
answer), 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import cli_audit, cli_incidents, cli_knowledge, cli_reload, cli_runbooks, cli_watch

if TYPE_CHECKING:
    from bot.app import StartupError
    from config.settings import Settings

# Building the parser imports nothing heavy: settings (pydantic), the simulator (aiohttp),
# the runtime (LangGraph, LLM client, chat SDKs) and structlog are imported by the code that
# uses them, so `resync --help` and the light commands start fast.

__all__ = ["build_parser", "main"]


def _bundled_scenarios() -> list[str]:
    """Names of the bundled scenarios, read from the package without importing it.

    Same list as `integrations.tws.simulator.available_scenarios`, which would import the
    simulator (aiohttp) just to write the help text.
    """
    spec = importlib.util.find_spec("integrations.tws.simulator")
    folders = spec.submodule_search_locations if spec is not None else None
    return sorted(
        entry.name.removesuffix(".yaml")
        for folder in folders or []
        for entry in (Path(folder) / "scenarios").iterdir()
        if entry.name.endswith(".yaml")
    )


_SCENARIO_HELP = (
    f"simulator scenario: {', '.join(_bundled_scenarios())}, or your own scenario .yaml file "
    "(see docs/simulator.md)"
)


def _scenario(value: str) -> str:
    """A bundled scenario name or a readable scenario file (checked before anything starts)."""
    from integrations.tws.simulator.scenario import load_scenario

    try:
        load_scenario(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``resync`` argument parser, every command included.

    Cheap to build: no command's heavy modules are imported until its handler runs.

    Returns:
        The parser; each leaf command sets ``handler(args, settings) -> int``.
    """
    parser = argparse.ArgumentParser(
        prog="resync", description="Chat-ops for HCL Workload Automation (TWS)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="chat in the terminal against the bundled simulator")
    demo.add_argument("--scenario", type=_scenario, help=_SCENARIO_HELP)
    demo.add_argument("--speed", type=float, help="simulated seconds per real second (0: frozen)")
    demo.set_defaults(handler=_demo)

    chat = commands.add_parser("chat", help="chat in the terminal against RESYNC_TWS_URL")
    chat.set_defaults(handler=_chat)

    ask = commands.add_parser("ask", help="ask one question and print the answer")
    ask.add_argument("question", nargs="+", help="the question, e.g. what failed tonight?")
    ask.add_argument("--demo", action="store_true", help="ask the bundled simulator")
    ask.add_argument("--scenario", type=_scenario, help=_SCENARIO_HELP)
    ask.set_defaults(handler=_ask)

    serve = commands.add_parser("serve", help="run the HTTP server (health, chat adapters)")
    serve.add_argument("--demo", action="store_true", help="use the bundled simulator")
    serve.set_defaults(handler=_serve)

    simulator = commands.add_parser("simulator", help="run the bundled TWS simulator")
    simulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulator.add_argument("--port", type=int, default=31116, help="port (default 31116)")
    simulator.add_argument("--scenario", default="normal", type=_scenario, help=_SCENARIO_HELP)
    simulator.add_argument("--speed", type=float, default=60.0, help="simulated s per real s")
    simulator.add_argument(
        "--control", action="store_true", help="enable the /_sim/ control endpoints"
    )
    simulator.set_defaults(handler=_simulator)

    config = commands.add_parser("config", help="show the effective configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    show = config_commands.add_parser("show", help="print settings, secrets masked")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_config_show)
    cli_reload.register_config(config_commands)

    cli_audit.register(commands)
    cli_runbooks.register(commands)
    cli_incidents.register(commands)
    cli_watch.register(commands)
    cli_knowledge.register(commands)
    cli_reload.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``resync`` command.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    # Every file this process creates (databases and their -wal/-shm journals, the log, the
    # chat history, exports) is private to its user, including files libraries create that
    # Resync never names; files that already exist are tightened by `secure_data_dir`.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    from config.settings import ConfigurationError, load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "scenario", None) and args.command in {"demo", "ask"}:
        overrides["sim_scenario"] = args.scenario
    if getattr(args, "speed", None) is not None and args.command == "demo":
        overrides["sim_speed"] = args.speed
    try:
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        print(f"resync: bad configuration\n{exc}", file=sys.stderr)
        return 2
    try:
        tightened = _secure_data_dir(settings, command=args.command)
    except ConfigurationError as exc:
        print(f"resync: bad configuration\n{exc}", file=sys.stderr)
        return 2
    _configure_logging(settings, command=args.command)
    for path in tightened:
        _log().warning("data_dir.tightened", path=str(path), hint="was readable by others")
    try:
        code: int = args.handler(args, settings)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
    except ConfigurationError as exc:
        print(f"resync: bad configuration\n{exc}", file=sys.stderr)
        return 2
    except _startup_errors() as exc:  # evaluated only once something was raised
        print(f"resync: cannot start the {exc.part}: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbye", file=sys.stderr)
        return 0
    except BrokenPipeError:
        # The reader went away (`resync audit show | head`): it has what it wanted; no
        # traceback, and nothing more to write (stdout now goes nowhere, so the flush at
        # exit cannot fail again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


def _log() -> Any:
    import structlog

    return structlog.get_logger(__name__)


def _startup_errors() -> tuple[type[StartupError], ...]:
    """`StartupError` when `bot.app` (the only place that raises it) was imported, else none."""
    app = sys.modules.get("bot.app")
    return (app.StartupError,) if app is not None else ()


def _secure_data_dir(settings: Settings, *, command: str) -> list[Path]:
    """Check (and create, for the commands that write there) the data directory."""
    writes = command in {"demo", "chat", "ask", "serve", "watch"}
    if not writes and command not in {"audit", "incidents"}:
        return []
    from bot.data_dir import secure_data_dir

    # Never created for audit and incidents: they only read, and refuse a missing store.
    return secure_data_dir(settings.data_dir, create=writes)


def _configure_logging(settings: Settings, *, command: str) -> None:
    from bot.logging import configure_logging, open_log_file

    if command in {"demo", "chat", "ask"}:
        # The terminal is the chat: structured logs go to a file beside the stores.
        stream = open_log_file(_log_file(settings))
        configure_logging(level=settings.log_level, fmt="json", stream=stream)
    else:
        configure_logging(level=settings.log_level, fmt=settings.log_format)


def _log_file(settings: Settings) -> Path:
    return settings.data_dir / "resync.log"


def _terminal_chat(settings: Settings, *, embedded: bool) -> int:
    from bot.app import runtime
    from bot.console import banner, run_console, tolerant_output
    from bot.gc_policy import apply_gc_policy

    tolerant_output(sys.stdout)

    async def session() -> int:
        async with runtime(settings, embedded=embedded) as parts:
            apply_gc_policy()  # start-up built what the session keeps (bot/gc_policy.py)
            return await run_console(
                dispatcher=parts.dispatcher,
                banner=banner(parts),
                out=sys.stdout,
                interactive=sys.stdin.isatty(),
                history_file=settings.data_dir / "history",
            )

    return asyncio.run(session())


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    return _terminal_chat(settings, embedded=True)


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    return _terminal_chat(settings, embedded=False)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.gc_policy import THRESHOLDS, apply_gc_policy

    # The collector's thresholds of a started process already while the runtime is imported:
    # the import leaves some 150,000 objects that live as long as the process, and with
    # CPython's defaults every full collection on the way walks all of them again.
    gc.set_threshold(*THRESHOLDS)
    from agents.messages import Actor, ChatEvent, Platform
    from bot.app import runtime
    from bot.console import terminal_style, tolerant_output
    from bot.render_text import render_text

    tolerant_output(sys.stdout)
    width, unicode = terminal_style(sys.stdout)

    async def once() -> int:
        async with runtime(settings, embedded=args.demo) as parts:
            # Frozen, start-up's objects are not walked again, neither by collections while
            # answering nor by the last one at exit (about 0.1 s); one question, then exit:
            # nothing worth a collection first.
            apply_gc_policy(collect=False)
            actor = Actor(platform=Platform.CONSOLE, user_id="cli", display_name="cli")
            event = ChatEvent(
                event_id="cli", actor=actor, channel_id="cli", text=" ".join(args.question)
            )
            reply = await parts.dispatcher.handle(event)
            print(render_text(reply, width=width, unicode=unicode))
            failure = parts.asker.last_failure
            if failure is None:
                return 0
            # Scripts and smoke tests need the failure in the exit code, and a reason.
            print(
                f"resync: no answer: {_failure_text(failure, engine=parts.asker.engine)}; "
                f"details in {_log_file(settings)}",
                file=sys.stderr,
            )
            return 1

    return asyncio.run(once())


def _failure_text(failure: BaseException, *, engine: str) -> str:
    from bot.errors import engine_failure
    from integrations.tws.errors import TWSError

    if isinstance(failure, TWSError):
        return f"TWS at {engine}: {engine_failure(failure)}"
    if isinstance(failure, TimeoutError):
        return "the time limit was reached"
    return f"an internal error ({type(failure).__name__})"


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import runtime
    from bot.gc_policy import apply_gc_policy
    from bot.server import listening  # only this command needs the chat surfaces

    grace = settings.shutdown_grace_seconds

    async def serve() -> int:
        signals = _StopSignals()
        signals.install()  # before anything starts: a stop during start-up drains too
        try:
            async with (
                runtime(settings, embedded=args.demo) as parts,
                listening(parts, forced=signals.forced, grace_seconds=grace) as url,
            ):
                # Long-running: start-up's objects frozen, no full collection walks them
                # again while questions over big plans allocate (bot/gc_policy.py).
                apply_gc_policy()
                print(f"resync: listening on {url}", flush=True)
                await signals.requested.wait()
        finally:
            signals.remove()
        # After `runtime` closed: the audit log is flushed and closed.
        _log().info("serve.stopped")
        return 0

    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve())
    return 0


class _StopSignals:
    """SIGTERM (containers, systemd) and SIGINT: the first drains, the second cuts it short."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.forced = asyncio.Event()

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._received, signum)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)

    def _received(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.requested.is_set():
            _log().warning("serve.stop_forced", signal=name)
            self.forced.set()
            return
        _log().info("serve.stop_requested", signal=name)
        self.requested.set()


def _simulator(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.tws.simulator import run_simulator

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_simulator(
                scenario=args.scenario,
                host=args.host,
                port=args.port,
                control=args.control,
                speed=args.speed,
            )
        )
    return 0


def _config_show(args: argparse.Namespace, settings: Settings) -> int:
    shown = settings.describe()
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
        return 0
    width = max(len(name) for name in shown)
    for name, value in shown.items():
        print(f"{name.ljust(width)}  {'' if value is None else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
