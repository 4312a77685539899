"""`serving` wires runbooks into the surfaces: decision handler, thread posters, recovery."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from agents.runbooks.policy import SLACK_USERGROUP_PREFIX
from bot.decisions import Decision
from bot.directory import GroupDirectoryRouter
from bot.dispatch import Dispatcher
from bot.messages import Actor, Platform, Reply
from bot.progress import ProgressRouter
from bot.runbook_clicks import RunbookDecisions
from bot.server import serving
from config.settings import Settings
from integrations.store import MemoryStore


class FakeRunbooks:
    """Counts recover() rounds; the first one fails (the loop must go on)."""

    def __init__(self) -> None:
        self.rounds = 0

    async def recover(self) -> list[str]:
        self.rounds += 1
        if self.rounds == 1:
            raise RuntimeError("store down")
        return []


class NoAsker:
    async def ask(self, event: Any) -> Reply:
        return Reply(headline="-")


async def test_serving_registers_posters_and_recovers_periodically() -> None:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        teams_allow_unauthenticated=True,
        _env_file=None,  # type: ignore[call-arg]
    )
    audit = SimpleNamespace(record=lambda **_: asyncio.sleep(0))
    runbooks = FakeRunbooks()
    progress = ProgressRouter()
    directory = GroupDirectoryRouter()
    runtime: Any = SimpleNamespace(
        settings=settings,
        dispatcher=Dispatcher(assistant=NoAsker(), audit=None),
        audit=audit,
        store=MemoryStore(),
        runbooks=runbooks,
        progress=progress,
        directory=directory,
        scheduler=None,
        simulator=None,
    )
    async with serving(runtime, recover_interval_seconds=0.01) as app:
        await asyncio.sleep(0.1)
        assert set(progress._posters) == {"slack", "teams"}
        assert directory.prefixes() == [SLACK_USERGROUP_PREFIX]  # Slack user groups resolvable
        assert runbooks.rounds >= 3  # kept going after the failing first round
        routes = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
        assert {"/slack/events", "/api/messages"} <= routes
    rounds = runbooks.rounds
    await asyncio.sleep(0.05)
    assert runbooks.rounds == rounds  # cancelled on exit


def test_runbook_decisions_ignores_other_buttons() -> None:
    handler = RunbookDecisions(service=None)  # type: ignore[arg-type]
    decision = Decision(
        decision_id="d",
        action_id="approval.approve",
        value="x",
        label="Approve",
        actor=Actor(platform=Platform.SLACK, user_id="U1", display_name="A"),
        channel_id="C1",
    )
    assert asyncio.run(handler(decision)) is None
