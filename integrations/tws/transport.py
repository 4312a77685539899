"""`EngineTransport`: one pooled HTTP session to one engine, and how a call is sent.

It owns the connection (base URL, credentials, TLS, timeouts), the retry policy (reads
are retried with jittered exponential backoff while the engine is unavailable; actions
never are, since a retried ``rerun`` could run a job twice) and the circuit breaker that
stops hammering a master that is down. What an answer means is read by
`integrations.tws.responses`; what to ask for is `integrations.tws.client`'s business.
"""

from __future__ import annotations

import json
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson
import structlog

from integrations import metrics
from integrations.tws.breaker import CircuitBreaker
from integrations.tws.connection import auth_header, host_port, read_tail, ssl_context
from integrations.tws.errors import (
    CircuitOpenError,
    TWSError,
    TWSProtocolError,
    TWSUnavailableError,
)
from integrations.tws.responses import engine_time, error_for, retry_after_seconds

__all__ = ["Answer", "EngineTransport", "describe_call"]

log = structlog.get_logger(__name__)

_BACKOFF_BASE_SECONDS = 0.1
_BACKOFF_CAP_SECONDS = 2.0
_RETRY_AFTER_CAP_SECONDS = 5.0  # an answer is still due within the question's time limit


class Answer:
    """One HTTP answer: the decoded body, the engine's clock, and how much of it was kept.

    Attributes:
        body: The decoded body.
        as_of: The engine's clock when it answered.
        size_bytes: Bytes the engine sent.
        truncated: True when only the end of the body was kept (see ``tail_bytes``).
    """

    __slots__ = ("as_of", "body", "size_bytes", "truncated")

    def __init__(
        self, body: Any, as_of: datetime, *, size_bytes: int = 0, truncated: bool = False
    ) -> None:
        self.body = body
        self.as_of = as_of
        self.size_bytes = size_bytes
        self.truncated = truncated


def describe_call(method: str, url: str, params: Mapping[str, str] | None) -> str:
    """Name a call for errors and logs: method, path and the parameters that matter.

    Args:
        method: The HTTP method.
        url: The path (and query) asked for.
        params: Query parameters; ``limit`` is left out (it says nothing about the call).

    Returns:
        E.g. ``GET /twsd/api/v2/plan/current/job oql='name = "X"'``.
    """
    shown = {k: v for k, v in (params or {}).items() if k != "limit"}
    extra = " ".join(f"{k}={v!r}" for k, v in shown.items())
    return f"{method} {url}" + (f" {extra}" if extra else "")


