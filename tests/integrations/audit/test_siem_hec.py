"""Forwarding to a local Splunk HEC mock: order, batches, retries, restarts, at-least-once."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from siem_support import TOKEN, HecMock, self_signed, wait_for, write_records

from config.settings import Settings
from integrations.audit import AuditLog, open_audit_log
from integrations.audit.forward import (
    AuditSource,
    CursorFile,
    DeliveryError,
    Forwarder,
    HecSink,
    open_source,
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
async def hec() -> AsyncIterator[HecMock]:
    mock = HecMock()
    yield mock
    await mock.stop()


def _forwarder(
    source: AuditSource, url: str, tmp_path: Path, *, batch: int = 4, token: str = TOKEN
) -> Forwarder:
    return Forwarder(
        source=source,
        sink=HecSink(url=url, token=token, index="audit", sourcetype="resync:audit"),
        cursor_file=CursorFile(tmp_path, "hec"),
        batch_size=batch,
        poll_seconds=0.02,
        retry_base_seconds=0.01,
        retry_max_seconds=0.05,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_run_once_delivers_everything_in_order_in_batches(
    log: AuditLog, source: AuditSource, hec: HecMock, tmp_path: Path
) -> None:
    await write_records(log, 10)
    forwarder = _forwarder(source, await hec.start(), tmp_path)
    try:
        result = await forwarder.run_once()
    finally:
        await forwarder.sink.close()
    assert (result.sent, result.backlog) == (10, 0)
    assert hec.seqs == list(range(1, 11))
    assert hec.batch_sizes == [4, 4, 2]
    assert set(hec.auth) == {f"Splunk {TOKEN}"}
    first = hec.events[0]
    assert first["index"] == "audit"
    assert first["sourcetype"] == "resync:audit"
    assert first["event"]["target"] == "T0"
    assert first["event"]["actor_identity"] == "p0@example.com"
    assert "key_id" not in first["event"]
    assert isinstance(first["time"], float)
    assert first["event"]["time"].endswith("Z")
    # Nothing new: a second pass sends nothing and the persisted cursor is at the head.
    again = _forwarder(source, f"http://127.0.0.1:{hec.port}", tmp_path)
    try:
        assert (await again.run_once()).sent == 0
    finally:
        await again.sink.close()
    assert len(hec.events) == 10


async def test_busy_collector_is_retried_and_nothing_is_lost_or_repeated(
    log: AuditLog, source: AuditSource, hec: HecMock, tmp_path: Path
) -> None:
    await write_records(log, 6)
    hec.refuse = [503, 429, 503]
    forwarder = _forwarder(source, await hec.start(), tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run_forever(stop))
    try:
        await wait_for(lambda: len(hec.events) >= 6, what="all 6 records")
        await write_records(log, 3, start=6)
        await wait_for(lambda: len(hec.events) >= 9, what="the 3 later records")
    finally:
        stop.set()
        await task
        await forwarder.sink.close()
    assert hec.seqs == list(range(1, 10))
    assert hec.requests >= 3 + 3  # three refusals, then the batches
    assert forwarder.backlog == 0


async def test_collector_down_for_a_while_then_up_loses_nothing(
    log: AuditLog, source: AuditSource, tmp_path: Path
) -> None:
    port = _free_port()
    forwarder = _forwarder(source, f"http://127.0.0.1:{port}", tmp_path)
    await write_records(log, 5)
    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1"):
        await forwarder.run_once()
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run_forever(stop))
    hec = HecMock()
    try:
        # Down: the backlog grows with every record written, nothing is delivered.
        await write_records(log, 4, start=5)
        await wait_for(lambda: forwarder.backlog == 9, what="a backlog of 9")
        await wait_for(lambda: forwarder.failures >= 2, what="two failed attempts")
        await hec.start(port)
        await wait_for(
            lambda: len(hec.events) >= 9 and forwarder.backlog == 0, what="the backlog delivered"
        )
    finally:
        stop.set()
        await task
        await forwarder.sink.close()
        await hec.stop()
    assert hec.seqs == list(range(1, 10))


async def test_restart_mid_stream_resends_only_the_unacknowledged_batch(
    log: AuditLog, source: AuditSource, hec: HecMock, tmp_path: Path
) -> None:
    await write_records(log, 12)
    url = await hec.start()
    # The first forwarder delivers 1-8; the collector stores 9-12 but its answer is lost,
    # and the process stops there (the cursor stays at 8).
    hec.lose_answer_on = {3}
    first = _forwarder(source, url, tmp_path, batch=4)
    try:
        with pytest.raises(DeliveryError, match="HTTP 500"):
            await first.run_once()
    finally:
        await first.sink.close()
    assert hec.seqs == list(range(1, 13))
    assert CursorFile(tmp_path, "hec").load(source.log_id).seq == 8
    # A new forwarder (a restart) resumes from the persisted cursor.
    second = _forwarder(source, url, tmp_path, batch=4)
    try:
        assert (await second.run_once()).sent == 4
    finally:
        await second.sink.close()
    seqs = hec.seqs
    assert sorted(set(seqs)) == list(range(1, 13))  # nothing lost
    duplicates = sorted(s for s in set(seqs) if seqs.count(s) > 1)
    assert duplicates == [9, 10, 11, 12]  # only the batch whose answer was lost
    assert len(seqs) == 16


async def test_wrong_token_is_an_error_that_keeps_the_records(
    log: AuditLog, source: AuditSource, hec: HecMock, tmp_path: Path
) -> None:
    await write_records(log, 2)
    forwarder = _forwarder(source, await hec.start(), tmp_path, token="wrong-token-xyz")
    try:
        with pytest.raises(DeliveryError, match="HTTP 403") as caught:
            await forwarder.run_once()
    finally:
        await forwarder.sink.close()
    assert "wrong-token-xyz" not in str(caught.value)
    assert forwarder.backlog == 2
    assert hec.events == []


async def test_stop_returns_after_the_batch_in_flight_not_the_whole_backlog(
    log: AuditLog, source: AuditSource, hec: HecMock, tmp_path: Path
) -> None:
    await write_records(log, 200)
    forwarder = _forwarder(source, await hec.start(), tmp_path, batch=2)
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run_forever(stop))
    try:
        await wait_for(lambda: len(hec.events) >= 4, what="two batches")
        stop.set()
        await asyncio.wait_for(task, 5)
    finally:
        stop.set()
        await forwarder.sink.close()
    delivered = len(hec.events)
    assert delivered < 200
    assert forwarder.backlog == 200 - delivered
    assert CursorFile(tmp_path, "hec").load(source.log_id).seq == delivered


async def test_https_collector_with_a_ca_file(
    log: AuditLog, source: AuditSource, hec: HecMock, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    url = await hec.start(tls=server_tls)
    await write_records(log, 3)
    untrusted = _forwarder(source, url, tmp_path)
    trusted = Forwarder(
        source=source,
        sink=HecSink(url=url, token=TOKEN, ca_file=cert),
        cursor_file=CursorFile(tmp_path, "hec"),
    )
    try:
        with pytest.raises(DeliveryError, match=r"(?i)certificate"):
            await untrusted.run_once()
        assert (await trusted.run_once()).sent == 3
    finally:
        await untrusted.sink.close()
        await trusted.sink.close()
    assert url.startswith("https://")
    assert hec.seqs == [1, 2, 3]
