"""A replica killed (SIGKILL) after keeping a message and before answering it: another
process's inbox sweep answers it once, on the real Redis.

The killed replica is a real process running the chat core on Redis, stuck in its answer;
the survivor is this process's core. Ports are recording fakes of `ChatPort` (the platform
side is covered through the Slack surface in ``test_inbox_rerun.py``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from agents.messages import ChatEvent, Platform, Reply
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from bot.core.inbox import Inbox, redeliver
from bot.core.port import Posted
from integrations.store import RedisStore, StoreError

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("RESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_REPLICA = """
import asyncio, sys
from agents.messages import Actor, ChatEvent, Platform
from bot.core.admission import Admission
from bot.core.conversation import ChatCore
from bot.core.dispatcher import Dispatcher
from integrations.store import RedisStore

class Stuck:
    async def ask(self, event):
        print("answering", flush=True)
        await asyncio.Event().wait()

class Port:
    platform = Platform.SLACK
    verified = True
    async def acknowledge(self, event):
        return None

async def main() -> None:
    store = RedisStore(url=sys.argv[1], prefix=sys.argv[2])
    core = ChatCore(dispatcher=Dispatcher(assistant=Stuck(), audit=None), store=store, audit=None)
    core.admission = Admission(store=store, audit=None, claim_lease_seconds=1.0)
    actor = Actor(platform=Platform.SLACK, user_id="U1", display_name="Ana")

    async def event():
        return ChatEvent(event_id="EvK", actor=actor, channel_id="C1", thread_id="1.1",
                         text="status of PAYROLL")

    await core.receive(Port(), "EvK", event, {"kind": "mention"})
    print("acked", flush=True)  # the adapter answers HTTP 200 here
    await asyncio.Event().wait()

asyncio.run(main())
"""


class _Echo:
    async def ask(self, event: ChatEvent) -> Reply:
        return Reply(headline=f"You asked: {event.text}")


class _RecordingPort:
    platform = Platform.SLACK
    verified = True

    def __init__(self) -> None:
        self.replies: list[tuple[str, str]] = []

    async def acknowledge(self, event: ChatEvent) -> Posted | None:
        return None

    async def reply(self, event: ChatEvent, reply: Reply, *, placeholder: Any) -> Posted:
        self.replies.append((event.event_id, reply.headline))
        return Posted(channel=event.channel_id, message_id="", thread=event.thread_id)


async def _redis(prefix: str) -> RedisStore:
    store = RedisStore(url=REDIS_URL, prefix=prefix)
    try:
        await store.ping()
    except StoreError as exc:
        await store.close()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return store


async def test_a_message_of_a_killed_replica_is_answered_once_by_a_sweep() -> None:
    prefix = f"test-inbox-{uuid.uuid4().hex}:"
    store = await _redis(prefix)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _REPLICA, REDIS_URL, prefix,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    survivors = [
        ChatCore(dispatcher=Dispatcher(assistant=_Echo(), audit=None), store=store, audit=None)
        for _ in range(2)
    ]
    port = _RecordingPort()
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"acked\n"
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"answering\n"
        # Alive and renewing its claim: the survivors' sweeps leave the message alone.
        await asyncio.sleep(1.5)
        assert await redeliver(survivors[0], [port], min_age_seconds=0) == 0
        child.kill()
        await child.wait()
        started, deadline = 0, time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            # Two survivors sweep at the same moment: the claim lets one answer.
            rounds = [redeliver(core, [port], min_age_seconds=0) for core in survivors]
            started = sum(await asyncio.gather(*rounds))
        assert started >= 1
        for core in survivors:
            await core.tasks.drain()
            await core.admission.settled()
        assert port.replies == [("EvK", "You asked: status of PAYROLL")]
        assert await Inbox(store).oldest() == []
        assert await store.get("dedupe:slack:message:EvK") == "done"
        assert await redeliver(survivors[0], [port], min_age_seconds=0) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await store.close()
