"""`resync ask` when the engine cannot answer: exit 1, the engine's URL, what happened, the log.

The engine is a real HTTP server on loopback that refuses credentials (401/403) or never
answers; an ``https://`` URL on its plain-HTTP port makes a TLS error.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.messages import Actor, ChatEvent, Platform, Reply
from bot.core.dispatcher import Dispatcher

RESYNC = [sys.executable, "-m", "bot.cli"]


class _Engine(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "hang":
            time.sleep(3)
            return
        body = b'{"messages": ["AWSSEC001E The user is not authorized."]}'
        self.send_response(int(mode))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Engine)
    server.daemon_threads = True
    server.mode = request.param  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ask(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESYNC_")}
    env.update(
        RESYNC_DATA_DIR=str(tmp_path / "data"),
        RESYNC_TWS_URL=url,
        RESYNC_TWS_USER="twsuser",
        RESYNC_TWS_PASSWORD="not-the-password",
        RESYNC_TWS_RETRIES="0",
        RESYNC_TWS_TIMEOUT_SECONDS="0.5",
    )
    return subprocess.run(
        [*RESYNC, "ask", "what failed tonight?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("engine", "scheme", "said", "reason"),
    [
        ("401", "http", "refused my credentials", "HTTP 401 (credentials refused)"),
        ("403", "http", "refused the request (HTTP 403)", "HTTP 403"),
        ("hang", "http", "did not answer in time (no answer within 0.5 s)", "timeout"),
        ("401", "https", "TLS error", "TLS error"),
    ],
    indirect=["engine"],
)
def test_ask_says_which_engine_and_what_happened(
    tmp_path: Path, engine: str, scheme: str, said: str, reason: str
) -> None:
    url = f"{scheme}://{engine}"
    done = ask(tmp_path, url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert url in done.stdout  # the reply names the engine...
    assert said in done.stdout  # ...and what happened
    assert f"resync: no answer: TWS at {url}: {reason}" in done.stderr
    assert f"details in {tmp_path / 'data' / 'resync.log'}" in done.stderr
    assert "narrower" not in done.stdout  # nothing here was a too-big question
    assert "not-the-password" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


class _SlowAssistant:
    async def ask(self, event: ChatEvent) -> Reply:
        await asyncio.sleep(5)
        return Reply(headline="too late")


async def test_the_answer_time_limit_does_not_blame_the_question() -> None:
    dispatcher = Dispatcher(assistant=_SlowAssistant(), audit=None, answer_timeout_seconds=0.1)
    actor = Actor(platform=Platform.CONSOLE, user_id="cli", display_name="cli")
    event = ChatEvent(event_id="e1", actor=actor, channel_id="cli", text="what failed tonight?")
    reply = await dispatcher.handle(event)
    assert reply.headline == "That took too long, so I stopped."
    assert "narrower" not in reply.plain_text()  # a slow engine is not a too-big question
