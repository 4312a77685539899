"""Three real `resync serve` processes, one simulator, one mock Slack, and the test as the
load balancer: what `test_replica_kill.py` and `benchmarks/replica_kill.py` share.

- `KillSlack`: the mock Slack Web API (`ChannelSlack`: channels, pins) that also records
  when each ``chat.postMessage`` / ``chat.update`` arrived and which thread it belongs to.
- `Cluster`: a fresh PostgreSQL database per run (dropped after), a Redis database of its
  own (`resync serve` has no key-prefix setting, so runs cannot share one): the first of
  databases 1-14 of ``RESYNC_TEST_KILL_REDIS`` (default redis://127.0.0.1:6379) whose lock
  key it takes, its ``resync:`` keys removed before and after; the bundled simulator as a
  process, and three replicas with shared keys, short watch lease and cycle. `kill` sends
  SIGKILL, `start` starts a replica (again) on its port; `leader` reads the watch lease.
- `Balancer`: sends signed Slack deliveries round-robin; when a replica's connection fails
  the same delivery goes to the next replica with ``X-Slack-Retry-Num`` (as Slack retries).

Redis or PostgreSQL missing: skip, or fail under ``CI=true``.
Imported by name (tests have no packages): ``from replica_kill_support import ...``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_TESTS = Path(__file__).resolve().parents[1]
for _kit in ("bot", "bot/slack", "bot/incidents"):
    if str(_TESTS / _kit) not in sys.path:
        sys.path.append(str(_TESTS / _kit))

from chat_incident_support import ChannelSlack  # noqa: E402
from serve_support import free_port  # noqa: E402
from slack_support import SECRET, serve, signed_headers  # noqa: E402

ROOT = _TESTS.parent
REDIS = os.environ.get("RESYNC_TEST_KILL_REDIS", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DATABASES = range(1, 15)  # 0: compose's default, 15: the other Redis tests
LOCK_KEY = "resync-test-kill:lock"  # outside the ``resync:`` keys that are removed
PG_URL = os.environ.get("RESYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LEADER_KEY = "resync:resync:watch:leader"  # RedisStore prefix + the watcher's key
ALERTS, INCIDENTS = "CALERTS", "CINCIDENTS"
LEASE_SECONDS = 5.0  # the smallest watch lease the settings accept
APPROVERS = ("UAPPR1", "UAPPR2", "UAPPR3")  # users.info: <id lower-case>@example.com


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Post:
    """One ``chat.postMessage`` or ``chat.update`` as Slack received it."""

    method: str
    channel: str
    ts: str
    thread: str | None
    text: str
    blocks: list[dict[str, Any]]
    at: float


@dataclass
class KillSlack(ChannelSlack):
    """`ChannelSlack` that keeps every post and update with its arrival time and thread."""

    posts: list[Post] = field(default_factory=list)
    by_ts: dict[str, Post] = field(default_factory=dict)  # first post of each ts

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._answer(method, args)
        if method in ("chat.postMessage", "chat.update") and answer.get("ok"):
            raw = args.get("blocks") or "[]"
            blocks = json.loads(raw) if isinstance(raw, str) else raw
            ts = str(answer.get("ts") or args.get("ts"))
            first = self.by_ts.get(ts)
            thread = str(args.get("thread_ts") or "") or (first.thread if first else None)
            post = Post(
                method, str(args.get("channel")), ts, thread, str(args.get("text") or ""), blocks,
                time.monotonic(),
            )  # fmt: skip
            self.posts.append(post)
            self.by_ts.setdefault(ts, post)
        return answer

    def in_thread(self, channel: str, thread: str) -> list[Post]:
        """Posts and updates in one thread (an update counts where its message is)."""
        return [p for p in self.posts if p.channel == channel and p.thread == thread]


@dataclass
class Replica:
    """One `resync serve` process (replaced on restart) and where it logs."""

    index: int
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """The whole deployment of one run; see the module docstring."""

    slack: KillSlack
    replicas: list[Replica]
    env: dict[str, str]
    sim_url: str
    redis: Any
    tmp: Path
    kills: list[float] = field(default_factory=list)  # when a replica got SIGKILL

    async def start(self, replica: Replica) -> None:
        """Start (or restart) ``replica`` and wait until it listens."""
        env = {**self.env, "RESYNC_PORT": str(replica.port)}
        env["RESYNC_DATA_DIR"] = str(self.tmp / f"replica{replica.index}")
        log = replica.log.open("ab")
        replica.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve",
            stdout=asyncio.subprocess.PIPE, stderr=log, env=env, cwd=ROOT,
        )  # fmt: skip
        log.close()
        assert replica.process.stdout is not None
        line = await asyncio.wait_for(replica.process.stdout.readline(), 90)
        assert b"listening on" in line, (line, replica.log.read_text()[-3000:])

    def kill(self, replica: Replica) -> None:
        """SIGKILL: no drain, no lease release, no flush."""
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)

    async def leader(self) -> str | None:
        """The watch lease's holder (``host:pid:random``), or None."""
        value = await self.redis.get(LEADER_KEY)
        return None if value is None else str(value)

    def by_pid(self, owner: str | None) -> Replica | None:
        """The replica whose process holds a lease ``owner``."""
        pid = int(owner.split(":")[1]) if owner else -1
        return next((r for r in self.replicas if r.process and r.process.pid == pid), None)

    async def resync(self, *args: str) -> tuple[int, str]:
        """Run ``resync ARGS`` with the replicas' settings; exit code and stdout."""
        env = {**self.env, "RESYNC_DATA_DIR": str(self.tmp / "cli")}
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        out, err = await asyncio.wait_for(done.communicate(), 120)
        return int(done.returncode or 0), out.decode() + err.decode()[-2000:]

    async def stop(self) -> None:
        """SIGTERM every live replica (they drain), SIGKILL what does not stop."""
        live = [r.process for r in self.replicas if r.process and r.process.returncode is None]
        for process in live:
            process.send_signal(signal.SIGTERM)
        for process in live:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _servers(admin: str) -> None:
    try:
        conn = await psycopg.AsyncConnection.connect(admin, connect_timeout=3)
        await conn.close()
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL not reachable at {admin}: {exc}")
    probe = aioredis.from_url(f"{REDIS}/1")
    try:
        await probe.ping()
    except Exception as exc:  # redis raises several kinds for a refused connection
        _unavailable(f"Redis not reachable at {REDIS}: {exc}")
    finally:
        await probe.aclose()


