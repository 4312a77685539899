"""Alerts through the real adapters: the Slack surface on a mock Web API that accepts file
uploads, the Teams surface on the fake Bot Connector, the real chat core and dispatcher
(``watch.`` and ``runbook.`` clicks routed as ``resync serve`` routes them), the real
runbook service on the simulator, and an incident service on SQLite.

Findings are built by hand (they are plain data). Imported by name:
``from watch_alerts_support import ...``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

_TESTS = Path(__file__).resolve().parents[1]
for _kit in ("bot", "bot/slack", "bot/teams"):
    if str(_TESTS / _kit) not in sys.path:
        sys.path.append(str(_TESTS / _kit))

from incident_chat_support import Rooms  # noqa: E402
from runbook_stack import AuditTrail, Stack, runbook_stack  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from slack_support import (  # noqa: E402
    SECRET,
    EchoAsker,
    MockSlack,
    click_body,
    serve,
    signed_headers,
)
from teams_support import CHANNEL, card_of, execute, installed, running_bot, texts  # noqa: E402
from teams_support import Harness as TeamsHarness  # noqa: E402

from agents.incidents import IncidentPolicy, IncidentService  # noqa: E402
from agents.runbooks.policy import ApprovalGroups  # noqa: E402
from agents.watch.model import ChartData, Finding, FindingKind, Severity, WatchReport  # noqa: E402
from bot.core.conversation import ChatCore  # noqa: E402
from bot.core.dispatcher import Dispatcher  # noqa: E402
from bot.runbook_clicks import RunbookDecisions  # noqa: E402
from bot.slack import SlackSurface  # noqa: E402
from bot.watch.publisher import AlertPublisher  # noqa: E402
from bot.watch.wiring import WATCH_ACTION_PREFIX, WatchAlerts, build_watch_alerts  # noqa: E402
from config.settings import Settings  # noqa: E402
from integrations.db import open_database  # noqa: E402
from integrations.store import MemoryStore  # noqa: E402

__all__ = ["CHANNEL", "card_of", "execute", "texts"]  # re-exported Teams kit helpers

ALERTS = "CALERTS"
PLAN = date(2026, 11, 23)
AS_OF = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def durations(title: str = "PAYROLL_EXTRACT minutes") -> ChartData:
    history = tuple((PLAN - timedelta(days=14 - i), 18.0 + (i % 5)) for i in range(14))
    return ChartData(kind="durations", title=title, history=history, band=(18, 24), tonight=47)


def slow(
    name: str = "PAYROLL_EXTRACT",
    *,
    explanation: str = "47 min so far; usually 18–24 min (14 runs)",
    severity: Severity = Severity.WARNING,
    job_id: str | None = "J-EXTRACT",
    chart: ChartData | None = None,
) -> Finding:
    """A job running long (its key: ``slow_running:<id>:2026-11-23``)."""
    return Finding(
        kind=FindingKind.SLOW_RUNNING,
        object_id=job_id or name,
        object_name=f"PAYROLL_DAILY.{name}",
        plan_date=PLAN,
        severity=severity,
        headline=f"{name} is running long",
        explanation=explanation,
        evidence=("started 22:13", "log: <!channel> waiting for *lock* `db`"),
        job_id=job_id,
        chart=chart if chart is not None else durations(),
    )


def risk(
    probability: float,
    *,
    deadline: datetime | None = None,
    eta_min: float = 95,
    lead_min: int = 120,
) -> Finding:
    """GL_CLOSE's deadline at risk with a forecast chart (``lead_min`` min to go)."""
    samples = tuple(60.0 + (i * 7) % 90 for i in range(400))
    return Finding(
        kind=FindingKind.DEADLINE_RISK,
        object_id="J-GL",
        object_name="FINANCE.GL_CLOSE",
        plan_date=PLAN,
        severity=Severity.CRITICAL,
        headline="GL_CLOSE may miss its 01:00 deadline",
        explanation=f"{probability:.0%} chance to end after 01:00; {lead_min} min to the deadline",
        probability=probability,
        eta=AS_OF + timedelta(minutes=eta_min),
        deadline=deadline or AS_OF + timedelta(minutes=120),
        chain=("PAYROLL_EXTRACT", "GL_POST", "GL_CLOSE"),
        job_id="J-GL",
        chart=ChartData(kind="forecast", title="GL_CLOSE end", samples=samples, deadline=120),
    )


def report(*findings: Finding, as_of: datetime = AS_OF) -> WatchReport:
    return WatchReport(as_of=as_of, plan_date=PLAN, findings=findings)


@dataclass
class Clock:
    """The alert book's clock (server time), moved by tests."""

    now: datetime = AS_OF

    def __call__(self) -> datetime:
        return self.now


@dataclass
class UploadSlack(MockSlack):
    """`MockSlack` that also takes file uploads the way Slack does (upload URL, then complete)."""

    uploads: dict[str, bytes] = field(default_factory=dict)
    _files: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/upload/{file}", self._upload)
        return app

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file"]] = await request.read()
        return web.Response(text="OK")

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):04d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"]} for f in args.get("files", [])]}
        answer = super()._answer(method, args)
        if method == "chat.postMessage":
            args["_ts"] = answer["ts"]  # what Slack answered: tests click on this message
        return answer

    def posts(self) -> list[dict[str, Any]]:
        return self.of("chat.postMessage")

    def top_level(self) -> list[dict[str, Any]]:
        """Alerts, digests and notices: posts in the alerts channel outside threads."""
        return [p for p in self.posts() if p["channel"] == ALERTS and not p.get("thread_ts")]


