"""`TWSClient`: the `Scheduler` over HCL Workload Automation's REST API v2 (aiohttp).

One pooled ``aiohttp.ClientSession`` per client; every path comes from
`integrations.tws.paths`, every JSON field from `integrations.tws.wire`. Reads are
retried with jittered exponential backoff when the engine is unavailable; actions never
are (a retried ``rerun`` could run a job twice). A circuit breaker stops hammering a
master that is down. Every failure is a `integrations.tws.errors.TWSError` naming the
call and the engine's answer.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
import structlog

from integrations.tws import paths, wire
from integrations.tws.breaker import CircuitBreaker
from integrations.tws.errors import (
    CircuitOpenError,
    TWSActionRejectedError,
    TWSAuthError,
    TWSError,
    TWSNotFoundError,
    TWSProtocolError,
    TWSRequestError,
    TWSUnavailableError,
)
from integrations.tws.models import (
    Dependency,
    EngineInfo,
    JobAction,
    JobRun,
    JobStatus,
    JobStreamAction,
    JobStreamStatus,
    PlanJob,
    PlanJobStream,
    Workstation,
)
from integrations.tws.oql import build_oql, name_matches
from integrations.tws.scheduler import Snapshot

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["TWSClient"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
Json = Mapping[str, Any]

_MAX_PAGES = 1000  # a runaway `next` chain is a protocol error, not an endless loop
_BACKOFF_BASE_SECONDS = 0.1
_BACKOFF_CAP_SECONDS = 2.0
_RETRY_AFTER_CAP_SECONDS = 5.0  # an answer is still due within the question's time limit


class _Answer:
    """One HTTP answer: the decoded body and the engine's clock."""

    __slots__ = ("as_of", "body")

    def __init__(self, body: Any, as_of: datetime) -> None:
        self.body = body
        self.as_of = as_of


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
        page_size: int = 200,
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
        """
        split = urlsplit(base_url)
        if split.scheme not in {"http", "https"} or not split.netloc:
            raise ValueError(f"TWS URL must look like https://host:31116, got {base_url!r}")
        self._base_url = f"{split.scheme}://{split.netloc}"
        self._origin = (split.scheme, split.netloc.lower())
        self._source = f"TWS {split.netloc}"
        self._auth_header = _auth_header(user=user, password=password, api_key=api_key)
        self._ssl: ssl.SSLContext | bool = _ssl_context(verify_tls=verify_tls, ca_bundle=ca_bundle)
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, sock_connect=connect_timeout_seconds
        )
        self._retries = max(0, retries)
        self._breaker = CircuitBreaker(
            threshold=breaker_threshold, reset_seconds=breaker_reset_seconds
        )
        self._page_size = max(1, page_size)
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.calls_made = 0
        """HTTP requests sent so far (retries included): what the benchmark counts."""

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
        return self._breaker.state

    async def __aenter__(self) -> TWSClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        rows, as_of = await self._all_pages(paths.JOBS, oql=oql, limit=limit)
        jobs = self._parse_all(rows, wire.parse_job, call=f"GET {paths.JOBS}")
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
        """The stdlist of one run (``text/plain``)."""
        answer = await self._call("GET", paths.job_log(run_id), text=True)
        return self._snapshot(str(answer.body), answer.as_of)

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
        rows, as_of = await self._all_pages(paths.JOBSTREAMS, oql=oql, limit=limit)
        streams = self._parse_all(rows, wire.parse_job_stream, call=f"GET {paths.JOBSTREAMS}")
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
        await self._call("PUT", paths.job_action(job_id, action), json_body={}, idempotent=False)
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
        await self._call(
            "PUT", paths.jobstream_action(job_stream_id, action), json_body={}, idempotent=False
        )
        return await self.get_job_stream(job_stream_id)

    # --- plumbing ---------------------------------------------------------------------------

    def _snapshot(self, value: T, as_of: datetime) -> Snapshot[T]:
        return Snapshot(value=value, as_of=as_of, source=self._source)

    async def _get_one(self, path: str, parse: Callable[[Json], T]) -> Snapshot[T]:
        answer = await self._call("GET", path)
        if not isinstance(answer.body, Mapping):
            raise TWSProtocolError("expected a JSON object", call=f"GET {path}")
        return self._snapshot(_parse(answer.body, parse, call=f"GET {path}"), answer.as_of)

    async def _get_list(
        self, path: str, parse: Callable[[Json], T], *, params: dict[str, str] | None = None
    ) -> Snapshot[list[T]]:
        rows, as_of = await self._all_pages(path, params=params)
        return self._snapshot(self._parse_all(rows, parse, call=f"GET {path}"), as_of)

    @staticmethod
    def _parse_all(rows: list[Any], parse: Callable[[Json], T], *, call: str) -> list[T]:
        items: list[T] = []
        for row in rows:
            if not isinstance(row, Mapping):
                raise TWSProtocolError("a result is not a JSON object", call=call)
            items.append(_parse(row, parse, call=call))
        return items

    async def _all_pages(
        self,
        path: str,
        *,
        oql: str | None = None,
        params: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[Any], datetime]:
        """Read every page of a ``{count, results, next}`` answer (or a bare array)."""
        query: dict[str, str] = dict(params or {})
        if oql:
            query["oql"] = oql
        page = self._page_size if limit is None else max(1, min(self._page_size, limit))
        query["limit"] = str(page)
        url: str | None = path
        rows: list[Any] = []
        seen: set[object] = set()
        as_of: datetime | None = None
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            answer = await self._call("GET", url, params=query)
            as_of = as_of or answer.as_of
            body = answer.body
            if isinstance(body, list):  # v1-style bare array: one page
                rows.extend(body)
                break
            if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
                raise TWSProtocolError(
                    "expected {count, results}", call=_describe("GET", url, query)
                )
            for row in body["results"]:
                # Offset paging over a moving plan can show a row twice (it moved between
                # pages); count it once.
                key = row.get("id") if isinstance(row, Mapping) else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                rows.append(row)
            if limit is not None and len(rows) >= limit:
                return rows[:limit], as_of
            url = self._next_url(body.get("next"), call=_describe("GET", url, query))
            query = {}  # `next` carries its own query
        else:
            raise TWSProtocolError(f"more than {_MAX_PAGES} pages", call=f"GET {path}")
        return rows, as_of or datetime.now(UTC)

    def _next_url(self, value: Any, *, call: str) -> str | None:
        if not value:
            return None
        absolute = urljoin(self._base_url + "/", str(value))
        split = urlsplit(absolute)
        # Credentials go only to the configured engine, never to a host a `next` names.
        if (split.scheme, split.netloc.lower()) != self._origin:
            raise TWSProtocolError(f"`next` points to another host ({split.netloc})", call=call)
        return split.path + (f"?{split.query}" if split.query else "")

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json"}
            if self._auth_header:
                headers["Authorization"] = self._auth_header
            self._session = aiohttp.ClientSession(
                base_url=self._base_url,
                headers=headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=32),
            )
        return self._session

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        text: bool = False,
        idempotent: bool = True,
    ) -> _Answer:
        """Send one request, with retries for idempotent calls while the engine is unavailable."""
        call = _describe(method, url, params)
        attempts = 1 + (self._retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            if not self._breaker.allow():
                raise CircuitOpenError(
                    f"engine marked unavailable after repeated failures; next try in "
                    f"{self._breaker.retry_after():.0f} s",
                    call=call,
                )
            try:
                answer = await self._send(
                    method, url, params=params, json_body=json_body, text=text, call=call
                )
            except TWSUnavailableError as exc:
                self._breaker.record_failure()
                if attempt == attempts:
                    raise
                await self._back_off(call=call, attempt=attempt, error=exc)
                continue
            except TWSProtocolError as exc:
                # The engine is up; a garbled answer (cut off, not JSON) is worth one more read.
                self._breaker.record_success()
                if attempt == attempts or not exc.transient:
                    raise
                await self._back_off(call=call, attempt=attempt, error=exc)
                continue
            except TWSError:
                # The engine answered (4xx): it is up, the request is the problem.
                self._breaker.record_success()
                raise
            except BaseException:
                # Cancelled (a time limit above us): no verdict on the engine, so a half-open
                # breaker must let the next call try instead of waiting for this one forever.
                self._breaker.release_trial()
                raise
            self._breaker.record_success()
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def _back_off(self, *, call: str, attempt: int, error: TWSError) -> None:
        """Wait before the next attempt: jittered exponential, or what the engine asked."""
        delay = random.uniform(0, min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**attempt))
        asked = getattr(error, "retry_after", None)
        if asked is not None:
            delay = max(delay, min(asked, _RETRY_AFTER_CAP_SECONDS))
        log.info(
            "tws.retry", call=call, attempt=attempt, error=error.summary, delay_s=round(delay, 3)
        )
        await self._sleep(delay)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        json_body: Any,
        text: bool,
        call: str,
    ) -> _Answer:
        session = self._ensure_session()
        request_id = str(uuid.uuid4())
        headers = {"Request-Id": request_id}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        self.calls_made += 1
        started = time.perf_counter()
        try:
            async with session.request(
                method,
                url,
                params=params,
                data=json.dumps(json_body) if json_body is not None else None,
                headers=headers,
            ) as response:
                raw = await response.read()
                status = response.status
                retry_after = _seconds(response.headers.get("Retry-After"))
                as_of = _engine_time(response.headers.get("Date"))
                content_type = response.content_type
        except TimeoutError as exc:
            raise TWSUnavailableError(
                f"no answer within {self._timeout.total:g} s", call=call
            ) from exc
        except aiohttp.ClientError as exc:
            raise TWSUnavailableError(
                f"cannot reach the engine ({type(exc).__name__})", call=call
            ) from exc
        log.debug(
            "tws.call",
            call=call,
            status=status,
            request_id=request_id,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if status >= 400:
            error = _error_for(status, raw, call=call, action="/action/" in url)
            if isinstance(error, TWSUnavailableError):
                error.retry_after = retry_after
            raise error
        if text:
            return _Answer(raw.decode("utf-8", errors="replace"), as_of)
        if not raw:
            return _Answer({}, as_of)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            error = TWSProtocolError(
                f"the answer is not JSON ({content_type}, {len(raw)} bytes)", call=call
            )
            error.transient = True
            raise error from exc
        return _Answer(body, as_of)


def _seconds(header: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is rare from engines: ignored)."""
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None


