"""`TWSClient`: the `Scheduler` over HCL Workload Automation's REST API v2 (aiohttp).

This module owns what Resync asks the engine and how answers become models: every path
comes from `integrations.tws.paths`, every JSON field from `integrations.tws.wire`. How a
request travels (one pooled session, retries for reads but never for actions, the circuit
breaker) is `integrations.tws.transport`'s job; paging is `integrations.tws.paging`'s.
Every failure is a `integrations.tws.errors.TWSError` naming the call and the engine's
answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from integrations.tws import paths, wire
from integrations.tws.decoding import Json, parse_row, parse_rows
from integrations.tws.errors import TWSProtocolError
from integrations.tws.models import (
    Dependency,
    EngineInfo,
    JobAction,
    JobLog,
    JobRun,
    JobStatus,
    JobStreamAction,
    JobStreamStatus,
    PlanJob,
    PlanJobStream,
    Workstation,
)
from integrations.tws.oql import build_oql, name_matches
from integrations.tws.paging import read_all_pages
from integrations.tws.scheduler import JOB_LOG_WINDOW_BYTES, Snapshot
from integrations.tws.transport import EngineTransport

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["TWSClient"]

T = TypeVar("T")


class TWSClient:
    """Reads (and actions on) one engine's current plan over REST API v2.

    Use it as an async context manager, or call `close` when done.
    """

    def __init__(
        self,
        *,
        base_url: str,
        user: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        verify_tls: bool = True,
        ca_bundle: Path | None = None,
        timeout_seconds: float = 30.0,
        connect_timeout_seconds: float = 5.0,
        retries: int = 3,
        breaker_threshold: int = 5,
        breaker_reset_seconds: float = 30.0,
        page_size: int = 500,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        """Configure the client; no connection is made until the first call.

        Args:
            base_url: ``https://master:31116`` (no path).
            user: Engine user for HTTP Basic auth.
            password: That user's password.
            api_key: An API key (JWT) sent as a Bearer token; takes precedence over Basic.
            verify_tls: Verify the master's TLS certificate.
            ca_bundle: CA file to verify it with (a private CA).
            timeout_seconds: Limit for a whole request, answer included.
            connect_timeout_seconds: Limit for establishing the connection.
            retries: Extra attempts for reads when the engine is unavailable.
            breaker_threshold: Consecutive failures that open the circuit (0 disables it).
            breaker_reset_seconds: Seconds the circuit stays open before a trial call.
            page_size: ``limit`` asked per page.
            sleep: Awaitable sleep used between retries (injectable for tests).

        Raises:
            ValueError: ``base_url`` is not ``http(s)://host[:port]``.
        """
        self._transport = EngineTransport(
            base_url=base_url,
            user=user,
            password=password,
            api_key=api_key,
            verify_tls=verify_tls,
            ca_bundle=ca_bundle,
            timeout_seconds=timeout_seconds,
            connect_timeout_seconds=connect_timeout_seconds,
            retries=retries,
            breaker_threshold=breaker_threshold,
            breaker_reset_seconds=breaker_reset_seconds,
            sleep=sleep,
        )
        self._source = f"TWS {self._transport.netloc}"
        self._page_size = max(1, page_size)

    @classmethod
    def from_settings(cls, settings: Settings) -> TWSClient:
        """Build a client from the configured connection settings.

        Args:
            settings: The application settings; ``tws_url`` must be set.

        Returns:
            An unopened client.

        Raises:
            ValueError: ``tws_url`` is not set.
        """
        if settings.tws_url is None:
            raise ValueError("RESYNC_TWS_URL is not set")
        return cls(
            base_url=settings.tws_url,
            user=settings.tws_user,
            password=settings.tws_password.get_secret_value() if settings.tws_password else None,
            api_key=settings.tws_api_key.get_secret_value() if settings.tws_api_key else None,
            verify_tls=settings.tws_verify_tls,
            ca_bundle=settings.tws_ca_bundle,
            timeout_seconds=settings.tws_timeout_seconds,
            connect_timeout_seconds=settings.tws_connect_timeout_seconds,
            retries=settings.tws_retries,
            breaker_threshold=settings.tws_breaker_threshold,
            breaker_reset_seconds=settings.tws_breaker_reset_seconds,
            page_size=settings.tws_page_size,
        )

    @property
    def source(self) -> str:
        """A short human name of the engine, e.g. ``TWS twsmaster:31116``."""
        return self._source

    @property
    def breaker_state(self) -> str:
        """The circuit breaker's state: ``closed``, ``open`` or ``half-open``."""
        return self._transport.breaker_state

    @property
    def calls_made(self) -> int:
        """HTTP requests sent so far (retries included): what the benchmark counts."""
        return self._transport.calls_made

    async def __aenter__(self) -> TWSClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled session."""
        await self._transport.close()

    # --- reads ------------------------------------------------------------------------------

    async def query_jobs(
        self,
        *,
        name: str | None = None,
        job_stream: str | None = None,
        workstation: str | None = None,
        statuses: Sequence[JobStatus] | None = None,
        limit: int | None = None,
    ) -> Snapshot[list[PlanJob]]:
        """Jobs in the plan; ``*`` and ``?`` in names are wildcards.

        Args:
            name: Job name or pattern.
            job_stream: Job stream name or pattern.
            workstation: Workstation name or pattern.
            statuses: Internal statuses, any of which matches.
            limit: Stop after this many jobs.

        Returns:
            The matching jobs, sorted by name.
        """
        oql = build_oql(
            name=name,
            job_stream=job_stream,
            workstation=workstation,
            statuses=[s.value for s in statuses] if statuses else None,
        )
        jobs, as_of = await self._all_pages(paths.JOBS, wire.parse_job, oql=oql, limit=limit)
        jobs = [
            job
            for job in jobs
            if (not name or name_matches(name, job.name))
            and (not job_stream or name_matches(job_stream, job.job_stream_name))
            and (not workstation or name_matches(workstation, job.workstation))
        ]
        return self._snapshot(jobs, as_of)

    async def get_job(self, job_id: str) -> Snapshot[PlanJob]:
        """One job by plan UUID."""
        return await self._get_one(paths.job(job_id), wire.parse_job)

    async def job_predecessors(self, job_id: str) -> Snapshot[list[Dependency]]:
        """What the job waits for."""
        return await self._get_list(paths.job_predecessors(job_id), wire.parse_dependency)

    async def job_successors(self, job_id: str) -> Snapshot[list[Dependency]]:
        """What waits for the job."""
        return await self._get_list(paths.job_successors(job_id), wire.parse_dependency)

    async def job_history(self, job_id: str, *, days: int = 60) -> Snapshot[list[JobRun]]:
        """The job's past runs, newest first."""
        return await self._get_list(
            paths.job_history(job_id), wire.parse_run, params={"days": str(days)}
        )

    async def job_log(self, run_id: str) -> Snapshot[str]:
        """The end of the stdlist of one run: at most `JOB_LOG_WINDOW_BYTES` (see `job_log_tail`)."""
        tail = await self.job_log_tail(run_id)
        return self._snapshot(tail.value.text, tail.as_of)

    async def job_log_tail(
        self, run_id: str, *, max_bytes: int = JOB_LOG_WINDOW_BYTES
    ) -> Snapshot[JobLog]:
        """The last ``max_bytes`` of the stdlist of one run, read as it streams in.

        Args:
            run_id: The run.
            max_bytes: The most kept; the rest of a longer log is read and dropped.

        Returns:
            The text kept (whole lines only), whether the log was longer, and its full size.
        """
        answer = await self._transport.call(
            "GET", paths.job_log(run_id), text=True, tail_bytes=max(1, max_bytes)
        )
        text = str(answer.body)
        if answer.truncated:
            # The window starts mid-line: drop the fragment rather than show half a line.
            text = text.partition("\n")[2]
        log = JobLog(text=text, truncated=answer.truncated, size_bytes=answer.size_bytes)
        return self._snapshot(log, answer.as_of)

    async def query_job_streams(
        self,
        *,
        name: str | None = None,
        workstation: str | None = None,
        statuses: Sequence[JobStreamStatus] | None = None,
        limit: int | None = None,
    ) -> Snapshot[list[PlanJobStream]]:
        """Job streams in the plan; ``*`` and ``?`` in names are wildcards."""
        oql = build_oql(
            name=name,
            workstation=workstation,
            statuses=[s.value for s in statuses] if statuses else None,
        )
        streams, as_of = await self._all_pages(
            paths.JOBSTREAMS, wire.parse_job_stream, oql=oql, limit=limit
        )
        streams = [
            stream
            for stream in streams
            if (not name or name_matches(name, stream.name))
            and (not workstation or name_matches(workstation, stream.workstation))
        ]
        return self._snapshot(streams, as_of)

    async def get_job_stream(self, job_stream_id: str) -> Snapshot[PlanJobStream]:
        """One job stream by plan UUID."""
        return await self._get_one(paths.jobstream(job_stream_id), wire.parse_job_stream)

    async def job_stream_predecessors(self, job_stream_id: str) -> Snapshot[list[Dependency]]:
        """What the job stream waits for."""
        return await self._get_list(
            paths.jobstream_predecessors(job_stream_id), wire.parse_dependency
        )

    async def job_stream_successors(self, job_stream_id: str) -> Snapshot[list[Dependency]]:
        """What waits for the job stream."""
        return await self._get_list(
            paths.jobstream_successors(job_stream_id), wire.parse_dependency
        )

    async def workstations(self) -> Snapshot[list[Workstation]]:
        """All workstations in the plan."""
        return await self._get_list(paths.WORKSTATIONS, wire.parse_workstation)

    async def engine_info(self) -> Snapshot[EngineInfo]:
        """Engine version and plan window."""
        return await self._get_one(paths.ENGINE_INFO, wire.parse_engine_info)

    # --- actions ----------------------------------------------------------------------------

    async def job_action(self, job_id: str, action: JobAction) -> Snapshot[PlanJob]:
        """Perform an action on a job, once (never retried), and read the job after it.

        Args:
            job_id: The job's plan UUID.
            action: What to do.

        Returns:
            The job as the engine shows it after the action.

        Raises:
            TWSActionRejectedError: The engine refused, e.g. AWSBIN076E.
        """
        await self._transport.call(
            "PUT", paths.job_action(job_id, action), json_body={}, idempotent=False
        )
        return await self.get_job(job_id)

    async def job_stream_action(
        self, job_stream_id: str, action: JobStreamAction
    ) -> Snapshot[PlanJobStream]:
        """Hold, release or cancel a job stream instance, once (never retried).

        Args:
            job_stream_id: The job stream's plan UUID.
            action: What to do.

        Returns:
            The job stream as the engine shows it after the action.

        Raises:
            TWSActionRejectedError: The engine refused.
        """
        await self._transport.call(
            "PUT", paths.jobstream_action(job_stream_id, action), json_body={}, idempotent=False
        )
        return await self.get_job_stream(job_stream_id)

    # --- plumbing ---------------------------------------------------------------------------

    def _snapshot(self, value: T, as_of: datetime) -> Snapshot[T]:
        return Snapshot(value=value, as_of=as_of, source=self._source)

    async def _get_one(self, path: str, parse: Callable[[Json], T]) -> Snapshot[T]:
        answer = await self._transport.call("GET", path)
        if not isinstance(answer.body, Mapping):
            raise TWSProtocolError("expected a JSON object", call=f"GET {path}")
        return self._snapshot(parse_row(answer.body, parse, call=f"GET {path}"), answer.as_of)

    async def _get_list(
        self, path: str, parse: Callable[[Json], T], *, params: dict[str, str] | None = None
    ) -> Snapshot[list[T]]:
        items, as_of = await self._all_pages(path, parse, params=params)
        return self._snapshot(items, as_of)

    async def _all_pages(
        self,
        path: str,
        parse: Callable[[Json], T],
        *,
        oql: str | None = None,
        params: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[T], datetime]:
        call = f"GET {path}"

        def parse_page(rows: list[Any]) -> list[T]:
            return parse_rows(rows, parse, call=call)

        return await read_all_pages(
            self._transport,
            path,
            page_size=self._page_size,
            parse=parse_page,
            oql=oql,
            params=params,
            limit=limit,
        )
