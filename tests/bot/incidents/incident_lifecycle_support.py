"""The whole incident stack behind one chat platform, for the lifecycle scenario.

The real Assistant over the simulator (HTTP), a real `IncidentService` on SQLite, the real
rooms of the platform (Slack: `SlackRooms` against `ChannelSlack`; Teams: `TeamsRooms` in an
installed channel), a `PagerDutyPager` against the local Events API mock, and the real
surface (signed slash commands / signed activities). Runbooks are wired as `bot.app` wires
them: the shipped catalog, ``runbook.`` clicks through `RunbookDecisions`, progress through
`ProgressRouter` wrapped in `IncidentProgress` (onto the timeline of the incident whose room
it is). A `Room` sends what a person types, clicks Approve as the second person (Slack U2,
Teams Bob), and reads back what people saw.

Imported by name (tests have no packages): ``from incident_lifecycle_support import ...``.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from chat_incident_support import ChannelSlack
from langgraph.checkpoint.memory import InMemorySaver
from slack_sdk.web.async_client import AsyncWebClient
from slack_support import (
    SECRET,
    RecordingAudit,
    click_body,
    command_body,
    serve,
    signed_headers,
)
from teams_support import (
    CHANNEL,
    actions,
    card_of,
    execute,
    installed,
    mention_of_bot,
    message,
    running_bot,
)

from agents.assistant import Assistant
from agents.incidents import IncidentPolicy, IncidentService
from agents.messages import ChatEvent, Reply
from agents.runbooks.catalog import load_catalog
from agents.runbooks.journal import CardPlace
from agents.runbooks.policy import ApprovalGroups
from agents.runbooks.service import RunbookService
from agents.runbooks.signing import ButtonSigner
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.incidents.rooms import RoomsRouter
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.rooms_teams import TeamsRooms
from bot.incidents.slack_api import SlackApi
from bot.incidents.timeline import IncidentProgress
from bot.progress import ProgressRouter
from bot.runbook_clicks import RunbookDecisions
from bot.slack import SlackSurface
from config.settings import Settings
from integrations.db import open_database
from integrations.pager import PagerDutyPager, RetryPolicy
from integrations.store import MemoryStore
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

# tests/integrations/pager holds the Events API mock (imported by name, like the chat kits).
_PAGER = str(Path(__file__).resolve().parents[2] / "integrations" / "pager")
if _PAGER not in sys.path:
    sys.path.append(_PAGER)

from pager_support import EventsApi, events_api  # noqa: E402

ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # PAYROLL_EXTRACT has failed in "normal"
ORIGIN = "C1"  # the Slack channel the incident is declared in
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, timeout=5)
SIGNING_KEY = b"lifecycle-test-signing-key-0123456789"
# Who may approve runbooks: the second person of each platform (Slack U2, Teams Bob).
APPROVERS = ApprovalGroups({"tws-operators": ["u2@example.com", "bob@contoso.com"]})


def shown(node: object) -> str:
    """Every text of a message (blocks or card), markup escapes undone, as one string."""
    if isinstance(node, dict):
        return " ".join(shown(v) for k, v in node.items() if k not in {"type", "url"})
    if isinstance(node, list):
        return " ".join(shown(v) for v in node)
    if isinstance(node, str):
        return html.unescape(re.sub(r"\\(.)", r"\1", node))
    return ""


@dataclass
class Clock:
    """The service's clock: fixed, moved by the scenario."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


class LateAsker:
    """The assistant, set once the surface (and so the Teams port) exists."""

    def __init__(self) -> None:
        self.assistant: Assistant | None = None

    async def ask(self, event: ChatEvent) -> Reply:
        assert self.assistant is not None
        return await self.assistant.ask(event)


