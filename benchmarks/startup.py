"""Start-up time of the ``resync`` command: wall time per command, median of N subprocess runs.

Each run is a fresh ``python -m bot.cli`` process (imports included, as a user sees it):

- ``resync --help``
- ``resync config show``
- ``resync audit verify`` on a fresh log of a few records
- ``resync ask "status of PAYROLL_EXTRACT"`` against a running engine (the bundled simulator
  in its own process, reached at ``RESYNC_TWS_URL`` like a real master)
- ``resync ask --demo "status of PAYROLL_EXTRACT"`` (bundled simulator started in-process)

Targets (start-up issue): ``--help`` <= 0.3 s, ``audit verify`` on a small log <= 0.5 s,
``ask`` against a running engine <= 1 s. ``--imports N`` also prints, per command, the N
slowest imports (``python -X importtime``, cumulative, top-level packages first seen) and
which of the heavy libraries (`HEAVY`) the command imported at all.

Bytecode: the runs read compiled bytecode, as an installed Resync does (pip compiles it at
install time) and a checkout does from its second run on. The cache is private to the
benchmark (``PYTHONPYCACHEPREFIX`` in its temporary directory, filled by one unmeasured run
per command), so a ``PYTHONDONTWRITEBYTECODE`` in the caller's environment does not turn
every run into a compile of Resync's ~250 modules (about 0.1 s of an ``ask``).
``--compile`` measures that case: ``PYTHONDONTWRITEBYTECODE=1`` and no cache, so a checkout
without ``__pycache__`` compiles Resync's modules on every run (libraries keep theirs).

    .venv/bin/python benchmarks/startup.py [--runs 5] [--imports 8] [--compile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Slow to import; each should come only with the command or setting that uses it.
HEAVY = (
    "langgraph",
    "langsmith",
    "sqlalchemy",
    "alembic",
    "slack_sdk",
    "slack_bolt",
    "botbuilder",
    "redis",
    "numpy",
    "litellm",
    "chromadb",
    "matplotlib",
    "psycopg",
)

COMMANDS: list[tuple[str, list[str]]] = [
    ("resync --help", ["--help"]),
    ("resync config show", ["config", "show"]),
    ("resync audit verify (small log)", ["audit", "verify"]),
    ('resync ask "status of PAYROLL_EXTRACT" (engine)', ["ask", "status of PAYROLL_EXTRACT"]),
    (
        'resync ask --demo "status of PAYROLL_EXTRACT"',
        ["ask", "--demo", "status of PAYROLL_EXTRACT"],
    ),
]


def _environment(data_dir: Path, *, bytecode: Path | None) -> dict[str, str]:
    """The commands' environment; ``bytecode``: where compiled modules are kept (None: nowhere)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RESYNC_")
        and k not in {"PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"}
    }
    env["RESYNC_DATA_DIR"] = str(data_dir)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no network fetch if litellm is imported
    if bytecode is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _running_engine(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The bundled simulator in its own process; yields the environment that points at it."""
    port = _free_port()
    engine = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "simulator", "--port", str(port), "--speed", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline or engine.poll() is not None:
                raise SystemExit("the simulator did not start")
            time.sleep(0.2)
        yield {
            **env,
            "RESYNC_TWS_URL": f"http://127.0.0.1:{port}",
            "RESYNC_TWS_USER": "twsuser",
            "RESYNC_TWS_PASSWORD": "twspass",
        }
    finally:
        engine.terminate()
        engine.wait(timeout=30)


def _imports(argv: list[str], env: dict[str, str], count: int) -> tuple[list[str], list[str]]:
    """The slowest imports of one run, and the heavy libraries it imported.

    The ``count`` slowest top-level imports (``-X importtime``, cumulative), and which of
    `HEAVY` appear anywhere in the run.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seen: dict[str, int] = {}
    packages: set[str] = set()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        packages.add(name.strip().split(".")[0])
        if not name.startswith("  "):  # imported by the command itself, not by a library
            seen[name[1:].strip()] = int(cumulative)
    slowest = sorted(seen.items(), key=lambda item: -item[1])[:count]
    heavy = [name for name in HEAVY if name in packages]
    return [f"{name} {micros / 1e6:.3f}s" for name, micros in slowest], heavy


def _small_log(data_dir: Path, records: int = 20) -> None:
    """A fresh audit log of ``records`` records (what ``audit verify`` reads)."""
    from config.settings import Settings
    from integrations.audit import open_audit_log

    async def fill() -> None:
        log = await open_audit_log(Settings(data_dir=data_dir))
        for i in range(records):
            await log.record(
                action="question",
                outcome="ok",
                actor_id=f"U{i % 3}",
                actor_identity=None,
                target="JS",
            )
        await log.close()

    asyncio.run(fill())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run.

    CPU time is printed too because wall time on a shared, loaded machine says more about
    the neighbours than about Resync.
    """
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"resync {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, _children_cpu() - cpu


def main() -> None:
    """Print the median wall time of each command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--imports", type=int, default=0, help="also show the N slowest imports")
    parser.add_argument(
        "--compile", action="store_true", help="no bytecode cache: every run compiles Resync"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        _small_log(data_dir)
        plain = _environment(data_dir, bytecode=None if args.compile else Path(tmp) / "pycache")
        with _running_engine(plain) as engine:
            print(
                f"{'command':<52} {'median':>8} {'min':>8} {'max':>8} {'cpu':>8}  "
                f"({args.runs} runs; cpu: median user+system; "
                f"{'compiled every run' if args.compile else 'bytecode cached'})"
            )
            for name, argv in COMMANDS:
                env = engine if name.endswith("(engine)") else plain
                if not args.compile:
                    _time_once(argv, env)  # unmeasured: writes the bytecode the runs read
                runs = [_time_once(argv, env) for _ in range(args.runs)]
                times = [wall for wall, _ in runs]
                cpu = statistics.median(used for _, used in runs)
                print(
                    f"{name:<52} {statistics.median(times):>7.3f}s {min(times):>7.3f}s "
                    f"{max(times):>7.3f}s {cpu:>7.3f}s"
                )
                if args.imports:
                    slowest, heavy = _imports(argv, env, args.imports)
                    print("    slowest imports: " + ", ".join(slowest))
                    print("    heavy libraries: " + (", ".join(heavy) or "none"))


if __name__ == "__main__":
    main()
