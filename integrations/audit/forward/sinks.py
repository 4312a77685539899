"""The destinations: Splunk HTTP Event Collector (JSON events) and syslog (RFC 5424 / CEF).

A sink delivers one batch or raises `DeliveryError`; it never retries by itself (the
`Forwarder` owns backoff and the cursor, so a batch counts as delivered only once).

* HEC: one POST of newline-separated JSON events; delivered when the collector answers
  200 with ``"code": 0``. 429 and 503 (busy, queue full) honour ``Retry-After``.
* Syslog over TCP has no acknowledgment: a batch counts as delivered when its bytes were
  handed to the kernel and the receiver had not closed the connection by then. A
  receiver that crashes with bytes in flight loses them (use HEC, or a relay with
  disk-assisted queues, where that matters).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from integrations.audit.forward.events import hec_event, syslog_frame
from integrations.audit.records import ReadRecord

__all__ = ["DeliveryError", "HecSink", "Sink", "SyslogSink", "hec_endpoint"]


class DeliveryError(Exception):
    """A batch was not delivered; ``retry_after`` is the destination's wish (seconds)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Sink(Protocol):
    """A destination of forwarded records."""

    name: str
    description: str

    async def send(self, records: list[ReadRecord]) -> None:
        """Deliver the batch, or raise `DeliveryError`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)


def hec_endpoint(url: str) -> str:
    """The event endpoint of a HEC URL given as a base or as the full endpoint.

    Args:
        url: ``https://splunk:8088`` or ``https://splunk:8088/services/collector[/event]``.

    Returns:
        The URL to POST events to.
    """
    path = urlsplit(url).path.rstrip("/")
    if path in ("", "/"):
        return url.rstrip("/") + "/services/collector/event"
    if path.endswith("/services/collector"):
        return url.rstrip("/") + "/event"
    return url


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from HEC; the backoff applies


class HecSink:
    """Splunk HTTP Event Collector."""

    name = "hec"

    def __init__(
        self,
        *,
        url: str,
        token: str,
        sourcetype: str = "resync:audit",
        index: str | None = None,
        ca_file: Path | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        """Configure the collector.

        Args:
            url: HEC base URL or event endpoint.
            token: The HEC token (sent as ``Authorization: Splunk <token>``, never logged).
            sourcetype: Splunk sourcetype of the events.
            index: Splunk index (None: the token's default).
            ca_file: CA of the collector's certificate (None: the system's).
            timeout_seconds: Whole-request timeout.
        """
        self.endpoint = hec_endpoint(url)
        self.description = f"Splunk HEC {self.endpoint}"
        self._token = token
        self._sourcetype = sourcetype
        self._index = index
        self._ssl = _tls_context(ca_file) if self.endpoint.startswith("https") else None
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=10.0)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, records: list[ReadRecord]) -> None:
        """POST the batch; return once the collector accepted it.

        Args:
            records: The batch.

        Raises:
            DeliveryError: Not accepted (status, network error, bad answer).
        """
        # Formatting a large batch takes milliseconds: off the event loop the bot shares.
        body = await asyncio.to_thread(self._body, records)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"Authorization": f"Splunk {self._token}", "Content-Type": "application/json"}
        try:
            async with self._session.post(
                self.endpoint, data=body.encode(), headers=headers, ssl=self._ssl or True
            ) as response:
                answer = await response.text(errors="replace")
                text = answer[:300]  # for messages: a proxy's error page can be long
                if response.status in (429, 503):
                    raise DeliveryError(
                        f"{self.description}: HTTP {response.status} (busy)",
                        retry_after=_retry_after(response.headers.get("Retry-After")),
                    )
                if response.status != 200:
                    raise DeliveryError(f"{self.description}: HTTP {response.status}: {text}")
                try:
                    code = json.loads(answer).get("code", 0) if answer.strip() else 0
                except (ValueError, AttributeError):
                    code = None
                if code != 0:
                    raise DeliveryError(f"{self.description}: not accepted: {text}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"{self.description}: {type(exc).__name__}: {exc}") from None

    def _body(self, records: list[ReadRecord]) -> str:
        return "\n".join(
            json.dumps(
                hec_event(record, sourcetype=self._sourcetype, index=self._index),
                ensure_ascii=False,
                separators=(",", ":"),
                default=str,
            )
            for record in records
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class SyslogSink:
    """A syslog receiver over TCP (optionally TLS), RFC 5424 with octet counting."""

    name = "syslog"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: bool = False,
        ca_file: Path | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        """Configure the receiver.

        Args:
            host: Receiver host.
            port: Receiver port.
            tls: Speak TLS (the certificate is checked against ``host``).
            ca_file: CA of the receiver's certificate (None: the system's).
            timeout_seconds: Connect and write timeout.
        """
        self.host, self.port = host, port
        scheme = "tls" if tls else "tcp"
        self.description = f"syslog {scheme}://{host}:{port}"
        self._ssl = _tls_context(ca_file) if tls else None
        self._timeout = timeout_seconds
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _usable(self) -> bool:
        # A receiver that closed its end (restart, idle timeout) shows as EOF: writing
        # into that connection would "succeed" and the bytes would be lost.
        return not (
            self._writer is None
            or self._reader is None
            or self._writer.is_closing()
            or self._reader.at_eof()
        )

    async def send(self, records: list[ReadRecord]) -> None:
        """Write the batch's frames; return once the kernel took them.

        Args:
            records: The batch.

        Raises:
            DeliveryError: Cannot connect, write failed, or the receiver closed meanwhile.
        """
        # Formatting a large batch takes milliseconds: off the event loop the bot shares.
        data = await asyncio.to_thread(lambda: b"".join(syslog_frame(r) for r in records))
        try:
            if not self._usable():
                await self.close()
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host,
                        self.port,
                        ssl=self._ssl,
                        server_hostname=self.host if self._ssl is not None else None,
                    ),
                    self._timeout,
                )
            assert self._writer is not None
            self._writer.write(data)
            await asyncio.wait_for(self._writer.drain(), self._timeout)
            await asyncio.sleep(0)  # let a FIN that raced the write be seen
            if not self._usable():
                raise ConnectionResetError("the receiver closed the connection")
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            await self.close()
            raise DeliveryError(f"{self.description}: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        """Close the connection."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            # Already gone (reset, TLS torn down): nothing left to flush.
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 5.0)