@dataclass
class Room:
    """One platform, the whole stack behind it."""

    platform: str
    service: IncidentService
    audit: RecordingAudit
    pager: EventsApi
    clock: Clock
    slack: ChannelSlack | None = None
    teams: Any = None  # teams_support.Harness
    session: aiohttp.ClientSession | None = None
    url: str = ""
    surface: Any = None
    _n: int = 0
    room: tuple[str, str | None] | None = field(default=None)  # (channel, thread)

    # --- what a person does ---------------------------------------------------------------

    async def say(self, text: str, *, in_room: bool) -> None:
        """Type ``text`` (the declaration's place, or the incident's room) and wait."""
        self._n += 1
        if self.platform == "slack":
            assert self.session is not None
            assert self.slack is not None
            channel = self.room[0] if in_room and self.room else ORIGIN
            body = command_body(
                text,
                user="U1",
                channel=channel,
                trigger=f"trig-{self._n}",
                response_url=self.slack.url + f"/response/r{self._n}",
            )
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                **signed_headers(body, secret=SECRET),
            }
            async with self.session.post(
                self.url + "/slack/events", data=body, headers=headers
            ) as response:
                assert response.status == 200, await response.text()
            await self.surface.drain()
            return
        bot = self.teams
        if in_room:
            assert self.room is not None
            channel, thread = self.room
            activity = message(
                f"<at>Resync</at> {text}",
                service_url=bot.connector.url,
                conversation_id=f"{channel};messageid={thread}",
                conversation_type="channel",
                entities=[mention_of_bot()],
            )
        else:
            activity = message(text, service_url=bot.connector.url)
        response = await bot.post(activity)
        assert response.status == 200
        await bot.surface.drain()

    async def approve_runbook(self) -> None:
        """The second person clicks Approve on the runbook card in the room; wait for the run."""
        self._n += 1
        if self.platform == "slack":
            assert self.session is not None
            assert self.slack is not None
            assert self.room is not None
            [(ts, blocks, approve)] = [
                (str(c.args["ts"]), c.args["blocks"], element)
                for c in self.slack.calls
                if c.method == "chat.update" and c.args.get("channel") == self.room[0]
                for block in _blocks(c.args.get("blocks"))
                if block.get("type") == "actions"
                for element in block["elements"]
                if str(element.get("action_id", "")).startswith("runbook.approve")
            ][-1:]
            body = click_body(
                action_id=approve["action_id"],
                value=approve["value"],
                message={"ts": ts, "blocks": blocks},
                user="U2",
                channel=self.room[0],
                trigger=f"approve-{self._n}",
            )
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                **signed_headers(body, secret=SECRET),
            }
            async with self.session.post(
                self.url + "/slack/events", data=body, headers=headers
            ) as response:
                assert response.status == 200, await response.text()
            await self.surface.drain()
            return
        bot = self.teams
        connector = bot.connector
        # The connector numbers what it accepts (sends and new threads) from 1000, in order.
        numbered = [
            c
            for c in connector.calls
            if c.method == "POST"
            and (c.path == "/v3/conversations" or "/activities" in c.path)
            and c.body.get("type") != "typing"
        ]
        [(number, approve)] = [
            (n, action)
            for n, call in enumerate(numbered)
            if call.conversation_id == self.conversation and "/activities" in call.path
            for action in actions(card_of(call.body))
            if action.get("verb") == "runbook.approve"
        ][-1:]
        invoke = execute(
            action=approve,
            service_url=connector.url,
            card_message_id=f"act-{1000 + number}",
            conversation_id=self.conversation,
            user_id="29:bob",
            aad="aad-bob",
            name="Bob Jones",
        )
        response = await bot.post(invoke)
        assert response.status == 200
        await bot.surface.drain()

    # --- what people saw ------------------------------------------------------------------

    def posts(self, channel: str | None = None) -> list[tuple[str, str]]:
        """(where, text) of everything posted or updated for everyone, in order."""
        if self.platform == "slack":
            assert self.slack is not None
            out = []
            for call in self.slack.calls:
                if call.method in ("chat.postMessage", "chat.update"):
                    where = str(call.args.get("channel"))
                    text = shown(call.args.get("blocks") or call.args.get("text"))
                    if "Looking up" not in text and (channel is None or where == channel):
                        out.append((where, text))
            return out
        out = []
        for call in self.teams.connector.calls:
            if call.body.get("type") == "typing" or call.method not in ("POST", "PUT"):
                continue
            if call.path == "/v3/conversations":
                where, body = str(call.body["channelData"]["channel"]["id"]), call.body["activity"]
            elif "/activities" in call.path:
                where, body = str(call.conversation_id), call.body
            else:
                continue
            if channel is None or where.startswith(channel):
                out.append((where, shown(card_of(body))))
        return out

    def texts(self, channel: str | None = None) -> list[str]:
        """The texts of `posts`."""
        return [text for _, text in self.posts(channel)]

    @property
    def conversation(self) -> str:
        """The incident's room as the platform addresses it (Teams: the thread)."""
        assert self.room is not None
        channel, thread = self.room
        return channel if self.platform == "slack" else f"{channel};messageid={thread}"

    def in_room(self) -> list[str]:
        """What was posted (or updated) in the incident's room, in order."""
        return [text for where, text in self.posts() if where == self.conversation]

    def edits(self, message_id: str) -> list[str]:
        """The texts ``message_id`` was replaced with, in place, in order."""
        if self.platform == "slack":
            assert self.slack is not None
            return [
                shown(call.args.get("blocks") or call.args.get("text"))
                for call in self.slack.calls
                if call.method == "chat.update" and call.args.get("ts") == message_id
            ]
        return [
            shown(card_of(call.body))
            for call in self.teams.connector.activities("PUT")
            if call.activity_id == message_id
        ]

    def actions(self, action: str) -> list[dict[str, Any]]:
        """The audit records of ``action``."""
        return [r for r in self.audit.records if r["action"] == action]


class LateProgress:
    """The runbooks' progress sink, pointed at the incident-aware sink once it exists."""

    def __init__(self) -> None:
        self.target: IncidentProgress | None = None

    async def __call__(
        self,
        reply: Reply,
        *,
        request_id: str,
        platform: str,
        channel: str | None,
        thread: str | None,
    ) -> None:
        assert self.target is not None
        await self.target(
            reply, request_id=request_id, platform=platform, channel=channel, thread=thread
        )

    async def replace_card(
        self, reply: Reply, *, request_id: str, card: CardPlace, version: int
    ) -> bool:
        assert self.target is not None
        return await self.target.replace_card(
            reply, request_id=request_id, card=card, version=version
        )


