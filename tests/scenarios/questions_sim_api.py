"""The simulator's own REST API, read with plain HTTP and JSON: the facts answers are scored on.

Nothing here uses Resync's client or models, so a test that compares an answer with these
facts cannot pass because both sides share a bug.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from integrations.tws.simulator import SimulatorServer

API = "/twsd/api/v2"
KEY = "questions-key"
NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
FAILED = ("ABEND", "ABENP", "FAIL", "ERROR")


class SimApi:
    """GETs and PUTs on one running simulator."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self._session = session
        self._headers = {"Authorization": f"Bearer {KEY}"}

    async def get(self, path: str, **params: str) -> Any:
        async with self._session.get(
            self.url + API + path, params=params, headers=self._headers
        ) as response:
            response.raise_for_status()
            return await response.json()

    async def put(self, path: str) -> tuple[int, Any]:
        async with self._session.put(
            self.url + API + path, json={}, headers=self._headers
        ) as response:
            return response.status, await response.json()

    async def jobs(self, oql: str | None = None) -> list[dict[str, Any]]:
        """Every plan job matching the OQL filter, all pages."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            params = {"limit": "500", "offset": str(offset)}
            if oql:
                params["oql"] = oql
            page = await self.get("/plan/job", **params)
            found.extend(page["results"])
            offset += len(page["results"])
            if not page.get("next") or not page["results"]:
                return found

    async def workstations(self) -> list[dict[str, Any]]:
        page = await self.get("/plan/workstation")
        return list(page["results"])


def status(job: dict[str, Any]) -> str:
    return str(job["status"]["internalStatus"])


def common(job: dict[str, Any]) -> str | None:
    value = job["status"].get("commonStatus")
    return str(value) if value else None


def at(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def clock(moment: datetime) -> str:
    """How a time of tonight reads in a UTC answer: ``23:55 UTC``."""
    return moment.astimezone(UTC).strftime("%H:%M UTC")


def seconds(value: Any) -> timedelta:
    return timedelta(seconds=float(value or 0))


@asynccontextmanager
async def simulator(scenario: str) -> AsyncIterator[SimApi]:
    """A frozen-clock simulator of the scenario and its API."""
    async with (
        SimulatorServer(
            scenario=scenario, speed=0, now=NOW, control=True, api_keys=[KEY]
        ) as server,
        aiohttp.ClientSession() as session,
    ):
        yield SimApi(server.url, session)