def _settings(**extra: Any) -> Settings:
    return Settings(_env_file=None, **extra)  # type: ignore[call-arg]


async def _incidents(tmp_path: Path, audit: AuditTrail) -> tuple[IncidentService, Any]:
    db = await open_database(None, data_dir=tmp_path)
    service = IncidentService(
        db=db,
        rooms=Rooms(),
        audit=audit,
        store=MemoryStore(),
        policy=IncidentPolicy(retry_seconds=0),
        groups=ApprovalGroups({"incident-managers": ["manager@example.com"]}),
        zone=UTC,
    )
    return service, db


@dataclass
class SlackAlerts:
    """Slack side: the mock, the surface's HTTP endpoint, and the alert parts."""

    mock: UploadSlack
    url: str
    session: aiohttp.ClientSession
    surface: SlackSurface
    alerts: WatchAlerts
    clock: Clock
    stack: Stack
    audit: AuditTrail
    incidents: IncidentService
    _n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def publisher(self) -> AlertPublisher:
        assert isinstance(self.alerts.publisher, AlertPublisher)
        return self.alerts.publisher

    async def click(
        self, action_id: str, value: str, *, ts: str, user: str = "U1", channel: str = ALERTS
    ) -> None:
        """Click a button on the message ``ts`` in ``channel`` (the alerts one), as ``user``."""
        n = next(self._n)
        body = click_body(
            action_id=action_id,
            value=value,
            message={"ts": ts},
            user=user,
            channel=channel,
            trigger=f"trig-{n}",
            action_ts=f"1700000009.{n}",
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(body, secret=SECRET),
        }
        async with self.session.post(self.url + "/slack/events", data=body, headers=headers) as r:
            assert r.status == 200, await r.text()
        await self.surface.drain()


@asynccontextmanager
async def slack_alerts(tmp_path: Path, *, per_hour: int = 20) -> AsyncIterator[SlackAlerts]:
    """Slack with alerts in ``CALERTS``, on the real core, runbooks on the simulator."""
    mock = UploadSlack()
    clock = Clock()
    async with runbook_stack() as stack, serve(mock.app()) as mock_url:
        mock.url = mock_url
        audit, store = stack.audit, MemoryStore(clock=lambda: clock.now.timestamp())
        incidents, db = await _incidents(tmp_path, audit)
        settings = _settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=SECRET,
            slack_api_url=mock_url + "/api",
            alerts_slack_channel=ALERTS,
            alerts_per_hour=per_hour,
        )
        client = AsyncWebClient(token="xoxb-test-token", base_url=mock_url + "/api/")
        dispatcher = Dispatcher(assistant=EchoAsker(), audit=audit)
        core = ChatCore(dispatcher=dispatcher, store=store, audit=audit)
        surface = SlackSurface(settings=settings, core=core, store=store, client=client)
        alerts = build_watch_alerts(
            settings=settings,
            store=store,
            audit=audit,
            runbooks=stack.service,
            incidents=incidents,
            ports={"slack": surface.port},
        )
        assert isinstance(alerts.publisher, AlertPublisher)
        alerts.publisher.book.clock = clock
        dispatcher.route_clicks(WATCH_ACTION_PREFIX, alerts.clicks)
        dispatcher.route_clicks("runbook.", RunbookDecisions(stack.service, audit=audit))
        app = web.Application()
        surface.mount(app)
        async with serve(app) as url, aiohttp.ClientSession() as session:
            await surface.start()
            try:
                yield SlackAlerts(
                    mock, url, session, surface, alerts, clock, stack, audit, incidents
                )
            finally:
                await core.tasks.stop()
                await surface.stop()
                await db.close()


@asynccontextmanager
async def teams_alerts() -> AsyncIterator[tuple[TeamsHarness, WatchAlerts]]:
    """Teams with alerts in the channel the app is installed in (``teams_support.CHANNEL``)."""
    async with running_bot() as bot:
        assert (await bot.post(installed(bot.connector.url))).status == 200
        alerts = build_watch_alerts(
            settings=_settings(alerts_teams_channel=CHANNEL),
            store=bot.store,
            audit=bot.audit,  # type: ignore[arg-type]
            runbooks=None,
            incidents=None,
        )
        alerts.attach(bot.surface.port)
        bot.core.dispatcher.route_clicks(WATCH_ACTION_PREFIX, alerts.clicks)
        yield bot, alerts


def new_posts(bot: TeamsHarness) -> list[tuple[str, dict[str, Any]]]:
    """(channel, activity) of every new channel post (``POST /v3/conversations``), in order."""
    return [
        (str(c.body["channelData"]["channel"]["id"]), c.body["activity"])
        for c in bot.connector.calls
        if c.method == "POST" and c.path == "/v3/conversations"
    ]
