"""Three Resync replicas behind one Slack workspace, on the real Redis and PostgreSQL.

Each `Replica` is a whole chat stack of its own: a `RedisStore` connection (one key prefix
shared by the three, as replicas share one Redis), an incident database engine on one
PostgreSQL schema, an `IncidentService`, `SlackRooms` with their own Web API client, the
chat core with the ``incident.`` click handler (the agent side's real
``declare_from_button``), and a `SlackSurface` serving signed requests on its own port.
All three talk to ONE mock Slack Web API (`ChannelSlack`), which counts
``conversations.create`` and ``pins.add``. `Replicas.click` sends a signed
``block_actions`` delivery to one replica, optionally as a Slack retry
(``X-Slack-Retry-Num``).

Redis or PostgreSQL missing: skip, or fail under ``CI=true``.

Imported by name (tests have no packages): ``from incident_replica_support import ...``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from aiohttp import web

_BOT_TESTS = Path(__file__).resolve().parents[1] / "bot"
for _kit in ("slack", "incidents"):
    if str(_BOT_TESTS / _kit) not in sys.path:
        sys.path.append(str(_BOT_TESTS / _kit))

from chat_incident_support import ChannelSlack  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from slack_support import SECRET, RecordingAudit, click_body, serve, signed_headers  # noqa: E402

from agents.incidents import IncidentPolicy, IncidentService  # noqa: E402
from bot.core.conversation import ChatCore  # noqa: E402
from bot.core.dispatcher import Dispatcher  # noqa: E402
from bot.incidents.clicks import INCIDENT_ACTION_PREFIX, IncidentClicks  # noqa: E402
from bot.incidents.rooms import RoomsRouter  # noqa: E402
from bot.incidents.rooms_slack import SlackRooms  # noqa: E402
from bot.incidents.slack_api import SlackApi  # noqa: E402
from bot.slack import SlackSurface  # noqa: E402
from config.settings import Settings  # noqa: E402
from integrations.db import open_database  # noqa: E402
from integrations.store import RedisStore, StoreError  # noqa: E402

REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
JOB = "PAYROLL_EXTRACT"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


async def servers_or_skip() -> None:
    """Skip (fail under CI) when Redis or PostgreSQL does not answer."""
    try:
        conn = await psycopg.AsyncConnection.connect(PG_URL, connect_timeout=3)
        await conn.close()
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    store = RedisStore(url=REDIS_URL, prefix="probe:")
    try:
        await store.ping()
    except StoreError as exc:
        _unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await store.close()


@dataclass
class Replica:
    """One replica: its service, surface and audit records, and its URL."""

    service: IncidentService
    surface: SlackSurface
    core: ChatCore
    audit: RecordingAudit
    url: str


@dataclass
class Replicas:
    """Three replicas and the one Slack they share."""

    slack: ChannelSlack
    replicas: list[Replica]
    session: aiohttp.ClientSession

    async def click(
        self,
        replica: int,
        *,
        user: str,
        message_ts: str,
        trigger: str,
        retry: int = 0,
        channel: str = "COPS",
    ) -> int:
        """Click "Declare incident" on the message ``message_ts`` as ``user``; the status."""
        body = click_body(
            action_id="incident.declare",
            value=JOB,
            message={"ts": message_ts, "blocks": []},
            user=user,
            channel=channel,
            trigger=trigger,
            action_ts=f"{message_ts}.{trigger}",
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(body, secret=SECRET),
        }
        if retry:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        target = self.replicas[replica % len(self.replicas)]
        async with self.session.post(
            target.url + "/slack/events", data=body, headers=headers
        ) as response:
            return response.status

    async def settle(self) -> None:
        """Wait until every replica's deliveries so far are done."""
        await asyncio.gather(*(r.surface.drain() for r in self.replicas))


async def _replica(
    stack: AsyncExitStack, mock: ChannelSlack, schema: str, prefix: str, tmp_path: Path
) -> Replica:
    store = RedisStore(url=REDIS_URL, prefix=prefix)
    stack.push_async_callback(store.close)
    db = await open_database(PG_URL, data_dir=tmp_path, schema=schema)
    stack.push_async_callback(db.close)
    audit = RecordingAudit()
    router = RoomsRouter()
    service = IncidentService(
        db=db, rooms=router, audit=audit, store=store, policy=IncidentPolicy(retry_seconds=0)
    )
    client = AsyncWebClient(token="xoxb-test-token", base_url=mock.url + "/api/")
    router.register(SlackRooms(api=SlackApi(client), store=store, lookup=service.get))
    dispatcher = Dispatcher(assistant=_NoQuestions(), audit=audit)
    dispatcher.route_clicks(INCIDENT_ACTION_PREFIX, IncidentClicks(service, rooms=router))
    core = ChatCore(dispatcher=dispatcher, store=store, audit=audit)
    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=mock.url + "/api",
        _env_file=None,  # type: ignore[call-arg]
    )
    surface = SlackSurface(settings=settings, core=core, store=store, client=client)
    app = web.Application()
    surface.mount(app)
    url = await stack.enter_async_context(serve(app))
    await surface.start()
    stack.push_async_callback(surface.stop)
    stack.push_async_callback(core.tasks.stop)
    return Replica(service=service, surface=surface, core=core, audit=audit, url=url)


class _NoQuestions:
    """The replicas only get clicks in these tests."""

    async def ask(self, event: Any) -> Any:
        raise AssertionError(f"no question expected, got {event!r}")


@asynccontextmanager
async def three_replicas(tmp_path: Path) -> AsyncIterator[Replicas]:
    """Three replica stacks on one fresh PostgreSQL schema and one Redis prefix."""
    await servers_or_skip()
    schema, prefix = f"inc_rep_{uuid.uuid4().hex[:10]}", f"test-inc-rep-{uuid.uuid4().hex}:"
    mock = ChannelSlack(page_size=200)
    try:
        async with (
            serve(mock.app()) as mock_url,
            AsyncExitStack() as stack,
            aiohttp.ClientSession() as session,
        ):
            mock.url = mock_url
            replicas = [await _replica(stack, mock, schema, prefix, tmp_path) for _ in range(3)]
            yield Replicas(slack=mock, replicas=replicas, session=session)
    finally:
        async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
