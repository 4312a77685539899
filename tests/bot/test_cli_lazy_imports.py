"""Building the ``resync`` parser imports none of the heavy libraries.

`resync --help` and the light commands (config, audit, incidents, runbooks) must not pay
for LangGraph, the LLM client, the chat SDKs, the vector store or plotting: those are
imported by the handlers that use them. Each check runs in a fresh interpreter, where
``sys.modules`` shows exactly what was imported.
"""

from __future__ import annotations

from pathlib import Path

from probe_support import clean_env, run_probe

HEAVY = ("langgraph", "litellm", "slack_bolt", "botbuilder", "chromadb", "matplotlib")

# Parses one command line per command family (handlers do not run), then `--help` through
# `main`, and prints which of the heavy top-level packages got imported.
_PROBE = """
import contextlib, io, json, sys
import bot.cli
parser = bot.cli.build_parser()
for argv in {argvs!r}:
    parser.parse_args(argv)
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    bot.cli.main(["--help"])
{extra}
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""

_ARGVS = [
    ["ask", "status of PAYROLL_EXTRACT"],
    ["demo"],
    ["serve", "--demo"],
    ["config", "show"],
    ["audit", "verify"],
    ["audit", "show", "--since", "2026-01-01"],
    ["incidents", "stats", "--since", "2026-01-01"],
    ["runbooks", "validate"],
    ["watch", "once", "--demo"],
]


def _imported_after(extra: str = "") -> list[str]:
    code = _PROBE.format(argvs=_ARGVS, heavy=HEAVY, extra=extra)
    env = clean_env("RESYNC_")
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    found: list[str] = run_probe(code, env=env)
    return found


def test_building_and_parsing_imports_no_heavy_library() -> None:
    assert _imported_after() == []


def test_the_probe_sees_heavy_libraries_once_the_runtime_is_imported() -> None:
    # The runtime (what `ask`, `demo` and `serve` run) does bring LangGraph in: the probe
    # above would notice a heavy import, it is not empty by construction.
    assert "langgraph" in _imported_after(extra="import bot.app")


def test_the_runtime_imports_what_a_command_starts_only_when_it_starts_it() -> None:
    # `resync ask` against an engine starts no simulator, no PostgreSQL checkpoints and no
    # LLM: `bot.app` imports those where it starts them (start-up time of `ask`). SQLAlchemy
    # and Alembic come with the incident database when it opens, the Slack SDK with a Slack
    # token, Redis with RESYNC_REDIS_URL, numpy with the watcher's first baseline or Monte
    # Carlo.
    probe = (
        "import json, sys\n"
        "import bot.app\n"
        "lazy = ('psycopg', 'langgraph.checkpoint.postgres.aio', 'integrations.tws.simulator',"
        " 'agents.llm_understand', 'litellm', 'sqlalchemy', 'alembic', 'slack_sdk', 'redis',"
        " 'numpy', 'agents.watch.risk')\n"
        "print(json.dumps([name for name in lazy if name in sys.modules]))\n"
    )
    assert run_probe(probe, env=clean_env("RESYNC_")) == []


# Runs `resync ask` in this interpreter (the bundled simulator in-process), then prints the
# exit code and which of the libraries a one-shot question should not need it imported.
_ASK_PROBE = """
import contextlib, io, json, sys
import bot.cli
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = bot.cli.main(["ask", "--demo", sys.argv[1]])
print(json.dumps({{"code": code, "answer": out.getvalue().splitlines()[0],
                  "imported": [name for name in {lazy!r} if name in sys.modules]}}))
"""

# What a question about the plan must not import: the vector store and its model, plotting,
# the LLM client, the incident database, chat SDKs, Redis, PostgreSQL, and numpy (the
# watcher's baselines and Monte Carlo).
_NOT_FOR_A_QUESTION = (
    "numpy",
    "chromadb",
    "matplotlib",
    "litellm",
    "sqlalchemy",
    "alembic",
    "slack_sdk",
    "slack_bolt",
    "botbuilder",
    "redis",
    "psycopg",
)


def _asked(tmp_path: Path, question: str) -> dict[str, object]:
    env = clean_env("RESYNC_", "SLACK_")
    env.update(RESYNC_DATA_DIR=str(tmp_path / "data"), RESYNC_SIM_SPEED="0")
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    result: dict[str, object] = run_probe(
        _ASK_PROBE.format(lazy=_NOT_FOR_A_QUESTION), question, env=env
    )
    return result


def test_asking_about_a_job_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    asked = _asked(tmp_path, "status of PAYROLL_EXTRACT")
    assert asked["code"] == 0
    assert "PAYROLL_EXTRACT is ABEND" in str(asked["answer"])  # the question was answered
    assert asked["imported"] == []


def test_asking_what_failed_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    asked = _asked(tmp_path, "what failed tonight?")
    assert asked["code"] == 0
    assert "failed in the current plan" in str(asked["answer"])
    assert asked["imported"] == []


def test_the_ask_probe_sees_numpy_once_a_question_needs_the_monte_carlo(tmp_path: Path) -> None:
    # Deadline risk is the watcher's Monte Carlo: the probe would notice numpy, so the
    # empty lists above are not empty by construction.
    asked = _asked(tmp_path, "which deadlines are at risk?")
    assert asked["code"] == 0
    assert "at risk" in str(asked["answer"])
    assert asked["imported"] == ["numpy"]
