"""Knowledge questions in Slack (mock Web API), Teams (fake Bot Connector) and the terminal.

The answers quote passages of the real knowledge base (chromadb in the test's temp dir:
the shipped corpus plus an operator's runbook added like `resync knowledge add` adds it)
with their sources; a question nothing answers says so and quotes nothing. The terminal
test runs `resync knowledge add` and `resync ask --demo` as processes on one data dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from langgraph.checkpoint.memory import InMemorySaver

_TESTS = Path(__file__).resolve().parents[1]
for _kit in ("bot", "bot/slack", "bot/teams"):  # the Slack and Teams kits
    if str(_TESTS / _kit) not in sys.path:
        sys.path.append(str(_TESTS / _kit))

from qa_support import API_KEY, NOW  # noqa: E402
from slack_support import assert_valid_blocks, slack_harness  # noqa: E402
from teams_support import assert_valid_card, card_of, message, running_bot  # noqa: E402

from agents.assistant import Assistant  # noqa: E402
from agents.knowledge_memory import KnowledgeDesk  # noqa: E402
from bot.core.dispatcher import Dispatcher  # noqa: E402
from integrations.tws.client import TWSClient  # noqa: E402
from integrations.tws.simulator import SimulatorServer  # noqa: E402
from knowledge.retrieval import KnowledgeBase  # noqa: E402

RUNBOOK = """# Payroll night runbook

## Restarting the SFTP gateway

The SFTP gateway sftp-gw01 carries the bank files. When transfers to the bank hang for
more than fifteen minutes, restart the gateway service with `systemctl restart sftpgw`
on sftp-gw01 and call the network team on extension 4471 before rerunning BANK_SEND.

## Month-end checklist

Before FINAL on the last day of the month, confirm with finance that the ledger is frozen.
"""
SFTP_QUESTION = "what does our runbook say about restarting the sftp gateway?"
NOTHING_QUESTION = "how do I fix my bicycle chain?"


@pytest.fixture
async def assistant(tmp_path: Path) -> AsyncIterator[Assistant]:
    runbook = tmp_path / "payroll-night.md"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    base = KnowledgeBase.open(directory=tmp_path / "kb")
    base.add_document(runbook)
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[API_KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY) as client,
    ):
        yield Assistant(
            knowledge=KnowledgeDesk.over(base),
            scheduler=client,
            checkpointer=InMemorySaver(),
            zone=ZoneInfo("UTC"),
        )


def _card_text(node: object) -> str:
    """Every text of a card, Teams' markdown escapes removed."""
    if isinstance(node, dict):
        return " ".join(_card_text(value) for value in node.values())
    if isinstance(node, list):
        return " ".join(_card_text(value) for value in node)
    return node.replace("\\", "") if isinstance(node, str) else ""


async def test_slack_answers_with_passages_and_their_sources(assistant: Assistant) -> None:
    async with slack_harness(dispatcher=Dispatcher(assistant=assistant, audit=None)) as slack:
        await slack.command("how do I fix ORA-01555?")
        await slack.settle()
        await slack.command(NOTHING_QUESTION, trigger="trig-2")
        await slack.settle()
        fix, nothing = slack.mock.of("chat.update")
    assert_valid_blocks(fix["blocks"])
    shown = json.dumps(fix["blocks"])
    assert "ORA-01555 snapshot too old" in shown
    assert "UNDO_RETENTION" in shown  # what to do, quoted from the guide
    assert "Source: Oracle errors in batch jobs &gt; ORA-01555 snapshot too old" in shown
    assert "knowledge/corpus/oracle-errors.md" in shown
    assert "ORA-12541" not in shown  # a passage about another code is not quoted
    quiet = json.dumps(nothing["blocks"])
    assert "I found nothing reliable on that in the knowledge base." in quiet
    assert "Source:" not in quiet  # nothing is quoted, nothing invented


async def test_teams_quotes_the_operators_runbook(assistant: Assistant, tmp_path: Path) -> None:
    async with running_bot(asker=assistant) as teams:
        await teams.post(message(SFTP_QUESTION, service_url=teams.connector.url))
        card = card_of((await teams.connector.wait_for(1, timeout=15))[-1].body)
        await teams.post(message("what does AWSFOO999E mean?", service_url=teams.connector.url))
        unknown = card_of((await teams.connector.wait_for(2, timeout=15))[-1].body)
    assert_valid_card(card)
    text = _card_text(card)
    assert "systemctl restart sftpgw" in text
    assert "extension 4471" in text
    assert "Source: Payroll night runbook > Restarting the SFTP gateway" in text
    assert str((tmp_path / "payroll-night.md").resolve()) in text
    assert "ledger is frozen" not in text  # the other section does not answer this
    assert "I found nothing reliable on that in the knowledge base." in _card_text(unknown)


def _resync(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
    env.update(RESYNC_DATA_DIR=str(data), RESYNC_SIM_SPEED="0")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data.parent,
        timeout=120,
        check=False,
    )


def test_terminal_answers_from_a_document_added_with_the_cli(tmp_path: Path) -> None:
    runbook = tmp_path / "payroll-night.md"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    data = tmp_path / "data"
    added = _resync("knowledge", "add", str(runbook), data=data)
    assert added.returncode == 0, added.stderr

    asked = _resync("ask", "--demo", SFTP_QUESTION, data=data)
    assert asked.returncode == 0, asked.stderr
    assert "systemctl restart sftpgw" in asked.stdout
    assert "Source: Payroll night runbook > Restarting the SFTP gateway" in asked.stdout
    assert str(runbook.resolve()) in asked.stdout

    code = _resync("ask", "--demo", "what does AWSBIN076E mean?", data=data)
    assert code.returncode == 0, code.stderr
    assert "AWSBIN076E: The action is not valid in the job's current state." in code.stdout
    assert "Source: HCL Workload Automation message codes > AWSBIN076E" in code.stdout
    assert "Traceback" not in added.stderr + asked.stderr + code.stderr