async def _redis_database(owner: str) -> tuple[str, Any]:
    """A Redis database no other run uses now (its lock taken), and a client on it."""
    for number in REDIS_DATABASES:
        client = aioredis.from_url(f"{REDIS}/{number}", decode_responses=True)
        if await client.set(LOCK_KEY, owner, nx=True, ex=3600):
            return f"{REDIS}/{number}", client
        await client.aclose()
    raise AssertionError(f"every Redis database {REDIS_DATABASES} is locked by another run")


async def _forget_keys(client: Any) -> None:
    async for key in client.scan_iter(match="resync:*", count=500):
        await client.delete(key)


def _secrets(tmp: Path) -> dict[str, str]:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp / "audit-signing.pem"
    key_file.write_bytes(pem)
    key_file.chmod(0o600)
    incidents = tmp / "incident_policy.yaml"
    # SEV3 reminds every minute (the shortest the policy accepts): long runs see reminders.
    incidents.write_text(
        "severities:\n"
        "  - {name: SEV1, label: critical, pager_severity: critical, reminder_minutes: 1}\n"
        "  - {name: SEV3, label: moderate, pager_severity: warning, reminder_minutes: 1}\n"
        "default_severity: SEV3\n",
        encoding="utf-8",
    )
    policy = tmp / "approval_policy.yaml"
    members = "".join(f"    - {a.lower()}@example.com\n" for a in APPROVERS)
    policy.write_text(f"groups:\n  tws-operators:\n{members}", encoding="utf-8")
    return {
        "RESYNC_AUDIT_KEY": base64.b64encode(os.urandom(32)).decode(),
        "RESYNC_AUDIT_SIGNING_KEY_FILE": str(key_file),
        "RESYNC_RUNBOOK_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "RESYNC_APPROVAL_POLICY_FILE": str(policy),
        "RESYNC_INCIDENT_POLICY_FILE": str(incidents),
    }


async def _simulator(stack: AsyncExitStack, tmp: Path) -> str:
    port = free_port()
    log = (tmp / "simulator.log").open("wb")
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "simulator", "--port", str(port),
        "--scenario", "normal", "--speed", "60", "--control",
        stdout=log, stderr=log, cwd=ROOT,
    )  # fmt: skip
    log.close()

    async def stop() -> None:
        if sim.returncode is None:
            sim.kill()
            await sim.wait()

    stack.push_async_callback(stop)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url + "/_sim/state", auth=SIM_AUTH) as response:
                    if response.status == 200:
                        return url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the simulator did not start: {(tmp / 'simulator.log').read_text()}")


