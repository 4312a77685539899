"""Forwarding to a local syslog receiver: RFC 5424 framing, CEF, down/up, restarts, TLS."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from siem_support import SyslogReceiver, self_signed, wait_for, write_records

from config.settings import Settings
from integrations.audit import AuditLog, open_audit_log
from integrations.audit.forward import (
    AuditSource,
    CursorFile,
    DeliveryError,
    Forwarder,
    SyslogSink,
    open_source,
)

_RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (?P<host>\S+) "
    r"resync - audit \[meta sequenceId=\"(?P<seq>\d+)\"\] (?P<msg>CEF:0\|Resync\|Resync\|.*)$",
    re.DOTALL,
)


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[AuditLog]:
    audit = await open_audit_log(Settings(data_dir=tmp_path))
    yield audit
    await audit.close()


@pytest.fixture
async def source(log: AuditLog, tmp_path: Path) -> AsyncIterator[AuditSource]:
    opened = await open_source(Settings(data_dir=tmp_path))
    yield opened
    await opened.store.close()


@pytest.fixture
async def receiver() -> AsyncIterator[SyslogReceiver]:
    server = SyslogReceiver()
    yield server
    await server.stop()


def _forwarder(source: AuditSource, sink: SyslogSink, tmp_path: Path) -> Forwarder:
    return Forwarder(
        source=source,
        sink=sink,
        cursor_file=CursorFile(tmp_path, "syslog"),
        batch_size=3,
        poll_seconds=0.02,
        retry_base_seconds=0.01,
        retry_max_seconds=0.05,
    )


async def test_frames_are_rfc5424_octet_counted_with_cef(
    log: AuditLog, source: AuditSource, receiver: SyslogReceiver, tmp_path: Path
) -> None:
    await log.record(
        action="job.rerun",
        outcome="failed",
        actor_id="U1",
        actor_identity="ann@example.com",
        target="JS|A=B\\C\nD",
        parameters={"password": "hunter2", "note": "x"},
    )
    await write_records(log, 2)
    port = await receiver.start()
    forwarder = _forwarder(source, SyslogSink(host="127.0.0.1", port=port), tmp_path)
    try:
        assert (await forwarder.run_once()).sent == 3
        await wait_for(lambda: len(receiver.messages) == 3, what="3 messages")
    finally:
        await forwarder.sink.close()
    match = _RFC5424.match(receiver.messages[0])
    assert match is not None, receiver.messages[0]
    assert int(match["pri"]) == 13 * 8 + 4  # log audit, warning (outcome failed)
    assert match["seq"] == "1"
    cef = match["msg"]
    assert "|job.rerun|job.rerun failed|7|" in cef
    assert "cs1=JS|A\\=B\\\\C\\nD" in cef  # extension escaping: = \\ and the line break
    assert "\n" not in cef
    assert "hunter2" not in cef
    assert "[redacted]" in cef
    assert receiver.seqs == [1, 2, 3]
    assert int(_RFC5424.match(receiver.messages[1])["pri"]) == 13 * 8 + 6  # type: ignore[index]


async def test_receiver_down_for_a_while_then_up_loses_nothing(
    log: AuditLog, source: AuditSource, receiver: SyslogReceiver, tmp_path: Path
) -> None:
    port = await receiver.start()
    forwarder = _forwarder(source, SyslogSink(host="127.0.0.1", port=port), tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run_forever(stop))
    try:
        await write_records(log, 4)
        await wait_for(lambda: len(receiver.messages) >= 4, what="the first 4 records")
        await wait_for(lambda: forwarder.backlog == 0, what="the cursor saved")
        await receiver.stop()  # down, with the forwarder's connection open
        await write_records(log, 7, start=4)
        await wait_for(
            lambda: forwarder.failures >= 2 and forwarder.backlog == 7,
            what="failed attempts and a backlog of 7 while down",
        )
        await receiver.start(port)
        await wait_for(lambda: forwarder.backlog == 0 and forwarder.failures == 0, what="catch-up")
        await wait_for(lambda: len(set(receiver.seqs)) >= 11, what="all 11 records")
    finally:
        stop.set()
        await task
        await forwarder.sink.close()
    assert sorted(set(receiver.seqs)) == list(range(1, 12))
    assert receiver.connections >= 2


async def test_restart_mid_stream_resumes_from_the_cursor(
    log: AuditLog, source: AuditSource, receiver: SyslogReceiver, tmp_path: Path
) -> None:
    port = await receiver.start()
    await write_records(log, 5)
    first = _forwarder(source, SyslogSink(host="127.0.0.1", port=port), tmp_path)
    try:
        await first.run_once()
    finally:
        await first.sink.close()  # the process stops
    await write_records(log, 5, start=5)
    second = _forwarder(source, SyslogSink(host="127.0.0.1", port=port), tmp_path)
    try:
        assert (await second.run_once()).sent == 5
    finally:
        await second.sink.close()
    await wait_for(lambda: len(receiver.messages) >= 10, what="10 messages")
    assert receiver.seqs == list(range(1, 11))  # resumed after 5: no gap, no repeat


async def test_tls_with_a_ca_file(log: AuditLog, source: AuditSource, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    receiver = SyslogReceiver(tls=server_tls)
    port = await receiver.start()
    await write_records(log, 4)
    trusted = _forwarder(
        source, SyslogSink(host="127.0.0.1", port=port, tls=True, ca_file=cert), tmp_path
    )
    untrusted = _forwarder(source, SyslogSink(host="127.0.0.1", port=port, tls=True), tmp_path)
    try:
        with pytest.raises(DeliveryError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            await untrusted.run_once()
        assert (await trusted.run_once()).sent == 4
        await wait_for(lambda: len(receiver.messages) >= 4, what="4 messages over TLS")
    finally:
        await trusted.sink.close()
        await untrusted.sink.close()
        await receiver.stop()
    assert receiver.seqs == [1, 2, 3, 4]
