"""``GET /readyz``: whether this replica should get traffic (load balancers, Kubernetes).

503 while draining, or while the engine, the store (Redis) or the database does not
answer; the JSON names each part. The checks run in the background every
`READY_CHECK_SECONDS` (each bounded by `READY_PROBE_SECONDS`), so ``/readyz`` answers at
once from the last results however often it is probed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from aiohttp import web

from bot.app import Runtime
from bot.errors import engine_failure
from bot.logging import redact_text
from integrations.tws.errors import (
    TWSError,
    TWSNotFoundError,
    TWSProtocolError,
    TWSRequestError,
)

__all__ = ["READINESS_KEY", "READY_CHECK_SECONDS", "READY_PROBE_SECONDS", "Readiness", "readyz"]

log = structlog.get_logger(__name__)

READY_CHECK_SECONDS: Final = 10.0
"""Pause between two rounds of readiness checks."""
READY_PROBE_SECONDS: Final = 3.0
"""The longest one readiness check may take."""


class Readiness:
    """What ``/readyz`` reports: draining, and whether the engine, store and database answer.

    The checks run in the background every `READY_CHECK_SECONDS` (each bounded by
    `READY_PROBE_SECONDS`), so ``/readyz`` answers at once from the last results, and many
    load balancers probing cost the engine one call per period.
    """

    def __init__(self, runtime: Runtime) -> None:
        """Prepare the checks (nothing is probed until `run`).

        Args:
            runtime: The running parts.
        """
        self.draining = False
        """True once a stop was asked: not ready, whatever the parts say."""
        self._runtime = runtime
        self._last: dict[str, dict[str, object]] = {}

    def parts(self) -> dict[str, dict[str, object]]:
        """The last result of every check.

        Returns:
            ``{"engine": {"ok": ..., "detail": ...}, "store": ..., "database": ...}``.
        """
        unknown: dict[str, object] = {"ok": False, "detail": "not checked yet"}
        parts = {name: self._last.get(name, unknown) for name in ("engine", "store", "database")}
        scheduler = self._runtime.scheduler
        if scheduler.breaker_state == "open":  # known now, without waiting for the next check
            detail = f"{scheduler.source}: calls paused after repeated failures"
            parts["engine"] = {"ok": False, "detail": detail}
        return parts

    async def run(self) -> None:
        """Check every part now and then every `READY_CHECK_SECONDS`, until cancelled."""
        checks = {"engine": self._engine, "store": self._store, "database": self._database}
        while True:
            results = await asyncio.gather(*(self._check(c) for c in checks.values()))
            self._last = dict(zip(checks, results, strict=True))
            await asyncio.sleep(READY_CHECK_SECONDS)

    async def _check(self, check: Callable[[], Awaitable[str]]) -> dict[str, object]:
        try:
            async with asyncio.timeout(READY_PROBE_SECONDS):
                return {"ok": True, "detail": await check()}
        except TimeoutError:
            return {"ok": False, "detail": f"no answer within {READY_PROBE_SECONDS:g} s"}
        except TWSError as exc:
            return {
                "ok": False,
                "detail": f"{self._runtime.scheduler.source}: {engine_failure(exc)}",
            }
        except Exception as exc:  # a probe reports; it never takes the server down
            return {"ok": False, "detail": redact_text(str(exc)) or type(exc).__name__}

    async def _engine(self) -> str:
        scheduler = self._runtime.scheduler
        with contextlib.suppress(TWSRequestError, TWSNotFoundError, TWSProtocolError):
            await scheduler.engine_info()  # any answer but "unreachable" or "refused" will do
        return f"{scheduler.source}: answering"

    async def _store(self) -> str:
        await self._runtime.store.get("resync:readyz")
        return type(self._runtime.store).__name__

    async def _database(self) -> str:
        store = self._runtime.audit.store
        await store.ping()
        return store.description.split()[0]  # "SQLite" or "PostgreSQL", no path or schema


READINESS_KEY: web.AppKey[Readiness] = web.AppKey("readiness", Readiness)


async def readyz(request: web.Request) -> web.Response:
    """The ``/readyz`` handler: the last results of the background checks."""
    readiness = request.app[READINESS_KEY]
    if readiness.draining:
        return web.json_response({"status": "draining", "draining": True}, status=503)
    parts = readiness.parts()
    ready = all(part["ok"] for part in parts.values())
    body = {"status": "ready" if ready else "not ready", "draining": False, **parts}
    return web.json_response(body, status=200 if ready else 503)
