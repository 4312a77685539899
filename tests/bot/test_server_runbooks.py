"""`serving` wires runbooks into the surfaces: decision handler, thread posters, recovery.

Checked through behaviour: progress posted through ``runtime.progress`` arrives at the mock
Slack and the fake Bot Connector; recovery rounds are awaited with a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import structlog.testing
from aiohttp import web
from slack_support import MockSlack, serve
from teams_support import (
    FakeConnector,
    RecordingAudit,
    actions,
    card_of,
    execute,
    message,
    texts,
)

from agents.messages import (
    Actions,
    Actor,
    Button,
    ChatEvent,
    Click,
    ClickOutcome,
    Platform,
    Reply,
)
from agents.runbooks.policy import SLACK_USERGROUP_PREFIX
from bot.core import texts as texts_
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.core.tasks import TaskSupervisor
from bot.directory import GroupDirectoryRouter
from bot.progress import ProgressRouter
from bot.runbook_clicks import RunbookDecisions
from bot.server import serving
from bot.teams.escape import escape_markdown
from config.settings import ConfigurationError, Settings
from integrations.store import MemoryStore


class FakeRunbooks:
    """Counts recover() rounds; the first one fails (the loop must go on)."""

    def __init__(self, *, wanted: int = 3) -> None:
        self.rounds = 0
        self._wanted = wanted
        self.enough = asyncio.Event()

    async def recover(self) -> list[str]:
        self.rounds += 1
        if self.rounds >= self._wanted:
            self.enough.set()
        if self.rounds == 1:
            raise RuntimeError("store down")
        return []


class RunbookCardAsker:
    """Answers every question with a runbook card (approve / reject buttons)."""

    async def ask(self, event: ChatEvent) -> Reply:
        return Reply(
            headline="Rerun PAYROLL_EXTRACT?",
            blocks=(
                Actions(
                    buttons=(
                        Button(action_id="runbook.approve", label="Approve", value="req-1"),
                        Button(action_id="runbook.reject", label="Reject", value="req-1"),
                    )
                ),
            ),
        )


def _runtime(settings: Settings, runbooks: FakeRunbooks, audit: RecordingAudit) -> Any:
    """The parts `serving` uses, with a click handler that records what reaches it."""
    decided: list[Click] = []

    async def decisions(click: Click) -> ClickOutcome | None:
        decided.append(click)
        return ClickOutcome(reply_for_clicker=Reply(headline="decided"))

    dispatcher = Dispatcher(
        assistant=RunbookCardAsker(), audit=audit, clicks={"runbook.": decisions}
    )
    store = MemoryStore()
    tasks = TaskSupervisor()
    core = ChatCore(dispatcher=dispatcher, store=store, audit=audit, tasks=tasks)
    progress = ProgressRouter()
    progress.use(core)
    return SimpleNamespace(
        settings=settings,
        dispatcher=dispatcher,
        core=core,
        tasks=tasks,
        audit=audit,
        store=store,
        runbooks=runbooks,
        progress=progress,
        directory=GroupDirectoryRouter(),
        scheduler=None,
        simulator=None,
        decided=decided,
        incidents=SimpleNamespace(attach=lambda port: None, service=QuietIncidents()),
    )


class QuietIncidents:
    """Incident upkeep with nothing to do (incidents are tested in tests/bot/incidents)."""

    async def recover(self) -> object:
        return None

    async def remind(self) -> list[str]:
        return []


@asynccontextmanager
async def _listening(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _recovery_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "runbooks-recover" and not t.done()]


async def test_serving_registers_posters_and_recovers_periodically() -> None:
    slack_api = MockSlack()
    connector = FakeConnector()
    await connector.start()
    runbooks = FakeRunbooks()
    async with serve(slack_api.app()) as slack_url:
        settings = Settings(
            slack_bot_token="xoxb-test",
            slack_signing_secret="secret",
            slack_api_url=slack_url + "/api",
            teams_allow_unauthenticated=True,
            _env_file=None,  # type: ignore[call-arg]
        )
        runtime = _runtime(settings, runbooks, RecordingAudit())
        try:
            async with (
                serving(runtime, recover_interval_seconds=0.01) as app,
                _listening(app) as url,
                aiohttp.ClientSession() as session,
            ):
                routes = {r.resource.canonical for r in app.router.routes() if r.resource}
                assert {"/slack/events", "/api/messages"} <= routes
                assert runtime.directory.prefixes() == [SLACK_USERGROUP_PREFIX]

                # Slack progress reaches the requester's thread at Slack.
                await runtime.progress(
                    Reply(headline="Step 1 of 2 done"),
                    request_id="req-s",
                    platform="slack",
                    channel="C1",
                    thread="1700000000.000100",
                )
                (posted,) = slack_api.of("chat.postMessage")
                assert (posted["channel"], posted["thread_ts"]) == ("C1", "1700000000.000100")
                assert "Step 1 of 2 done" in posted["text"]

                # Teams progress reaches the conversation the bot was installed in.
                installed = message("-", service_url=connector.url)
                installed["type"] = "conversationUpdate"
                async with session.post(f"{url}/api/messages", json=installed) as response:
                    assert response.status == 200
                await runtime.progress(
                    Reply(headline="Rerun succeeded"),
                    request_id="req-t",
                    platform="teams",
                    channel="a:personal-chat",
                    thread=None,
                )
                (sent,) = await connector.wait_for(1)
                assert sent.conversation_id == "a:personal-chat"
                assert card_of(sent.body)["body"][0]["text"] == "Rerun succeeded"

                # Recovery keeps going after a failing first round.
                await asyncio.wait_for(runbooks.enough.wait(), timeout=5)
                assert _recovery_tasks()
            assert not _recovery_tasks()  # cancelled on exit
        finally:
            await connector.stop()


async def test_unauthenticated_teams_never_reaches_runbook_decisions() -> None:
    connector = FakeConnector()
    await connector.start()
    audit = RecordingAudit()
    settings = Settings(teams_allow_unauthenticated=True, _env_file=None)  # type: ignore[call-arg]
    runtime = _runtime(settings, FakeRunbooks(), audit)
    try:
        with structlog.testing.capture_logs() as logs:
            async with (
                serving(runtime, recover_interval_seconds=60) as app,
                _listening(app) as url,
                aiohttp.ClientSession() as session,
            ):
                assert any(e["event"] == "serve.TEAMS_UNAUTHENTICATED" for e in logs)
                ask = message(
                    "rerun payroll", service_url=connector.url, activity_id="q1", user_id="29:eve"
                )
                async with session.post(f"{url}/api/messages", json=ask) as response:
                    assert response.status == 200
                (posted,) = await connector.wait_for(1)
                approve = next(
                    a for a in actions(card_of(posted.body)) if a["verb"] == "runbook.approve"
                )
                click = execute(
                    action=approve,
                    service_url=connector.url,
                    card_message_id="act-1000",
                    activity_id="i1",
                    user_id="29:eve",
                    aad="aad-boss",  # unsigned claims: ignored
                    name="The Boss",
                )
                click["from"]["email"] = "boss@contoso.com"
                async with session.post(f"{url}/api/messages", json=click) as response:
                    assert response.status == 200
                    shown = (await response.json())["value"]
                assert escape_markdown(texts_.APPROVALS_NEED_AUTH.headline) in texts(shown)
                await runtime.tasks.drain()
                (record,) = audit.of("chat.click")
                assert record["outcome"] == "accepted"
                assert record["actor_identity"] == "teams:29:eve"  # unsigned claims ignored
                assert runtime.decided == []  # the click handler never saw it
                assert not audit.of("click")  # nor did the dispatcher
    finally:
        await connector.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "resync.example.com"])  # noqa: S104
async def test_unauthenticated_teams_is_refused_on_a_non_loopback_host(host: str) -> None:
    settings = Settings(
        teams_allow_unauthenticated=True,
        host=host,
        _env_file=None,  # type: ignore[call-arg]
    )
    runtime = _runtime(settings, FakeRunbooks(), RecordingAudit())
    with pytest.raises(ConfigurationError) as refused:
        async with serving(runtime):
            pytest.fail("served unauthenticated Teams on a public address")
    assert "RESYNC_TEAMS_APP_ID" in str(refused.value)
    assert "loopback" in str(refused.value)
    assert not _recovery_tasks()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
async def test_unauthenticated_teams_is_served_on_loopback(host: str) -> None:
    settings = Settings(
        teams_allow_unauthenticated=True,
        host=host,
        _env_file=None,  # type: ignore[call-arg]
    )
    async with serving(_runtime(settings, FakeRunbooks(), RecordingAudit())) as app:
        assert "/api/messages" in {r.resource.canonical for r in app.router.routes() if r.resource}


async def test_authenticated_teams_may_listen_anywhere() -> None:
    settings = Settings(
        teams_app_id="00000000-aaaa-bbbb-cccc-000000000001",
        teams_allow_unauthenticated=True,  # irrelevant with an app id
        host="0.0.0.0",  # noqa: S104
        _env_file=None,  # type: ignore[call-arg]
    )
    async with serving(_runtime(settings, FakeRunbooks(), RecordingAudit())) as app:
        assert "/api/messages" in {r.resource.canonical for r in app.router.routes() if r.resource}


def test_runbook_decisions_ignores_other_buttons() -> None:
    handler = RunbookDecisions(service=None)  # type: ignore[arg-type]
    decision = Click(
        decision_id="d",
        action_id="approval.approve",
        value="x",
        label="Approve",
        actor=Actor(platform=Platform.SLACK, user_id="U1", display_name="A"),
        channel_id="C1",
    )
    assert asyncio.run(handler(decision)) is None