def _runbooks(client: TWSClient, audit: Any, progress: LateProgress) -> RunbookService:
    """The shipped catalog, as `bot.app` wires it (progress also onto incident timelines)."""
    return RunbookService(
        catalog=load_catalog([]),
        groups=APPROVERS,
        scheduler=client,
        store=MemoryStore(),
        checkpointer=InMemorySaver(),
        signer=ButtonSigner(SIGNING_KEY),
        audit=audit,
        progress=progress,
        poll_seconds=0.01,
    )


def _blocks(value: object) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []


def _assistant(
    client: TWSClient, service: IncidentService, runbooks: RunbookService | None = None
) -> Assistant:
    return Assistant(
        scheduler=client,
        checkpointer=InMemorySaver(),
        zone=ZONE,
        incidents=service,
        runbooks=runbooks,
    )


def _service(
    db: Any, router: RoomsRouter, audit: Any, store: MemoryStore, pager: Any, clock: Clock, tws: Any
) -> IncidentService:
    return IncidentService(
        db=db,
        rooms=router,
        audit=audit,
        store=store,
        pager=pager,
        policy=IncidentPolicy(retry_seconds=0),
        scheduler=tws,
        zone=ZONE,
        source=tws.source,
        clock=clock,
    )


@asynccontextmanager
async def incident_room(platform: str, tmp_path: Path) -> AsyncIterator[Room]:
    """The stack for ``platform`` (``slack`` or ``teams``)."""
    clock = Clock()
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=["k"]) as sim,
        TWSClient(base_url=sim.url, api_key="k") as tws,
        events_api() as api,
    ):
        pager = PagerDutyPager(routing_key="R0UTING", base_url=api.url, policy=FAST)
        db = await open_database(None, data_dir=tmp_path)
        try:
            if platform == "slack":
                async with _slack(db, pager, api, clock, tws) as room:
                    yield room
            else:
                async with _teams(db, pager, api, clock, tws) as room:
                    yield room
        finally:
            await pager.close()
            await db.close()


@asynccontextmanager
async def _slack(
    db: Any, pager: PagerDutyPager, api: EventsApi, clock: Clock, tws: TWSClient
) -> AsyncIterator[Room]:
    mock = ChannelSlack()
    async with serve(mock.app()) as mock_url:
        mock.url = mock_url
        audit, store, router = RecordingAudit(), MemoryStore(), RoomsRouter()
        service = _service(db, router, audit, store, pager, clock, tws)
        client = AsyncWebClient(token="xoxb-test-token", base_url=mock_url + "/api/")
        router.register(
            SlackRooms(api=SlackApi(client), store=store, zone=ZONE, lookup=service.get)
        )
        late, router_progress = LateProgress(), ProgressRouter()
        late.target = IncidentProgress(router_progress, service)
        runbooks = _runbooks(tws, audit, late)
        dispatcher = Dispatcher(
            assistant=_assistant(tws, service, runbooks),
            audit=audit,
            clicks={"runbook.": RunbookDecisions(runbooks, audit=audit)},
        )
        core = ChatCore(dispatcher=dispatcher, store=store, audit=audit)
        router_progress.use(core)
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=SECRET,
            slack_api_url=mock_url + "/api",
            _env_file=None,
        )
        surface = SlackSurface(settings=settings, core=core, store=store, client=client)
        app = web.Application()
        surface.mount(app)
        router_progress.register(surface.port)
        async with serve(app) as url, aiohttp.ClientSession() as session:
            await surface.start()
            try:
                yield Room(
                    platform="slack",
                    service=service,
                    audit=audit,
                    pager=api,
                    clock=clock,
                    slack=mock,
                    session=session,
                    url=url,
                    surface=surface,
                )
            finally:
                await core.tasks.stop()
                await surface.stop()


@asynccontextmanager
async def _teams(
    db: Any, pager: PagerDutyPager, api: EventsApi, clock: Clock, tws: TWSClient
) -> AsyncIterator[Room]:
    asker, late, router_progress = LateAsker(), LateProgress(), ProgressRouter()
    runbooks = _runbooks(tws, RecordingAudit(), late)
    decisions = RunbookDecisions(runbooks)
    async with running_bot(asker=asker, decisions=decisions, decision_wait_seconds=8) as bot:
        # The app is installed in the incidents channel: the bot stores its reference.
        assert (await bot.post(installed(bot.connector.url))).status == 200
        router = RoomsRouter()
        service = _service(db, router, bot.audit, bot.store, pager, clock, tws)
        router.register(TeamsRooms(port=bot.surface.port, store=bot.store, channel=CHANNEL))
        late.target = IncidentProgress(router_progress, service)
        router_progress.use(bot.core)
        router_progress.register(bot.surface.port)
        asker.assistant = _assistant(tws, service, runbooks)
        yield Room(
            platform="teams",
            service=service,
            audit=bot.audit,
            pager=api,
            clock=clock,
            teams=bot,
        )
