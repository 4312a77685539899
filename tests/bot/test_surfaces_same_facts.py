"""One question on Slack and on Teams, one dispatcher behind both: the same facts on each."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from langgraph.checkpoint.memory import InMemorySaver
from slack_support import assert_valid_blocks, slack_harness
from teams_support import assert_valid_card, card_of, message, running_bot

from agents.assistant import Assistant
from bot.core.dispatcher import Dispatcher
from integrations.tws.client import TWSClient
from integrations.tws.models import FAILED_STATUSES
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)


def card_texts(node: object) -> str:
    """Every text of a card, markdown escapes removed (Teams escapes `_` as `\\_`)."""
    if isinstance(node, dict):
        return " ".join(card_texts(value) for value in node.values())
    if isinstance(node, list):
        return " ".join(card_texts(value) for value in node)
    return re.sub(r"\\(.)", r"\1", node) if isinstance(node, str) else ""


async def test_what_failed_tonight_is_the_same_on_slack_and_teams() -> None:
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as client,
    ):
        failed = {
            job.name for job in (await client.query_jobs(statuses=sorted(FAILED_STATUSES))).value
        }
        assistant = Assistant(scheduler=client, checkpointer=InMemorySaver(), zone=UTC)

        async with slack_harness(dispatcher=Dispatcher(assistant=assistant, audit=None)) as slack:
            await slack.command("what failed tonight?")
            await slack.settle()
            (answer,) = slack.mock.of("chat.update")
            assert_valid_blocks(answer["blocks"])
            slack_text = json.dumps(answer["blocks"])

        async with running_bot(asker=assistant) as teams:
            await teams.post(message("what failed tonight?", service_url=teams.connector.url))
            card = card_of((await teams.connector.wait_for(1, timeout=15))[-1].body)
            assert_valid_card(card)
            teams_text = card_texts(card)

    headline = f"{len(failed)} jobs failed in the current plan"
    assert headline in slack_text
    assert headline in teams_text
    for name in failed:
        assert name in slack_text
        assert name in teams_text
    as_of = "As of Mon 23 Nov 23:30 UTC"
    assert as_of in slack_text
    assert as_of in teams_text
