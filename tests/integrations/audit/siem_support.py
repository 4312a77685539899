"""Local SIEM stand-ins for the forwarding tests: a Splunk HEC mock and a syslog receiver.

Both are real servers on 127.0.0.1 (aiohttp; asyncio streams) speaking the real wire
formats, so the forwarder is tested through its HTTP and TCP/TLS clients.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from config.settings import Settings
from config.siem_settings import SiemSettings
from integrations.audit import AuditLog

TOKEN = "hec-token-0123456789"


class SiemTestSettings(Settings, SiemSettings):
    """`Settings` with the SIEM part, as it will be once `Settings` inherits it."""


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], *, what: str, timeout: float = 10.0
) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


async def write_records(log: AuditLog, count: int, *, start: int = 0) -> None:
    """Append ``count`` records (target ``T<n>``) to the log."""
    for n in range(start, start + count):
        await log.record(
            action="question",
            outcome="answered",
            actor_id=f"U{n % 3}",
            actor_identity=f"p{n % 3}@example.com",
            platform="slack",
            target=f"T{n}",
        )


class HecMock:
    """A Splunk HTTP Event Collector: stores accepted events, can refuse or lose answers."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests = 0
        self.auth: list[str] = []
        self.batch_sizes: list[int] = []
        self.refuse: list[int] = []
        """Statuses answered (without storing) to the next requests, one each."""
        self.lose_answer_on: set[int] = set()
        """Request numbers (1, 2, ...) stored, then answered 500 (the answer was "lost")."""
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def seqs(self) -> list[int]:
        """The seq of every stored event, in arrival order."""
        return [int(event["event"]["seq"]) for event in self.events]

    async def _collect(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.auth.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Splunk {TOKEN}":
            return web.json_response({"text": "Invalid token", "code": 4}, status=403)
        if self.refuse:
            status = self.refuse.pop(0)
            return web.json_response(
                {"text": "Server is busy", "code": 9}, status=status, headers={"Retry-After": "0"}
            )
        body = await request.text()
        batch = [json.loads(line) for line in body.split("\n") if line.strip()]
        self.events.extend(batch)
        self.batch_sizes.append(len(batch))
        if self.requests in self.lose_answer_on:
            return web.json_response({"text": "Internal error", "code": 8}, status=500)
        return web.json_response({"text": "Success", "code": 0})

    async def start(self, port: int = 0, *, tls: ssl.SSLContext | None = None) -> str:
        """Listen (on ``port``, 0: any free one; HTTPS with ``tls``); return the base URL."""
        app = web.Application()
        app.router.add_post("/services/collector/event", self._collect)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True, ssl_context=tls)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Stop listening (connections are refused until `start` again)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


_FRAME = re.compile(rb"^(\d+) ")


class SyslogReceiver:
    """A syslog receiver over TCP or TLS that parses RFC 6587 octet-counted frames."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.messages: list[str] = []
        self.connections = 0
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def seqs(self) -> list[int]:
        """The CEF ``externalId`` (the record's seq) of every message, in arrival order."""
        return [int(re.search(r"externalId=(\d+)", m).group(1)) for m in self.messages]  # type: ignore[union-attr]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b" ")
                match = _FRAME.match(head)
                assert match is not None, f"not an octet-counted frame: {head!r}"
                body = await reader.readexactly(int(match.group(1)))
                self.messages.append(body.decode("utf-8"))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def start(self, port: int = 0) -> int:
        """Listen (on ``port``, 0: any free one); return the port."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", port, ssl=self._tls, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every open connection (a receiver going down)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "siem.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "siem-cert.pem", tmp_path / "siem-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