SIM_AUTH = aiohttp.BasicAuth("twsuser", "twspass")


@asynccontextmanager
async def cluster(tmp: Path) -> AsyncIterator[Cluster]:
    """The deployment of one run (see `Cluster`), torn down and cleaned up after."""
    await _servers(PG_URL)
    database = f"resync_kill_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{database}"')
    redis_url, keys = await _redis_database(database)
    await _forget_keys(keys)
    slack = KillSlack(page_size=200)
    try:
        async with serve(slack.app()) as slack_url, AsyncExitStack() as stack:
            slack.url = slack_url
            sim_url = await _simulator(stack, tmp)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "SLACK_"))}
            env.update(
                _secrets(tmp),
                PYTHONPATH=str(ROOT),
                RESYNC_HOST="127.0.0.1",
                RESYNC_LOG_FORMAT="json",
                RESYNC_TWS_URL=sim_url,
                RESYNC_TWS_USER="twsuser",
                RESYNC_TWS_PASSWORD="twspass",
                RESYNC_REDIS_URL=redis_url,
                RESYNC_DATABASE_URL=PG_URL.rsplit("/", 1)[0] + f"/{database}",
                RESYNC_SLACK_BOT_TOKEN="xoxb-test-token",
                RESYNC_SLACK_SIGNING_SECRET=SECRET,
                RESYNC_SLACK_API_URL=slack_url + "/api",
                RESYNC_ALERTS_SLACK_CHANNEL=ALERTS,
                RESYNC_WATCH_INTERVAL_SECONDS="5",
                RESYNC_WATCH_LEASE_SECONDS=str(LEASE_SECONDS),
                RESYNC_INCIDENTS_SLACK_CHANNEL=INCIDENTS,
                RESYNC_INCIDENT_ID_PREFIX="K" + uuid.uuid4().hex[:6].upper(),
                RESYNC_RUNBOOK_LEASE_SECONDS="5",
                RESYNC_INCIDENT_LEASE_SECONDS="5",
                RESYNC_SHUTDOWN_GRACE_SECONDS="5",
            )
            replicas = [Replica(i, free_port(), tmp / f"replica{i}.log") for i in range(3)]
            found = Cluster(slack, replicas, env, sim_url, keys, tmp)
            stack.push_async_callback(found.stop)
            # One first: concurrent first starts race in LangGraph's checkpoint migrations
            # (AsyncPostgresSaver.setup: duplicate key in checkpoint_migrations); the others
            # then start together.
            await found.start(replicas[0])
            await asyncio.gather(*(found.start(r) for r in replicas[1:]))
            yield found
    finally:
        await _forget_keys(keys)
        await keys.delete(LOCK_KEY)
        await keys.aclose()
        async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass
class Delivery:
    """One Slack delivery and what became of it at the balancer."""

    key: str
    sent_at: float
    replica: int | None = None  # the one that acknowledged it
    acked_at: float | None = None
    attempts: int = 0


@dataclass
class Balancer:
    """The load balancer (and Slack's retries): round-robin, the next replica on failure."""

    cluster: Cluster
    session: aiohttp.ClientSession
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    _next: int = 0

    async def send(self, key: str, body: bytes, *, form: bool) -> Delivery:
        """Deliver ``body`` once to some replica (retrying others); its `Delivery`."""
        delivery = self.deliveries.setdefault(key, Delivery(key, time.monotonic()))
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        for attempt in range(30):
            replica = self.cluster.replicas[self._next % len(self.cluster.replicas)]
            self._next += 1
            headers = {"Content-Type": kind, **signed_headers(body, secret=SECRET)}
            if attempt:
                headers["X-Slack-Retry-Num"] = str(min(attempt, 3))
                headers["X-Slack-Retry-Reason"] = "http_error"
            delivery.attempts += 1
            try:
                async with self.session.post(
                    replica.url + "/slack/events", data=body, headers=headers
                ) as response:
                    if response.status == 200:
                        delivery.replica, delivery.acked_at = replica.index, time.monotonic()
                        return delivery
            except (aiohttp.ClientError, TimeoutError):
                pass  # refused (dead or restarting) or reset mid-request: Slack sends again
            await asyncio.sleep(0.05)
        raise AssertionError(f"no replica took delivery {key}")