class EngineTransport:
    """Sends requests to one engine: auth, TLS, timeouts, retries and the circuit breaker."""

    def __init__(
        self,
        *,
        base_url: str,
        user: str | None,
        password: str | None,
        api_key: str | None,
        verify_tls: bool,
        ca_bundle: Path | None,
        timeout_seconds: float,
        connect_timeout_seconds: float,
        retries: int,
        breaker_threshold: int,
        breaker_reset_seconds: float,
        sleep: Callable[[float], Any],
    ) -> None:
        """Configure the transport; no connection is made until the first call.

        The arguments are `integrations.tws.client.TWSClient`'s, which documents them.

        Raises:
            ValueError: ``base_url`` is not ``http(s)://host[:port]``.
        """
        split = urlsplit(base_url)
        # A URL may carry ``user:password@``; what is shown to people and in logs never does.
        shown = split._replace(netloc=host_port(split.netloc))
        if split.scheme not in {"http", "https"} or not split.netloc:
            raise ValueError(f"TWS URL must look like https://host:31116, got {shown.geturl()!r}")
        self._base_url = f"{split.scheme}://{split.netloc}"
        self._origin = (split.scheme, split.netloc.lower())
        self.netloc = shown.netloc
        """``host:port`` of the engine, as configured, without any credentials."""
        self._auth_header = auth_header(user=user, password=password, api_key=api_key)
        self._ssl: ssl.SSLContext | bool = ssl_context(verify_tls=verify_tls, ca_bundle=ca_bundle)
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, sock_connect=connect_timeout_seconds
        )
        self._retries = max(0, retries)
        self._breaker = CircuitBreaker(
            threshold=breaker_threshold, reset_seconds=breaker_reset_seconds
        )
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.calls_made = 0
        """HTTP requests sent so far (retries included)."""

    @property
    def breaker_state(self) -> str:
        """The circuit breaker's state: ``closed``, ``open`` or ``half-open``."""
        return self._breaker.state

    async def close(self) -> None:
        """Close the pooled session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def local_path(self, value: Any, *, call: str) -> str | None:
        """Turn a ``next`` link into a path on this engine.

        Args:
            value: The link the engine sent (absolute or relative), or nothing.
            call: The call that returned it, for the error.

        Returns:
            Path and query, or None when there is no next page.

        Raises:
            TWSProtocolError: The link points to another host.
        """
        if not value:
            return None
        absolute = urljoin(self._base_url + "/", str(value))
        split = urlsplit(absolute)
        # Credentials go only to the configured engine, never to a host a `next` names.
        if (split.scheme, split.netloc.lower()) != self._origin:
            raise TWSProtocolError(
                f"`next` points to another host ({host_port(split.netloc)})", call=call
            )
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

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        text: bool = False,
        tail_bytes: int | None = None,
        idempotent: bool = True,
    ) -> Answer:
        """Send one request, with retries for idempotent calls while the engine is unavailable.

        Args:
            method: The HTTP method.
            url: Path (and query) on the engine.
            params: Query parameters.
            json_body: A body to send as JSON.
            text: Return the body as text instead of decoding JSON.
            tail_bytes: With ``text``: keep only the body's last this many bytes, reading it
                as it streams in, so a huge body never sits in memory whole.
            idempotent: Safe to send again; False for actions (never retried).

        Returns:
            The decoded answer.

        Raises:
            TWSError: The engine could not answer, refused, or answered something unreadable.
        """
        call = describe_call(method, url, params)
        try:
            attempts = 1 + (self._retries if idempotent else 0)
            for attempt in range(1, attempts + 1):
                if not self._breaker.allow():
                    metrics.ENGINE_REQUESTS.labels(method=method, outcome="circuit_open").inc()
                    raise CircuitOpenError(
                        f"engine marked unavailable after repeated failures; next try in "
                        f"{self._breaker.retry_after():.0f} s",
                        call=call,
                    )
                try:
                    answer = await self._send(
                        method,
                        url,
                        params=params,
                        json_body=json_body,
                        text=text,
                        tail_bytes=tail_bytes,
                        call=call,
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
        finally:
            # /metrics shows the circuit as of the last verdict.
            self._publish_breaker()

    def _publish_breaker(self) -> None:
        metrics.set_breaker_state(self._breaker.state)

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
        tail_bytes: int | None,
        call: str,
    ) -> Answer:
        """One HTTP request, counted and timed for `/metrics` (and the breaker's state)."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._request(
                method,
                url,
                params=params,
                json_body=json_body,
                text=text,
                tail_bytes=tail_bytes,
                call=call,
            )
        except TWSUnavailableError:
            outcome = "unavailable"
            raise
        except TWSProtocolError:
            outcome = "protocol_error"
            raise
        except TWSError:
            outcome = "client_error"
            raise
        except BaseException:
            outcome = "cancelled"
            raise
        finally:
            metrics.ENGINE_REQUESTS.labels(method=method, outcome=outcome).inc()
            metrics.ENGINE_REQUEST_SECONDS.labels(method=method).observe(
                time.perf_counter() - started
            )

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        json_body: Any,
        text: bool,
        tail_bytes: int | None,
        call: str,
    ) -> Answer:
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
                status = response.status
                size: int | None = None
                if tail_bytes is not None and text and status < 400:
                    raw, size = await read_tail(response.content, limit=tail_bytes)
                else:
                    raw = await response.read()
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                as_of = engine_time(response.headers.get("Date"))
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
            error = error_for(status, raw, call=call, action="/action/" in url)
            if isinstance(error, TWSUnavailableError):
                error.retry_after = retry_after
            raise error
        if text:
            body_text = raw.decode("utf-8", errors="replace")
            if size is not None:
                return Answer(body_text, as_of, size_bytes=size, truncated=size > len(raw))
            return Answer(body_text, as_of, size_bytes=len(raw))
        if not raw:
            return Answer({}, as_of)
        try:
            # orjson: a page of 500 plan jobs decodes in a third of the time json takes,
            # which is most of what reading a 50,000-job plan costs here.
            body = orjson.loads(raw)
        except ValueError as exc:
            error = TWSProtocolError(
                f"the answer is not JSON ({content_type}, {len(raw)} bytes)", call=call
            )
            error.transient = True
            raise error from exc
        return Answer(body, as_of)