def _parse(row: Json, parse: Callable[[Json], T], *, call: str) -> T:
    try:
        return parse(row)
    except (KeyError, ValueError, TypeError) as exc:
        raise TWSProtocolError(
            f"unreadable {parse.__name__.removeprefix('parse_')} ({type(exc).__name__}: {exc})",
            call=call,
        ) from exc


def _describe(method: str, url: str, params: Mapping[str, str] | None) -> str:
    """Name a call for errors and logs: method, path and the parameters that matter."""
    shown = {k: v for k, v in (params or {}).items() if k != "limit"}
    extra = " ".join(f"{k}={v!r}" for k, v in shown.items())
    return f"{method} {url}" + (f" {extra}" if extra else "")


def _engine_time(header: str | None) -> datetime:
    """The engine's clock from its ``Date`` header; our clock if it sent none."""
    if header:
        try:
            return parsedate_to_datetime(header).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def _engine_messages(raw: bytes) -> list[str]:
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", errors="replace").strip()
        return [text[:300]] if text else []
    if isinstance(body, Mapping):
        messages = body.get("messages")
        if isinstance(messages, list):
            return [str(m) for m in messages]
        if "message" in body:
            return [str(body["message"])]
    return []


def _error_for(status: int, raw: bytes, *, call: str, action: bool) -> TWSError:
    messages = _engine_messages(raw)
    if status in (401, 403):
        summary = "the engine refused the credentials" if status == 401 else "not authorized"
        return TWSAuthError(summary, call=call, status=status, engine_messages=messages)
    if status == 404:
        return TWSNotFoundError("not found", call=call, status=status, engine_messages=messages)
    if status >= 500 or status == 429:
        return TWSUnavailableError(
            "the engine failed to answer", call=call, status=status, engine_messages=messages
        )
    if action:
        return TWSActionRejectedError(
            "the engine refused the action", call=call, status=status, engine_messages=messages
        )
    return TWSRequestError(
        "the engine rejected the request", call=call, status=status, engine_messages=messages
    )


def _auth_header(*, user: str | None, password: str | None, api_key: str | None) -> str | None:
    if api_key:
        return f"Bearer {api_key}"
    if user is not None:
        return aiohttp.BasicAuth(user, password or "").encode()
    return None


def _ssl_context(*, verify_tls: bool, ca_bundle: Path | None) -> ssl.SSLContext | bool:
    if not verify_tls:
        return False
    if ca_bundle is not None:
        return ssl.create_default_context(cafile=str(ca_bundle))
    return True
