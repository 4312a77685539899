"""`resync serve` as containers and systemd stop it: SIGTERM drains, /readyz tells the balancer.

A real process (`resync serve --demo`), a real Teams delivery (local unauthenticated mode)
whose answer is still being posted when SIGTERM arrives: the process must finish posting
it, answer /readyz with 503 meanwhile, refuse new deliveries, and exit 0.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from serve_support import FakeConnector, activity, resync_serve

POST_SECONDS = 2.0  # how long the fake Bot Connector takes to accept the answer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    async with resync_serve(
        tmp_path,
        "--demo",
        RESYNC_SIM_SPEED="0",
        RESYNC_TEAMS_ALLOW_UNAUTHENTICATED="true",
        RESYNC_LOG_FORMAT="json",
    ) as started:
        yield started


async def ready(session: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{base}/readyz") as response:
        return response.status, await response.json()


async def eventually_ready(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    for _ in range(100):  # the first round of checks runs right after start
        status, body = await ready(session, base)
        if status == 200:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"never ready: {body}")


async def test_sigterm_drains_the_answer_in_flight_and_exits_0(
    server: tuple[asyncio.subprocess.Process, str],
) -> None:
    process, base = server
    async with (
        FakeConnector(delay_seconds=POST_SECONDS) as connector,
        aiohttp.ClientSession() as session,
    ):
        body = await eventually_ready(session, base)
        assert body["status"] == "ready"
        assert body["engine"]["ok"]
        assert body["store"]["ok"]
        assert body["database"]["ok"]

        question = activity("what failed tonight?", connector.url, "m-1")
        async with session.post(f"{base}/api/messages", json=question) as response:
            assert response.status in (200, 201, 202)
        await asyncio.wait_for(connector.started.wait(), 30)  # the answer is being posted

        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        status, body = await ready(session, base)
        assert (status, body["status"]) == (503, "draining")
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200  # liveness: the process is fine, just stopping
        late = activity("what is late?", connector.url, "m-2")
        async with session.post(f"{base}/api/messages", json=late) as response:
            assert response.status == 503  # no new work while draining

        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert len(connector.delivered) == 1  # the answer in flight was delivered...
    assert "failed" in str(connector.delivered[0]).lower()  # ...and it was that answer
    log = stderr.decode()
    assert '"event": "serve.draining"' in log
    assert '"event": "serve.stopped"' in log
    assert "Traceback" not in log


async def test_readyz_names_an_unreachable_engine(tmp_path: Path) -> None:
    async with resync_serve(
        tmp_path,
        RESYNC_TWS_URL="http://127.0.0.1:9",
        RESYNC_TWS_API_KEY="k",
        RESYNC_TWS_RETRIES="0",
    ) as (process, base):
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                status, body = await ready(session, base)
                if body["engine"]["detail"] != "not checked yet":
                    break
                await asyncio.sleep(0.1)
            assert status == 503
            assert body["status"] == "not ready"
            assert body["engine"]["ok"] is False
            assert "connection refused" in body["engine"]["detail"]
            assert body["store"]["ok"]
            assert body["database"]["ok"]
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200  # alive, just not ready
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()
