"""kill -9 between creating the incident's channel and pinning its state: a fresh process
on the same database and store converges, and Slack still has one channel.

A child process (`incident_kill_child.py`, production code only) declares an incident with
Slack rooms against a mock Slack Web API in this process. The mock holds one call —
``pins.add`` (the channel was created, the state message posted) or
``conversations.setTopic`` (the channel was created and nothing about it stored yet) —
and while it is held the test sends SIGKILL. Then a second child on the same SQLite file
and the same store (Redis, or a fresh memory store: the channel must then be found by name)
runs ``recover()``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from incident_replica_support import REDIS_URL, servers_or_skip

from integrations.db import open_database

sys.path.append(str(Path(__file__).resolve().parents[1] / "bot" / "incidents"))
from chat_incident_support import ChannelSlack
from slack_support import serve

CHILD = Path(__file__).with_name("incident_kill_child.py")
ROOT = Path(__file__).resolve().parents[2]
YEAR = datetime.now(UTC).year  # the child declares on the real clock
IID = f"INC-{YEAR}-0001"
NAME = f"inc-{YEAR}-0001-payroll-extract-failing"


@dataclass
class HoldingSlack(ChannelSlack):
    """`ChannelSlack` that holds the first call of ``hold`` unanswered (and never applies it)."""

    hold: str = "pins.add"
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == self.hold and not self.held.is_set():
            self.held.set()
            await self.release.wait()
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        return await super()._api(request)


async def _child(mode: str, data_dir: Path, slack: str, redis: str | None, prefix: str) -> Any:
    argv = [str(CHILD), mode, "--data-dir", str(data_dir), "--slack-url", slack]
    argv += ["--prefix", prefix] + (["--redis-url", redis] if redis else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _held_or_exited(mock: HoldingSlack, proc: Any) -> None:
    held = asyncio.ensure_future(mock.held.wait())
    exited = asyncio.ensure_future(proc.wait())
    done, _ = await asyncio.wait({held, exited}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    held.cancel()
    if held not in done:
        _, err = await proc.communicate()
        raise AssertionError(f"the child never reached {mock.hold}: {err.decode()[-2000:]}")
    exited.cancel()


@pytest.mark.parametrize(
    ("hold", "store"),
    [
        pytest.param("pins.add", "redis", id="pins.add-redis", marks=pytest.mark.redis),
        pytest.param("conversations.setTopic", "memory", id="conversations.setTopic-memory"),
    ],
)
async def test_kill_9_between_channel_and_pin_converges_on_one_channel(
    hold: str, store: str, tmp_path: Path
) -> None:
    redis = None
    if store == "redis":
        await servers_or_skip()
        redis = REDIS_URL
    prefix = f"test-inc-kill-{uuid.uuid4().hex}:"
    mock = HoldingSlack(hold=hold)
    async with serve(mock.app()) as url:
        mock.url = url
        first = await _child("declare", tmp_path, url, redis, prefix)
        try:
            await _held_or_exited(mock, first)
            # conversations.create returned before the held call was made.
            assert [c["name"] for c in mock.of("conversations.create")] == [NAME]
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
        finally:
            mock.release.set()
            if first.returncode is None:
                first.kill()
                await first.wait()
        assert mock.pinned == []

        second = await _child("recover", tmp_path, url, redis, prefix)
        out, err = await asyncio.wait_for(second.communicate(), timeout=90)
        assert second.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    [channel] = [c for c in mock.channels.values() if c["name"] == NAME]
    assert len(mock.of("conversations.create")) == 1  # no second channel
    assert report["incident"] == IID
    assert report["driven"][:1] == [IID]
    [place] = report["places"]
    assert place["channel"] == channel["id"]
    assert place["pinned"]
    assert place["announced"]
    assert mock.pinned == [(channel["id"], place["state"])]
    state_posts = [
        c
        for c in mock.of("chat.postMessage")
        if c["channel"] == channel["id"] and f"{IID} · SEV3" in str(c.get("text"))
    ]
    assert len(state_posts) == 1  # the state message was not posted again
    # The database the fresh process left: one incident, its rooms step done.
    db = await open_database(None, data_dir=tmp_path)
    try:
        [rooms] = [s for s in await db.steps.for_incident(IID) if s.name == "rooms"]
        assert rooms.state == "done"
    finally:
        await db.close()
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["action"] for r in audit].count("incident.declare") == 1
    assert [(r["action"], r["outcome"]) for r in audit].count(("incident.rooms", "opened")) == 1
